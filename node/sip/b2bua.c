/* Call set-up: an INVITE from a registered user is authenticated (407), its callee's bindings
 * are read from Redis and every contact is called in parallel with this node's media address
 * in the SDP; the first 2xx wins, the other forks are cancelled, and the caller gets the answer
 * with the node's media address. Failures come back as the best final response (RFC 3261 16.7). */
#include "sip/b2bua.h"
#include "sip/call_early.h"

#include "common/clock.h"
#include "common/log.h"
#include "media/media.h"
#include "sip/auth.h"
#include "sip/gateway_health.h"
#include "sip/dtmf_relay.h"
#include "sip/prack.h"
#include "sip/session_timer.h"
#include "sip/sdp_rewrite.h"
#include "store/reg_store.h"
#include "store/routing_store.h"
#include "store/user_store.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <openssl/rand.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/su_tagarg.h>

#define MAX_FORKS 16

void b2bua_random_tag(char *out, size_t len)
{
    unsigned char r[8] = {0};
    RAND_bytes(r, sizeof r);
    snprintf(out, len, "%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5], r[6],
             r[7]);
}

/* Answers A's INVITE with a failure and ends the call (set-up never got to a dialog). */
/* RFC 3398 section 8.2.6.1, the usual direction (SIP final response to Q.850 cause). */
static int q850_from_sip(int status)
{
    switch (status) {
    case 486:
    case 600:
        return 17; /* user busy */
    case 480:
    case 408:
        return 19; /* no answer */
    case 404:
    case 604:
        return 1; /* unallocated number */
    case 487:
        return 16; /* the caller cancelled: normal clearing, as FreeSWITCH reports ORIGINATOR_CANCEL
                    */
    case 403:
    case 603:
        return 21; /* call rejected */
    case 503:
        return 41; /* temporary failure */
    case 488:
        return 65; /* bearer capability not implemented */
    default:
        return status >= 500 ? 38 : 127; /* network out of order / interworking */
    }
}

void b2bua_fail(struct call *c, int status, const char *phrase, const char *why)
{
    b2bua_fail_retry(c, status, phrase, why, NULL);
}

void b2bua_fail_retry(struct call *c, int status, const char *phrase, const char *why,
                      const char *retry_after)
{
    c->final_status = status;
    c->q850_cause = q850_from_sip(status);
    snprintf(c->hangup_by, sizeof c->hangup_by, "%s", status == 487 ? "caller" : "system");
    if (c->originated && c->a.call_id[0]) {
        /* A already answered the node's call: it is told with a BYE instead of a response */
        nta_outgoing_t *bye = dlg_send(c->calls, &c->a, sip_method_bye, "BYE", 0, NULL, NULL, NULL);
        if (bye)
            nta_outgoing_destroy(bye);
    }
    if (c->irq) {
        nta_incoming_treply(c->irq, status, phrase,
                            TAG_IF(retry_after, SIPTAG_RETRY_AFTER_STR(retry_after)), TAG_END());
        nta_incoming_destroy(c->irq);
        c->irq = NULL;
    }
    call_end(c, why);
}

void b2bua_abandon(struct call *c, int status, const char *phrase)
{
    if (c->setup_timer) {
        su_timer_destroy(c->setup_timer);
        c->setup_timer = NULL;
    }
    while (c->forks) {
        struct fork *f = c->forks;
        c->forks = f->next;
        if (f->orq) {
            if (!f->done)
                nta_outgoing_cancel(f->orq);
            nta_outgoing_destroy(f->orq);
        }
        if (f->timer)
            su_timer_destroy(f->timer);
        b2bua_fork_free(f);
    }
    gateway_plan_free(c);
    if (c->calls) { /* at shutdown (no c->calls) Redis is gone: the slot's lease ends it */
        /* a recovered call has no plan but may hold its gateway slot (gateway_limits_adopt) */
        gateway_limits_release(calls_deps(c->calls)->gateways, c->uuid);
        tenant_limits_release(calls_deps(c->calls)->gateways, c->uuid);
    }
    if (c->irq) {
        nta_incoming_treply(c->irq, status, phrase, TAG_END());
        nta_incoming_destroy(c->irq);
        c->irq = NULL;
    }
    prack_abandon(c);
}

void b2bua_copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

/* Route set from Record-Route: as received for a UAS, reversed for a UAC (RFC 3261 12.1). */
static void route_set(su_home_t *home, sip_record_route_t const *rr, int reverse, char *out,
                      size_t len)
{
    const char *items[32];
    int n = 0;
    for (; rr && n < 32; rr = rr->r_next)
        items[n++] = sip_header_as_string(home, (sip_header_t const *)rr);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        const char *item = items[reverse ? n - 1 - i : i];
        if (!item)
            continue;
        size_t used = strlen(out);
        snprintf(out + used, len - used, "%s%s", used ? ", " : "", item);
    }
}

/* Called first by every set-up continuation: the lookup is over, and a CANCEL that came in
 * meanwhile (already answered with 487) ends the call here. Returns 1 when it ended. */
int b2bua_resumed(struct invite_ctx *x)
{
    struct call *c = x->call;
    c->looking_up = 0;
    if (!c->cancelled)
        return 0;
    call_end(c, "cancelled by caller");
    free(x);
    return 1;
}

/* ---- answers from the callee's contacts ---- */

void b2bua_ack_fork(struct call *c, struct fork *f)
{
    nta_outgoing_t *ack =
        dlg_send(c->calls, &f->side, sip_method_ack, "ACK", f->invite_cseq, NULL, NULL, NULL);
    if (ack)
        nta_outgoing_destroy(ack);
}

void b2bua_learn_dialog(struct fork *f, sip_t const *sip)
{
    su_home_t home[1] = {SU_HOME_INIT(home)};
    char *to = sip_header_as_string(home, (sip_header_t const *)sip->sip_to);
    b2bua_copy(f->side.remote_hdr, sizeof f->side.remote_hdr, to);
    if (sip->sip_contact)
        b2bua_copy(f->side.remote_target, sizeof f->side.remote_target,
                   url_as_string(home, sip->sip_contact->m_url));
    route_set(home, sip->sip_record_route, 1, f->side.route, sizeof f->side.route);
    su_home_deinit(home);
}

static void answer_a(struct call *c, int status, const char *phrase, const char *b_sdp,
                     size_t b_len)
{
    char contact[256], *sdp = NULL, st[160] = "";
    if (status >= 200 && status < 300)
        session_timer_a_headers(c, st, sizeof st);
    calls_contact(c->calls, strstr(c->a.destination, "transport=tcp") ? "tcp" : "udp", contact,
                  sizeof contact);
    if (b_sdp && c->media) {
        struct sdp_audio audio;
        call_note_sdp(c, MEDIA_LEG_B, 1, b_sdp, b_len);
        if (sdp_audio_find(b_sdp, b_len, &audio) == 0) {
            media_leg_set_remote(c->media, MEDIA_LEG_B, audio.ip, audio.port, audio.rtcp_port);
            /* SRTP (call_srtp.c): B's key keys leg B's receive side; a refused key leaves that
             * leg dropping B's packets, which the media timeout then ends. */
            call_srtp_learn(c, MEDIA_LEG_B, &audio);
        }
        sdp = call_srtp_rewrite(c, MEDIA_LEG_A, b_sdp, b_len, c->a.media_port);
        sdp = call_codec_answer(c, MEDIA_LEG_B, sdp); /* fitted to A's offer, maybe transcoded */
        dtmf_relay_answer(c, b_sdp, b_len, &sdp);     /* telephone-event on one leg only */
        if (sdp) /* what A is answered, as the record keeps it (call_recover.c re-offers it) */
            call_note_sdp(c, MEDIA_LEG_A, 0, sdp, strlen(sdp));
    }
    if (!c->irq) { /* originated: A has the node's address already, nothing to tell it */
        free(sdp);
        return;
    }
    if (status < 200) /* reliably when the caller does 100rel (prack.c) */
        prack_reply_a(c, status, phrase, contact, sdp);
    else
        nta_incoming_treply(c->irq, status, phrase, SIPTAG_CONTACT_STR(contact),
                            TAG_IF(st[0], SIPTAG_HEADER_STR(st)),
                            TAG_IF(sdp, SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                            TAG_IF(sdp, SIPTAG_PAYLOAD_STR(sdp)), TAG_END());
    free(sdp);
}

static void won(struct call *c, struct fork *f, sip_t const *sip)
{
    f->answered = 1;
    if (f->timer) {
        su_timer_destroy(f->timer);
        f->timer = NULL;
    }
    if (f->attempt)
        b2bua_copy(c->gateway, sizeof c->gateway, f->attempt->gw.name);
    b2bua_learn_dialog(f, sip);
    for (struct fork *o = c->forks; o; o = o->next)
        if (o != f && !o->done && o->orq)
            nta_outgoing_cancel(o->orq);
    c->b = f->side;
    const char *body = sip->sip_payload ? sip->sip_payload->pl_data : NULL;
    size_t len = sip->sip_payload ? sip->sip_payload->pl_len : 0;
    prack_final_answer(c, &body, &len); /* B may have answered in a reliable 18x only */
    if (f->st_asked > 0) /* B's 422 raised the interval asked of it (fork_invite.c) */
        c->st_asked = f->st_asked;
    session_timer_answered(c, sip);
    /* B's media address first, then its ACK: B may start sending as soon as it has the ACK */
    answer_a(c, SIP_200_OK, body, len);
    b2bua_ack_fork(c, f);
    if (c->irq && !prack_hold_final(c))
        nta_incoming_destroy(c->irq);
    c->irq = NULL;
    c->state = CALL_CONFIRMED;
    c->answered_ms = clock_wall_ms();
    c->answered_mono = clock_mono();
    if (c->setup_timer) {
        su_timer_destroy(c->setup_timer);
        c->setup_timer = NULL;
    }
    c->final_status = 200;
    if (!f->attempt) /* a gateway call keeps the number and gateway it was sent to */
        b2bua_copy(c->callee_routed, sizeof c->callee_routed, c->b.remote_target);
    log_info(c->a.call_id, "call %s answered by %s", c->uuid, c->b.remote_target);
    call_publish(c);
}

static void remember_failure(struct call *c, int status, const char *phrase)
{
    /* RFC 3261 16.7: a 6xx ends the search; otherwise the lowest class wins, 4xx before 5xx. */
    int cls = status / 100, best = c->best_status / 100;
    if (!c->best_status || cls == 6 || (best != 6 && cls < best)) {
        c->best_status = status;
        b2bua_copy(c->best_phrase, sizeof c->best_phrase, phrase);
    }
}

int b2bua_on_fork_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, sip_t const *sip)
{
    struct fork *f = (struct fork *)magic;
    struct call *c = f->call;
    int status = sip && sip->sip_status ? sip->sip_status->st_status : 408;
    const char *phrase = sip && sip->sip_status ? sip->sip_status->st_phrase : "Request Timeout";

    if (status < 200) {
        if (prack_fork_provisional(c, f, sip))
            return 0; /* a reliable 18x already seen */
        if (f->attempt && status > 100)
            gateway_fork_progress(f);
        if (c->state != CALL_EARLY || !c->irq)
            return 0;
        if (status == 183 && sip->sip_payload) {
            prack_remember_early_answer(c, sip->sip_payload->pl_data, sip->sip_payload->pl_len);
            answer_a(c, status, phrase, sip->sip_payload->pl_data, sip->sip_payload->pl_len);
        }
        if (!c->progress_ms && (status == 180 || status == 183)) {
            c->progress_ms = clock_wall_ms();
            call_early_publish(c); /* a successor can end it cleanly if this node dies */
        }
        if (status == 180 && !c->ringing_sent) {
            c->ringing_sent = 1;
            answer_a(c, status, phrase, NULL, 0);
        }
        return 0;
    }
    if (status < 300) {
        if (f->answered) { /* a retransmitted 2xx: our ACK was lost */
            b2bua_ack_fork(c, f);
            return 0;
        }
        if (c->state != CALL_EARLY || (!c->irq && !c->originated)) {
            /* Another contact answered first (or the caller gave up): take and end this one. */
            f->done = 1;
            b2bua_learn_dialog(f, sip);
            b2bua_ack_fork(c, f);
            nta_outgoing_t *bye =
                dlg_send(c->calls, &f->side, sip_method_bye, "BYE", 0, NULL, NULL, NULL);
            if (bye)
                nta_outgoing_destroy(bye);
            return 0;
        }
        f->done = 1;
        c->pending--;
        won(c, f, sip);
        return 0;
    }
    if (status == 422 && c->state == CALL_EARLY && b2bua_fork_422(c, f, sip, &status, &phrase))
        return 0; /* sent again with B's Min-SE (RFC 4028 7.4) */
    if (f->attempt && (status == 401 || status == 407) && c->state == CALL_EARLY &&
        gateway_authenticate(c, f, sip))
        return 0;
    if (!f->done) {
        f->done = 1;
        c->pending--;
    }
    nta_outgoing_destroy(orq);
    f->orq = NULL;
    if (f->timer) {
        su_timer_destroy(f->timer);
        f->timer = NULL;
    }
    if (c->state != CALL_EARLY)
        return 0; /* a loser's 487 after the winner answered */
    if (f->attempt && gateway_fork_failed(c, f, status))
        return 0;
    remember_failure(c, status, phrase);
    if (c->pending == 0)
        b2bua_fail(c, c->best_status, c->best_phrase, "no contact answered");
    return 0;
}

/* ---- calling the callee's contacts ---- */

static int start_fork(struct call *c, json_t *binding, int n, const char *sdp, const char *display)
{
    const char *contact = json_string_value(json_object_get(binding, "contact"));
    const char *received = json_string_value(json_object_get(binding, "received"));
    const char *transport = json_string_value(json_object_get(binding, "transport"));
    json_t *path = json_object_get(binding, "path");
    if (!contact || !received || !transport)
        return -1;
    struct fork *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->call = c;
    char tag[24];
    b2bua_random_tag(tag, sizeof tag);
    snprintf(f->side.call_id, sizeof f->side.call_id, "%s-%d@tandem", c->uuid, n);
    snprintf(f->side.local_hdr, sizeof f->side.local_hdr, "%s%s%s<sip:%s@%s>;tag=%s",
             display ? "\"" : "", display ? display : "", display ? "\" " : "", c->caller,
             c->domain, tag);
    snprintf(f->side.remote_hdr, sizeof f->side.remote_hdr, "<sip:%s@%s>", c->callee, c->domain);
    b2bua_copy(f->side.remote_target, sizeof f->side.remote_target, contact);
    /* The NAT-facing address the binding came from, or its Path (RFC 3327) when it has one. */
    snprintf(f->side.destination, sizeof f->side.destination, "sip:%s;transport=%s", received,
             transport);
    size_t i;
    json_t *hop;
    json_array_foreach(path, i, hop)
    {
        size_t used = strlen(f->side.route);
        snprintf(f->side.route + used, sizeof f->side.route - used, "%s%s", used ? ", " : "",
                 json_string_value(hop));
    }
    f->side.media_port = c->b.media_port;
    if (b2bua_fork_invite(c, f, sdp, NULL, b2bua_on_fork_response) != 0) {
        b2bua_fork_free(f);
        return -1;
    }
    f->next = c->forks;
    c->forks = f;
    c->pending++;
    return 0;
}

static void answer_timeout(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)m;
    (void)t;
    struct call *c = (struct call *)arg;
    if (c->state == CALL_EARLY && (c->irq || c->originated))
        b2bua_fail(c, 480, "No Answer", "nobody answered in time");
}

void b2bua_start_answer_timer(struct call *c, const struct calls_deps *d)
{
    if (c->setup_timer) /* an originated call rings twice: first one party, then the other */
        su_timer_destroy(c->setup_timer);
    c->setup_timer = su_timer_create(su_root_task(d->root), d->cfg->calls_answer_timeout * 1000);
    if (c->setup_timer)
        su_timer_set(c->setup_timer, answer_timeout, (su_timer_arg_t *)c);
}

char *b2bua_prepare_media(struct call *c)
{
    const struct calls_deps *d = calls_deps(c->calls);
    char err[256];
    struct sdp_audio offer;
    char *sdp_b = NULL;
    if (!c->media)
        c->media = media_session_create(d->media, c->a.call_id, err, sizeof err);
    if (!c->media) {
        log_warn(c->a.call_id, "call %s: no media session: %s", c->uuid, err);
        b2bua_fail(c, 503, "Media Capacity Exhausted", "no media session");
        return NULL;
    }
    /* SRTP (call_srtp.c): the legs' modes and keys are settled before B's offer is written. */
    if (sdp_audio_find(c->offer, strlen(c->offer), &offer) != 0 ||
        call_srtp_offer(c, &offer) != 0 ||
        !(sdp_b = call_srtp_rewrite(c, MEDIA_LEG_B, c->offer, strlen(c->offer),
                                    media_leg_local_port(c->media, MEDIA_LEG_B)))) {
        b2bua_fail(c, SIP_488_NOT_ACCEPTABLE, "offer without a usable audio stream");
        return NULL;
    }
    c->a.media_port = media_leg_local_port(c->media, MEDIA_LEG_A);
    c->b.media_port = media_leg_local_port(c->media, MEDIA_LEG_B);
    call_note_sdp(c, MEDIA_LEG_A, 1, c->offer, strlen(c->offer));
    media_leg_set_remote(c->media, MEDIA_LEG_A, offer.ip, offer.port, offer.rtcp_port);
    sdp_b = call_codec_offer(c, MEDIA_LEG_A, sdp_b); /* plus what the node can transcode to */
    sdp_b = dtmf_relay_offer(c, sdp_b); /* events for B when A has none (dtmf_relay.c) */
    if (sdp_b) /* what B is offered, as the record keeps it (call_recover.c re-offers it) */
        call_note_sdp(c, MEDIA_LEG_B, 0, sdp_b, strlen(sdp_b));
    return sdp_b;
}

static void on_bindings(void *arg, json_t *bindings)
{
    struct invite_ctx *x = arg;
    if (b2bua_resumed(x))
        return;
    struct call *c = x->call;
    const struct calls_deps *d = calls_deps(c->calls);
    if (!bindings) {
        b2bua_fail(c, 503, "Location Service Unavailable", "registration store unavailable");
    } else if (json_array_size(bindings) == 0) {
        b2bua_fail(c, SIP_480_TEMPORARILY_UNAVAILABLE, "callee not registered");
    } else {
        char *sdp_b = b2bua_prepare_media(c);
        if (sdp_b) {
            const char *display = x->sip ? x->sip->sip_from->a_display : NULL;
            char quoted[128] = "";
            if (display) { /* a_display may carry its own quotes */
                b2bua_copy(quoted, sizeof quoted, display);
                char *p = quoted;
                for (char *q = quoted; *q; q++)
                    if (*q != '"')
                        *p++ = *q;
                *p = '\0';
            }
            size_t i;
            json_t *b;
            int started = 0;
            json_array_foreach(bindings, i, b)
            {
                if (started < MAX_FORKS &&
                    start_fork(c, b, (int)i, sdp_b, quoted[0] ? quoted : NULL) == 0)
                    started++;
            }
            if (!started) {
                b2bua_fail(c, SIP_480_TEMPORARILY_UNAVAILABLE, "no contact could be called");
            } else {
                b2bua_start_answer_timer(c, d);
                log_info(c->a.call_id, "call %s %s@%s -> %s: ringing %d contact(s)", c->uuid,
                         c->caller, c->domain, c->callee, started);
            }
        }
        free(sdp_b);
    }
    free(x);
}

/* ---- the tenant's limits ---- */

static void on_tenant_slot(void *arg, enum gateway_slot result)
{
    struct invite_ctx *x = arg;
    if (b2bua_resumed(x)) /* cancelled meanwhile: the call's end gave the slot back */
        return;
    struct call *c = x->call;
    if (result == GATEWAY_SLOT_FULL || result == GATEWAY_SLOT_RATE) {
        log_info(c->a.call_id, "call %s %s@%s -> %s: refused, tenant %s at its %s", c->uuid,
                 c->caller, c->domain, c->callee, c->tenant_id,
                 result == GATEWAY_SLOT_FULL ? "max_calls" : "max_cps");
        free(x);
        b2bua_fail_retry(c, 503, "Tenant Call Limit Reached",
                         result == GATEWAY_SLOT_FULL ? "tenant max_calls reached"
                                                     : "tenant max_cps reached",
                         result == GATEWAY_SLOT_FULL ? "5" : "1");
        return;
    }
    if (result == GATEWAY_SLOT_UNKNOWN)
        log_warn(c->a.call_id, "call %s: tenant limits not checked (Redis unavailable)", c->uuid);
    x->after_tenant(x);
}

void b2bua_tenant_slot(struct invite_ctx *x, void (*next)(struct invite_ctx *x))
{
    struct call *c = x->call;
    if (c->tenant_id[0] && (c->tenant_max_calls > 0 || c->tenant_max_cps[0])) {
        x->after_tenant = next;
        c->looking_up = 1; /* a CANCEL meanwhile waits for on_tenant_slot */
        if (tenant_limits_take(calls_deps(c->calls)->gateways, c->tenant_id, c->tenant_max_calls,
                               c->tenant_max_cps, c->uuid, on_tenant_slot, x) == 0)
            return;
        c->looking_up = 0;
        log_warn(c->a.call_id, "call %s: tenant limits not checked (Redis unavailable)", c->uuid);
    }
    next(x);
}

static void ring_now(struct invite_ctx *x)
{
    struct call *c = x->call;
    c->looking_up = 1;
    if (reg_store_lookup(calls_deps(c->calls)->regs, c->domain, c->callee, on_bindings, x) == 0)
        return;
    c->looking_up = 0;
    b2bua_fail(c, 503, "Location Service Unavailable", "registration store unavailable");
    free(x);
}

void b2bua_ring_extension(struct invite_ctx *x)
{
    b2bua_tenant_slot(x, ring_now);
}

void b2bua_on_callee(void *arg, const struct user_info *u)
{
    struct invite_ctx *x = arg;
    if (b2bua_resumed(x))
        return;
    struct call *c = x->call;
    if (!u) {
        b2bua_fail(c, 503, "Directory Unavailable", "directory unavailable");
    } else if (u->found && !u->enabled) {
        b2bua_fail(c, SIP_404_NOT_FOUND, "extension disabled");
    } else if (u->found) {
        b2bua_ring_extension(x);
        return;
    } else if (x->from_gateway) {
        b2bua_fail(c, SIP_404_NOT_FOUND, "the DID's extension does not exist");
    } else {
        gateway_route(x); /* not an extension: a number for the outside world */
        return;
    }
    free(x);
}

static void challenge(struct invite_ctx *x, int stale)
{
    struct call *c = x->call;
    char header[512];
    if (auth_challenge(calls_deps(c->calls)->cfg->auth_nonce_secret, c->domain, stale, header,
                       sizeof header) != 0) {
        b2bua_fail(c, SIP_500_INTERNAL_SERVER_ERROR, "no nonce");
        return;
    }
    nta_incoming_treply(c->irq, SIP_407_PROXY_AUTH_REQUIRED, SIPTAG_PROXY_AUTHENTICATE_STR(header),
                        TAG_END());
    nta_incoming_destroy(c->irq);
    c->irq = NULL;
    call_end(c, "challenged");
}

static void on_caller(void *arg, const struct user_info *u)
{
    struct invite_ctx *x = arg;
    if (b2bua_resumed(x))
        return;
    struct call *c = x->call;
    const struct calls_deps *d = calls_deps(c->calls);
    if (!u) {
        b2bua_fail(c, 503, "Directory Unavailable", "directory unavailable");
    } else if (!u->found || !auth_verify(&x->cr, u->ha1, "INVITE")) {
        auth_log_failure(d->rl, d->status, d->cfg, &x->src, c->a.call_id, c->caller, c->domain,
                         u->found ? "wrong-password" : "unknown-user");
        challenge(x, 0);
    } else if (!u->enabled) {
        b2bua_fail(c, SIP_403_FORBIDDEN, "caller disabled");
    } else {
        b2bua_copy(c->tenant_id, sizeof c->tenant_id, u->tenant_id);
        c->tenant_max_calls = u->max_calls;
        b2bua_copy(c->tenant_max_cps, sizeof c->tenant_max_cps, u->max_cps);
        c->looking_up = 1;
        user_store_lookup(d->users, c->domain, c->callee, b2bua_on_callee, x);
        return;
    }
    free(x);
}

static void lowercase(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static int on_cancel(nta_incoming_magic_t *magic, nta_incoming_t *irq, sip_t const *sip)
{
    (void)irq;
    struct call *c = (struct call *)magic;
    if (!sip || !sip->sip_request || sip->sip_request->rq_method != sip_method_cancel)
        return 0; /* the ACK of a failure response: nothing to do */
    if (c->state != CALL_EARLY || !c->irq)
        return 0;
    if (!c->looking_up) {
        b2bua_fail(c, SIP_487_REQUEST_CANCELLED, "cancelled by caller");
        return 0;
    }
    /* A lookup still holds the call: answer now, end the call when the lookup returns. */
    nta_incoming_treply(c->irq, SIP_487_REQUEST_CANCELLED, TAG_END());
    nta_incoming_destroy(c->irq);
    c->irq = NULL;
    c->cancelled = 1;
    return 0;
}

static void authenticate(struct invite_ctx *x)
{
    struct call *c = x->call;
    const struct calls_deps *d = calls_deps(c->calls);
    sip_t const *sip = x->sip;
    const struct sip_source *src = &x->src;
    switch (auth_parse(sip->sip_proxy_authorization, c->domain, d->cfg->auth_nonce_secret,
                       d->cfg->auth_nonce_lifetime, &x->cr)) {
    case AUTH_NONE:
        challenge(x, 0);
        free(x);
        return;
    case AUTH_STALE:
        challenge(x, 1);
        free(x);
        return;
    case AUTH_MALFORMED:
    case AUTH_FORGED:
        auth_log_failure(d->rl, d->status, d->cfg, src, c->a.call_id, c->caller, c->domain,
                         "bad-credentials");
        challenge(x, 0);
        free(x);
        return;
    case AUTH_PARSED:
        break;
    }
    if (strcmp(x->cr.username, c->caller) != 0) {
        auth_log_failure(d->rl, d->status, d->cfg, src, c->a.call_id, x->cr.username, c->domain,
                         "username-mismatch");
        free(x);
        b2bua_fail(c, SIP_403_FORBIDDEN, "caller identity mismatch");
        return;
    }
    c->looking_up = 1;
    user_store_lookup(d->users, c->domain, c->caller, on_caller, x);
}

/* Gateways are recognised by source address before anything else: they do not authenticate. */
static void on_source(void *arg, const struct rt_source *gw)
{
    struct invite_ctx *x = arg;
    if (b2bua_resumed(x))
        return;
    if (gw->found) {
        gateway_inbound(x, gw);
        return;
    }
    authenticate(x);
}

void calls_invite(struct calls *cs, nta_incoming_t *irq, sip_t const *sip,
                  const struct sip_source *src)
{
    const struct calls_deps *d = calls_deps(cs);
    struct call *c = call_new(cs);
    struct invite_ctx *x = c ? calloc(1, sizeof *x) : NULL;
    if (!x) {
        if (c)
            call_end(c, "out of memory");
        nta_incoming_treply(irq, SIP_500_INTERNAL_SERVER_ERROR, TAG_END());
        nta_incoming_destroy(irq);
        return;
    }
    x->call = c;
    x->sip = sip;
    x->src = *src;
    c->irq = irq;
    c->a_100rel = prack_caller_mode(sip);
    nta_incoming_bind(irq, on_cancel, (nta_incoming_magic_t *)c);
    nta_incoming_treply(irq, SIP_100_TRYING, TAG_END());

    const url_t *from = sip->sip_from ? sip->sip_from->a_url : NULL;
    const url_t *ruri = sip->sip_request->rq_url;
    if (!from || !from->url_user || !from->url_host || !ruri->url_user || !sip->sip_contact ||
        !sip->sip_call_id || !sip->sip_cseq || strlen(from->url_host) >= sizeof c->domain ||
        strlen(from->url_user) >= sizeof c->caller || strlen(ruri->url_user) >= sizeof c->callee) {
        free(x);
        b2bua_fail(c, 400, "Bad Request Addresses", "bad request");
        return;
    }
    b2bua_copy(c->domain, sizeof c->domain, from->url_host);
    lowercase(c->domain);
    b2bua_copy(c->caller, sizeof c->caller, from->url_user);
    b2bua_copy(c->callee, sizeof c->callee, ruri->url_user);
    b2bua_copy(c->media_ip, sizeof c->media_ip, d->cfg->media_address);

    su_home_t home[1] = {SU_HOME_INIT(home)};
    struct dlg_side *a = &c->a;
    b2bua_copy(a->call_id, sizeof a->call_id, sip->sip_call_id->i_id);
    b2bua_copy(a->remote_hdr, sizeof a->remote_hdr,
               sip_header_as_string(home, (sip_header_t const *)sip->sip_from));
    snprintf(a->local_hdr, sizeof a->local_hdr, "%s;tag=%s",
             sip_header_as_string(home, (sip_header_t const *)sip->sip_to),
             nta_incoming_tag(irq, NULL));
    b2bua_copy(a->remote_target, sizeof a->remote_target,
               url_as_string(home, sip->sip_contact->m_url));
    route_set(home, sip->sip_record_route, 0, a->route, sizeof a->route);
    snprintf(a->destination, sizeof a->destination, "sip:%s;transport=%s", src->received,
             src->transport);
    a->remote_cseq = sip->sip_cseq->cs_seq;
    su_home_deinit(home);
    call_early_note_vias(c, sip);

    if (!sip->sip_payload || !sip->sip_payload->pl_len) {
        free(x);
        b2bua_fail(c, SIP_488_NOT_ACCEPTABLE, "no SDP offer (late offer is not supported yet)");
        return;
    }
    c->offer = strndup(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
    if (session_timer_invite(c, sip) != 0) { /* answered 422 */
        free(x);
        return;
    }

    c->looking_up = 1;
    routing_store_source(d->routing, src->ip, on_source, x);
}
