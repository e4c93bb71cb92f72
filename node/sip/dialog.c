/* Requests inside a call's dialogs. The call is found in this node's table or, when another
 * node set it up, read from Redis: either way the request is handled here, which is what makes
 * the nodes interchangeable (DESIGN 3.1). BYE ends both dialogs; re-INVITE, UPDATE and INFO are
 * relayed to the other party with the node's media address kept in any SDP. */
#include "sip/call.h"

#include "common/log.h"
#include "media/media.h"
#include "sip/dtmf_relay.h"
#include "sip/sdp_rewrite.h"
#include "sip/session_timer.h"
#include "store/call_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_tagarg.h>

/* A request relayed to the other party, waiting for its answer. */
struct relay {
    struct relay *next; /* the call's other relays in flight (c->pending_relay is the head) */
    struct relay *all_next, **all_prev; /* every relay in flight, for dialog_shutdown */
    nta_outgoing_t *orq;
    struct calls *cs;
    nta_incoming_t *irq;
    struct dlg_side *from, *to; /* point into call */
    struct call *call;
    int remote; /* the call was read from Redis and is freed when the relay ends */
    sip_method_t method;
    unsigned long cseq;
};

static struct relay *in_flight;

static void relay_track(struct relay *r)
{
    r->all_next = in_flight;
    if (in_flight)
        in_flight->all_prev = &r->all_next;
    r->all_prev = &in_flight;
    in_flight = r;
}

static void relay_free(struct relay *r)
{
    if (r->all_prev) {
        *r->all_prev = r->all_next;
        if (r->all_next)
            r->all_next->all_prev = r->all_prev;
    }
    free(r);
}

struct lookup {
    struct calls *cs;
    nta_incoming_t *irq;
    sip_t const *sip;
};

static void reply(nta_incoming_t *irq, int status, const char *phrase)
{
    nta_incoming_treply(irq, status, phrase, TAG_END());
    nta_incoming_destroy(irq);
}

static void save(struct call *c, int remote)
{
    if (!remote) {
        call_publish(c);
        return;
    }
    json_t *j = call_to_json(c);
    if (j)
        call_store_save(calls_deps(c->calls)->store, c->uuid, c->a.call_id, c->b.call_id, j,
                        CALL_RECORD_TTL_S);
    json_decref(j);
}

static void forget_remote(struct call *c)
{
    call_free_record(c);
}

/* SDP crossing the node is rewritten so the receiving party keeps sending to this node. */
static char *anchor_sdp(struct call *c, const struct dlg_side *toward, const struct dlg_side *from,
                        sip_t const *sip)
{
    if (!sip->sip_payload || !sip->sip_content_type || !sip->sip_content_type->c_type ||
        strcmp(sip->sip_content_type->c_type, "application/sdp") != 0)
        return NULL;
    const char *body = sip->sip_payload->pl_data;
    size_t len = sip->sip_payload->pl_len;
    struct sdp_audio audio;
    /* The sender may have moved its media (hold, new address): follow it on our side. */
    int from_leg = from == &c->a ? MEDIA_LEG_A : MEDIA_LEG_B;
    call_note_sdp(c, from_leg, 1, body, len);
    if (sdp_audio_find(body, len, &audio) == 0) {
        c->on_hold = audio.hold;
        if (c->media) {
            media_leg_set_remote(c->media, from_leg, audio.ip, audio.port, audio.rtcp_port);
            call_srtp_learn(c, from_leg, &audio); /* a new key rekeys the leg (call_srtp.c) */
        }
    }
    char *out = call_srtp_rewrite(c, toward == &c->a ? MEDIA_LEG_A : MEDIA_LEG_B, body, len,
                                  toward->media_port);
    /* A request carries an offer, a response its answer (call_codec.c: a codec change). */
    int offer = sip->sip_request != NULL;
    out = offer ? call_codec_offer(c, from_leg, out) : call_codec_answer(c, from_leg, out);
    char *kept = dtmf_relay_midcall(c, from_leg, body, len, offer, out);
    if (kept && kept != out) /* what the record keeps as sent is what was sent */
        call_note_sdp(c, !from_leg, 0, kept, strlen(kept));
    return kept;
}

void dialog_abandon(struct call *c)
{
    for (struct relay *r = c->pending_relay; r; r = r->next)
        r->call = NULL;
    c->pending_relay = NULL;
}

static void unlink_relay(struct call *c, struct relay *r)
{
    for (struct relay **p = &c->pending_relay; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            return;
        }
}

void dialog_shutdown(void)
{
    while (in_flight) {
        struct relay *r = in_flight;
        nta_outgoing_destroy(r->orq); /* its answer will not come now: nta goes next */
        reply(r->irq, SIP_503_SERVICE_UNAVAILABLE);
        if (r->call && !r->remote)
            unlink_relay(r->call, r);
        else if (r->call)
            forget_remote(r->call);
        relay_free(r);
    }
}

/* An offer (re-INVITE, UPDATE) already crossing this call: a second one is glare. */
static int offer_pending(const struct call *c)
{
    for (const struct relay *r = c->pending_relay; r; r = r->next)
        if (r->method != sip_method_info)
            return 1;
    return 0;
}

static int on_relayed(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, sip_t const *sip)
{
    struct relay *r = (struct relay *)magic;
    int status = sip && sip->sip_status ? sip->sip_status->st_status : 408;
    const char *phrase = sip && sip->sip_status ? sip->sip_status->st_phrase : "Request Timeout";
    if (status < 200)
        return 0;
    struct call *c = r->call;
    if (!c) { /* the call ended (BYE, timeout) while the other party was being asked */
        reply(r->irq, SIP_487_REQUEST_CANCELLED);
        nta_outgoing_destroy(orq);
        relay_free(r);
        return 0;
    }
    unlink_relay(c, r);
    char *sdp = sip ? anchor_sdp(c, r->from, r->to, sip) : NULL;
    if (r->method == sip_method_invite && status < 300) {
        nta_outgoing_t *ack =
            dlg_send(r->cs, r->to, sip_method_ack, "ACK", r->cseq, NULL, NULL, NULL);
        if (ack)
            nta_outgoing_destroy(ack);
    }
    char contact[256], st[128] = "";
    calls_side_contact(r->cs, r->from, contact, sizeof contact);
    if (r->method != sip_method_info && status < 300) { /* RFC 4028 10: a refresh */
        session_timer_refreshed(c);
        session_timer_refresh_headers(c, st, sizeof st);
    }
    nta_incoming_treply(r->irq, status, phrase,
                        TAG_IF(r->method == sip_method_invite, SIPTAG_CONTACT_STR(contact)),
                        TAG_IF(st[0], SIPTAG_HEADER_STR(st)),
                        TAG_IF(sdp, SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                        TAG_IF(sdp, SIPTAG_PAYLOAD_STR(sdp)), TAG_END());
    nta_incoming_destroy(r->irq);
    free(sdp);
    nta_outgoing_destroy(orq);
    save(c, r->remote);
    if (r->remote)
        forget_remote(c);
    relay_free(r);
    return 0;
}

static void relay(struct calls *cs, struct call *c, int remote, struct dlg_side *from,
                  struct dlg_side *to, nta_incoming_t *irq, sip_t const *sip)
{
    struct relay *r = calloc(1, sizeof *r);
    if (!r) {
        reply(irq, SIP_500_INTERNAL_SERVER_ERROR);
        if (remote)
            forget_remote(c);
        return;
    }
    r->cs = cs;
    r->irq = irq;
    r->from = from;
    r->to = to;
    r->call = c;
    r->remote = remote;
    r->method = sip->sip_request->rq_method;
    if (!remote) {
        r->next = c->pending_relay;
        c->pending_relay = r;
    }
    char *sdp = anchor_sdp(c, to, from, sip);
    const char *body = sdp ? sdp : sip->sip_payload ? sip->sip_payload->pl_data : NULL;
    r->cseq = to->local_cseq + 1;
    char st[128] = "";
    if (r->method != sip_method_info)
        session_timer_refresh_headers(c, st, sizeof st);
    /* Bodies other than SDP (INFO's dtmf-relay, ...) keep their content type. */
    const char *ctype = !sdp && sip->sip_content_type && sip->sip_content_type->c_type
                            ? sip->sip_content_type->c_type
                            : "application/sdp";
    nta_outgoing_t *orq =
        dlg_send_body(cs, to, r->method, sip->sip_request->rq_method_name, 0, ctype, body,
                      st[0] ? st : NULL, on_relayed, (nta_outgoing_magic_t *)r);
    free(sdp);
    if (!orq) {
        reply(irq, SIP_500_INTERNAL_SERVER_ERROR);
        unlink_relay(c, r);
        if (remote)
            forget_remote(c);
        relay_free(r);
        return;
    }
    r->orq = orq;
    relay_track(r);
}

static void handle(struct calls *cs, struct call *c, int remote, nta_incoming_t *irq,
                   sip_t const *sip)
{
    int from_a = strcmp(sip->sip_call_id->i_id, c->a.call_id) == 0;
    struct dlg_side *from = from_a ? &c->a : &c->b, *to = from_a ? &c->b : &c->a;
    sip_method_t method = sip->sip_request->rq_method;
    if (method == sip_method_ack) {
        nta_incoming_destroy(irq);
        if (remote)
            forget_remote(c);
        return;
    }
    if (sip->sip_cseq->cs_seq <= from->remote_cseq) {
        reply(irq, 500, "CSeq Out Of Order");
        if (remote)
            forget_remote(c);
        return;
    }
    from->remote_cseq = sip->sip_cseq->cs_seq;
    switch (method) {
    case sip_method_bye: {
        reply(irq, SIP_200_OK);
        nta_outgoing_t *bye = dlg_send(cs, to, sip_method_bye, "BYE", 0, NULL, NULL, NULL);
        if (bye)
            nta_outgoing_destroy(bye);
        c->q850_cause = 16; /* normal clearing */
        snprintf(c->hangup_by, sizeof c->hangup_by, "%s", from_a ? "caller" : "callee");
        if (!remote) {
            call_end(c, from_a ? "BYE from caller" : "BYE from callee");
        } else {
            log_info(sip->sip_call_id->i_id, "call %s (media on %s) ended here by BYE from %s",
                     c->uuid, c->node, from_a ? "caller" : "callee");
            call_store_delete(calls_deps(cs)->store, c->uuid, c->a.call_id, c->b.call_id,
                              c->tenant_id, c->node);
            forget_remote(c);
        }
        return;
    }
    case sip_method_invite:
    case sip_method_update:
    case sip_method_info:
        if (method == sip_method_info && !remote && dtmf_relay_info(c, from_a, irq, sip))
            return; /* a digit played to the other party as RFC 4733 (dtmf_relay.c) */
        if (method != sip_method_info && offer_pending(c)) {
            /* RFC 3261 14.2: an offer crossing one in progress (glare) */
            reply(irq, 491, "Request Pending");
            return;
        }
        relay(cs, c, remote, from, to, irq, sip);
        return;
    default:
        reply(irq, SIP_501_NOT_IMPLEMENTED);
        if (remote)
            forget_remote(c);
        return;
    }
}

static void on_found(void *arg, json_t *record, int store_down)
{
    struct lookup *l = arg;
    struct call *c = record ? calloc(1, sizeof *c) : NULL;
    if (c && call_from_json(c, record) == 0) {
        c->calls = l->cs;
        handle(l->cs, c, 1, l->irq, l->sip);
    } else {
        if (c)
            call_free_record(c);
        if (l->sip->sip_request->rq_method == sip_method_ack)
            nta_incoming_destroy(l->irq);
        else if (store_down)
            reply(l->irq, 503, "Dialog Store Unavailable");
        else
            reply(l->irq, SIP_481_NO_TRANSACTION);
    }
    free(l);
}

void calls_in_dialog(struct calls *cs, nta_incoming_t *irq, sip_t const *sip,
                     const struct sip_source *src)
{
    (void)src;
    if (!sip->sip_call_id || !sip->sip_cseq) {
        reply(irq, 400, "Missing Mandatory Header");
        return;
    }
    if (sip->sip_request->rq_method == sip_method_prack) {
        /* nta hands a PRACK to the reliable 18x it acknowledges (prack.c); one that reaches
         * us matches none, on this node or any other (RFC 3262 3). */
        reply(irq, SIP_481_NO_TRANSACTION);
        return;
    }
    struct call *c = calls_find_local(cs, sip->sip_call_id->i_id);
    if (c && c->state == CALL_CONFIRMED) {
        handle(cs, c, 0, irq, sip);
        return;
    }
    if (c && c->originated && sip->sip_request->rq_method == sip_method_bye &&
        strcmp(sip->sip_call_id->i_id, c->a.call_id) == 0) {
        /* the party called first hung up while the other one was still being called */
        reply(irq, SIP_200_OK);
        c->final_status = 487;
        c->q850_cause = 16;
        snprintf(c->hangup_by, sizeof c->hangup_by, "caller");
        call_end(c, "BYE from the first party during set-up");
        return;
    }
    if (c) { /* still being set up: nothing in-dialog is valid yet but a stray ACK */
        if (sip->sip_request->rq_method == sip_method_ack)
            nta_incoming_destroy(irq);
        else
            reply(irq, SIP_481_NO_TRANSACTION);
        return;
    }
    struct lookup *l = malloc(sizeof *l);
    if (!l) {
        reply(irq, SIP_500_INTERNAL_SERVER_ERROR);
        return;
    }
    l->cs = cs;
    l->irq = irq;
    l->sip = sip;
    if (call_store_find(calls_deps(cs)->store, sip->sip_call_id->i_id, on_found, l) != 0) {
        free(l);
        if (sip->sip_request->rq_method == sip_method_ack)
            nta_incoming_destroy(irq);
        else
            reply(irq, 503, "Dialog Store Unavailable");
    }
}
