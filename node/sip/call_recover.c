/* A dead node's calls rebuilt on its successor from their Redis records (DESIGN 4). VIP mode:
 * the media session is adopted on the dead node's address and ports, so phones notice nothing.
 * Re-INVITE mode (no address can move): new ports here, and both legs are re-offered them. */
#include "sip/call_recover.h"

#include "common/clock.h"
#include "common/log.h"
#include "media/media.h"
#include "sip/call.h"
#include "sip/call_early.h"
#include "sip/call_media_record.h"
#include "sip/gateway_health.h"
#include "sip/sdp_rewrite.h"
#include "store/call_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CSeq gap over the last stored one: the dead node may have sent a request (a relayed INFO)
 * whose record write died with it, and a peer refuses a CSeq that is not higher. */
#define RECOVER_CSEQ_GAP 10

struct reoffer {
    struct reoffer *next, **prev;
    nta_outgoing_t *orq;
    struct calls *cs;
    char uuid[40];
    int leg;
    unsigned long cseq;
};

/* Re-INVITEs still unanswered: a node stopping with them in flight destroys their transactions
 * itself (nta would drop them without a callback, and their state with them). One node per
 * process, so one list. */
static struct reoffer *pending;

static void reoffer_done(struct reoffer *r)
{
    if (r->prev) {
        *r->prev = r->next;
        if (r->next)
            r->next->prev = r->prev;
    }
    if (r->orq)
        nta_outgoing_destroy(r->orq);
    free(r);
}

void calls_recover_shutdown(void)
{
    while (pending)
        reoffer_done(pending);
}

/* Leg's remote address and SRTP keys from the SDP its party sent and the SDP we sent it. */
static void restore_leg(struct call *c, int leg)
{
    struct sdp_audio party, sent;
    const char *p = c->sdp_party[leg], *s = c->sdp_sent[leg];
    if (!p || sdp_audio_find(p, strlen(p), &party) != 0) {
        log_warn(c->a.call_id, "call %s: leg %c has no stored SDP: waiting for its RTP", c->uuid,
                 leg == MEDIA_LEG_A ? 'A' : 'B');
        return;
    }
    media_leg_set_remote(c->media, leg, party.ip, party.port, party.rtcp_port);
    if (c->srtp_call && s && sdp_audio_find(s, strlen(s), &sent) == 0 && sent.savp &&
        sent.has_crypto) {
        c->srtp[leg].on = 1;
        c->srtp[leg].node = sent.crypto;
        if (call_srtp_learn(c, leg, &party) != 0)
            log_warn(c->a.call_id, "call %s: SRTP keys of leg %c refused on recovery", c->uuid,
                     leg == MEDIA_LEG_A ? 'A' : 'B');
    }
}

static int on_reoffer_answer(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, sip_t const *sip)
{
    struct reoffer *r = (struct reoffer *)magic;
    int status = sip && sip->sip_status ? sip->sip_status->st_status : 408;
    if (status < 200)
        return 0;
    struct call *c = calls_find_uuid(r->cs, r->uuid);
    struct dlg_side *side = c ? (r->leg == MEDIA_LEG_A ? &c->a : &c->b) : NULL;
    if (c && status < 300) {
        nta_outgoing_t *ack =
            dlg_send(r->cs, side, sip_method_ack, "ACK", r->cseq, NULL, NULL, NULL);
        if (ack)
            nta_outgoing_destroy(ack);
        if (sip->sip_payload) {
            struct sdp_audio a;
            const char *body = sip->sip_payload->pl_data;
            size_t len = sip->sip_payload->pl_len;
            call_note_sdp(c, r->leg, 1, body, len);
            if (sdp_audio_find(body, len, &a) == 0) {
                media_leg_set_remote(c->media, r->leg, a.ip, a.port, a.rtcp_port);
                call_srtp_learn(c, r->leg, &a);
            }
        }
        log_info(c->a.call_id, "call %s: leg %c moved its media to this node", c->uuid,
                 r->leg == MEDIA_LEG_A ? 'A' : 'B');
        call_publish(c);
    } else if (c) {
        log_warn(c->a.call_id,
                 "call %s: re-INVITE of leg %c after failover answered %d: hanging up", c->uuid,
                 r->leg == MEDIA_LEG_A ? 'A' : 'B', status);
        call_hangup(c, 41, "re-INVITE after failover refused"); /* Q.850 41: temporary failure */
    }
    r->orq = orq;
    reoffer_done(r);
    return 0;
}

static void reoffer(struct calls *cs, struct call *c, int leg)
{
    struct dlg_side *side = leg == MEDIA_LEG_A ? &c->a : &c->b;
    const char *sent = c->sdp_sent[leg];
    char *sdp = sent ? sdp_rewrite_reoffer(sent, strlen(sent), c->media_ip,
                                           media_leg_local_port(c->media, leg))
                     : NULL;
    sdp = call_codec_reoffer(c, leg, sdp); /* the leg stays on its codec: transcoding expects it */
    struct reoffer *r = sdp ? calloc(1, sizeof *r) : NULL;
    if (!r) {
        free(sdp);
        log_warn(c->a.call_id, "call %s: nothing to re-offer leg %c", c->uuid,
                 leg == MEDIA_LEG_A ? 'A' : 'B');
        return;
    }
    call_note_sdp(c, leg, 0, sdp, strlen(sdp));
    r->cs = cs;
    r->leg = leg;
    memcpy(r->uuid, c->uuid, sizeof r->uuid);
    side->local_cseq += RECOVER_CSEQ_GAP - 1; /* dlg_send adds the last one */
    r->cseq = side->local_cseq + 1;
    r->orq = dlg_send(cs, side, sip_method_invite, "INVITE", 0, sdp, on_reoffer_answer,
                      (nta_outgoing_magic_t *)r);
    if (!r->orq) {
        log_warn(c->a.call_id, "call %s: cannot re-INVITE leg %c", c->uuid,
                 leg == MEDIA_LEG_A ? 'A' : 'B');
        free(r);
    } else {
        r->next = pending;
        if (pending)
            pending->prev = &r->next;
        r->prev = &pending;
        pending = r;
    }
    free(sdp);
}

/* VIP mode: the dialog keeps speaking from the address its peers know — the dead node's
 * service address (or, for a member known only by its calls, the call's media address and the
 * port it was set up on); a second failover keeps the address of the first. */
static void keep_address(struct call *c, const struct call_recovery *how)
{
    if (c->a.via[0])
        return;
    int known = how->address && how->address[0];
    snprintf(c->a.via, sizeof c->a.via, "%s", known ? how->address : c->media_ip);
    c->a.via_port = known || !c->node_sip_port ? how->sip_port : c->node_sip_port;
}

static void recover_one(struct calls *cs, json_t *record, const struct call_recovery *how)
{
    const struct calls_deps *d = calls_deps(cs);
    struct call *c = calloc(1, sizeof *c);
    if (!c || call_from_json(c, record) != 0) {
        log_warn(NULL, "recovery: an unreadable call record of %s skipped", how->dead);
        if (c)
            call_free_record(c);
        return;
    }
    if (calls_find_uuid(cs, c->uuid)) { /* claimed twice by this node: it is running already */
        call_free_record(c);
        return;
    }
    c->calls = cs;
    snprintf(c->failover_from, sizeof c->failover_from, "%s", how->dead);
    c->recovered_ms = clock_wall_ms();
    snprintf(c->node, sizeof c->node, "%s", d->cfg->node_id);
    /* Its gateway and tenant call slots are renewed here from now on, and given back when the
     * call ends (b2bua_abandon), as the dead node would have. */
    gateway_limits_adopt(d->gateways, c->uuid, c->gw_slot, c->tenant_slot);
    if (c->state != CALL_CONFIRMED) {
        /* Its transactions died with the node: answer and cancel from the same address. */
        if (!how->reinvite)
            keep_address(c, how);
        call_early_abort(cs, c, record);
        gateway_limits_release(d->gateways, c->uuid);
        tenant_limits_release(d->gateways, c->uuid);
        call_free_record(c);
        return;
    }
    char err[256];
    if (how->reinvite) {
        c->media = media_session_create(d->media, c->a.call_id, err, sizeof err);
        snprintf(c->media_ip, sizeof c->media_ip, "%s", d->cfg->media_address);
        c->a.via[0] = c->b.via[0] = 0;
    } else {
        c->media = media_session_adopt(d->media, c->a.call_id, c->media_ip, c->a.media_port,
                                       c->b.media_port, err, sizeof err);
        /* The dialogs stay on the address the peers know: the VIP taken over. */
        keep_address(c, how);
        memcpy(c->b.via, c->a.via, sizeof c->b.via);
        c->b.via_port = c->a.via_port;
    }
    c->answered_mono = clock_mono(); /* media silence counts from here */
    call_publish(c);
    if (c->media) {
        c->a.media_port = media_leg_local_port(c->media, MEDIA_LEG_A);
        c->b.media_port = media_leg_local_port(c->media, MEDIA_LEG_B);
        restore_leg(c, MEDIA_LEG_A);
        restore_leg(c, MEDIA_LEG_B);
        call_media_restore(c); /* transcoding, payload clocks, DTMF translation */
        if (!how->reinvite)    /* adopted: it relays from now on, whole (destroyed on failure) */
            c->media = media_session_start(c->media, err, sizeof err);
    }
    if (!c->media) {
        log_error(c->a.call_id, "call %s from %s: no media session: %s", c->uuid, how->dead, err);
        call_hangup(c, 47, "no media after failover"); /* Q.850 47: resource unavailable */
        return;
    }
    log_info(c->a.call_id, "call %s %s@%s -> %s recovered from %s (%s)", c->uuid, c->caller,
             c->domain, c->callee, how->dead, how->reinvite ? "re-INVITE" : "VIP");
    if (how->reinvite) {
        reoffer(cs, c, MEDIA_LEG_A);
        reoffer(cs, c, MEDIA_LEG_B);
    }
    call_publish(c);
}

int calls_recover(struct calls *cs, json_t *records, const struct call_recovery *how)
{
    size_t i;
    json_t *record;
    json_array_foreach(records, i, record) recover_one(cs, record, how);
    return (int)json_array_size(records);
}
