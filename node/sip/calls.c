/* The node's table of calls (by Call-ID of either leg), their records in Redis, and the one
 * routine that sends a request on a dialog from its stored state. A reaper notices calls of ours
 * that another node ended (a BYE can reach any node) and releases their media here. */
#include "sip/call.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/strmap.h"
#include "media/media.h"
#include "sip/call_media_record.h"
#include "sip/gateway_health.h"
#include "sip/session_timer.h"
#include "sip/sip_tports.h"
#include "store/call_store.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <openssl/rand.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/su_tagarg.h>

#define REAP_MS 2000
#define REAP_BATCH 256 /* media-dead calls hung up per sweep; the rest wait for the next one */

struct calls {
    struct calls_deps deps;
    struct strmap *by_call_id; /* both legs' Call-IDs -> struct call (owned once, via uuid map) */
    struct strmap *by_uuid;
    su_timer_t *reaper;
    char dead[REAP_BATCH][40];
    int ndead;
};

const struct calls_deps *calls_deps(const struct calls *cs)
{
    return &cs->deps;
}

struct call *call_new(struct calls *cs)
{
    struct call *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    unsigned char r[16];
    if (RAND_bytes(r, sizeof r) != 1) {
        free(c);
        return NULL;
    }
    r[6] = (r[6] & 0x0f) | 0x40; /* version 4 */
    r[8] = (r[8] & 0x3f) | 0x80;
    snprintf(c->uuid, sizeof c->uuid,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
             r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
             r[15]);
    c->calls = cs;
    c->created_ms = clock_wall_ms();
    c->a.local_cseq = 100;
    c->b.local_cseq = 0;
    snprintf(c->node, sizeof c->node, "%s", cs->deps.cfg->node_id);
    c->node_sip_port = cs->deps.cfg->sip_port;
    /* In the table from the start, so shutdown frees calls still being set up. */
    if (strmap_put(cs->by_uuid, c->uuid, c, NULL) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void calls_contact(const struct calls *cs, const char *transport, char *out, size_t len)
{
    const struct tandem_config *cfg = cs->deps.cfg;
    const char *fmt =
        strchr(cfg->sip_address, ':') ? "<sip:tandem@[%s]:%d%s%s>" : "<sip:tandem@%s:%d%s%s>";
    int tcp = transport && !strcmp(transport, "tcp");
    snprintf(out, len, fmt, cfg->sip_address, cfg->sip_port, tcp ? ";transport=" : "",
             tcp ? "tcp" : "");
}

void calls_side_contact(const struct calls *cs, const struct dlg_side *side, char *out, size_t len)
{
    const char *transport = strstr(side->destination, "transport=tcp") ? "tcp" : "udp";
    if (!side->via[0]) {
        calls_contact(cs, transport, out, len);
        return;
    }
    int tcp = !strcmp(transport, "tcp");
    snprintf(out, len, strchr(side->via, ':') ? "<sip:tandem@[%s]:%d%s>" : "<sip:tandem@%s:%d%s>",
             side->via, side->via_port, tcp ? ";transport=tcp" : "");
}

/* ---- records ---- */

static json_t *side_to_json(const struct dlg_side *s)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:i, s:s, s:i}", "call_id",
                     s->call_id, "local", s->local_hdr, "remote", s->remote_hdr, "target",
                     s->remote_target, "route", s->route, "destination", s->destination,
                     "local_cseq", (json_int_t)s->local_cseq, "remote_cseq",
                     (json_int_t)s->remote_cseq, "media_port", s->media_port, "via", s->via,
                     "via_port", s->via_port);
}

json_t *call_to_json(const struct call *c)
{
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:o, s:s, s:b, "
        "s:i}",
        "uuid", c->uuid, "domain", c->domain, "tenant_id", c->tenant_id, "caller", c->caller,
        "callee", c->callee, "callee_routed", c->callee_routed, "gateway", c->gateway, "node",
        c->node, "media_ip", c->media_ip, "state",
        c->state == CALL_CONFIRMED ? "confirmed" : "early", "created_ms", (json_int_t)c->created_ms,
        "progress_ms", (json_int_t)c->progress_ms, "answered_ms", (json_int_t)c->answered_ms, "a",
        side_to_json(&c->a), "b", side_to_json(&c->b), "failover_from", c->failover_from,
        "srtp_call", c->srtp_call != 0, "on_hold", c->on_hold);
    if (j)
        json_object_set_new(j, "sip_port", json_integer(c->node_sip_port));
    /* The media as negotiated: what a successor needs to rebuild it (call_recover.c). */
    static const char *const party_key[2] = {"a_sdp", "b_sdp"}, *const sent_key[2] = {"a_sdp_sent",
                                                                                      "b_sdp_sent"};
    for (int leg = 0; j && leg < 2; leg++) {
        if (c->sdp_party[leg])
            json_object_set_new(j, party_key[leg], json_string(c->sdp_party[leg]));
        if (c->sdp_sent[leg])
            json_object_set_new(j, sent_key[leg], json_string(c->sdp_sent[leg]));
    }
    /* The codec each party sends (call_codec.c), for GET calls; "" until an answer. */
    if (j) {
        json_object_set_new(json_object_get(j, "a"), "codec", json_string(c->codecs.name[0]));
        json_object_set_new(json_object_get(j, "b"), "codec", json_string(c->codecs.name[1]));
    }
    session_timer_to_json(c, j);
    call_media_record_to_json(c, j);
    return j;
}

void call_free_record(struct call *c)
{
    free(c->offer);
    free(c->a_vias);
    for (int leg = 0; leg < 2; leg++) {
        free(c->sdp_party[leg]);
        free(c->sdp_sent[leg]);
    }
    free(c);
}

static char *dup_str(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? strdup(v) : NULL;
}

static int copy_str(json_t *o, const char *key, char *dst, size_t len)
{
    const char *v = json_string_value(json_object_get(o, key));
    if (!v || strlen(v) >= len)
        return -1;
    strcpy(dst, v);
    return 0;
}

static int side_from_json(struct dlg_side *s, json_t *o)
{
    if (!json_is_object(o) || copy_str(o, "call_id", s->call_id, sizeof s->call_id) ||
        copy_str(o, "local", s->local_hdr, sizeof s->local_hdr) ||
        copy_str(o, "remote", s->remote_hdr, sizeof s->remote_hdr) ||
        copy_str(o, "target", s->remote_target, sizeof s->remote_target) ||
        copy_str(o, "route", s->route, sizeof s->route) ||
        copy_str(o, "destination", s->destination, sizeof s->destination))
        return -1;
    s->local_cseq = (unsigned long)json_integer_value(json_object_get(o, "local_cseq"));
    s->remote_cseq = (unsigned long)json_integer_value(json_object_get(o, "remote_cseq"));
    s->media_port = (int)json_integer_value(json_object_get(o, "media_port"));
    const char *via = json_string_value(json_object_get(o, "via"));
    snprintf(s->via, sizeof s->via, "%s", via ? via : "");
    s->via_port = (int)json_integer_value(json_object_get(o, "via_port"));
    return 0;
}

int call_from_json(struct call *c, json_t *j)
{
    const char *state = json_string_value(json_object_get(j, "state"));
    if (copy_str(j, "uuid", c->uuid, sizeof c->uuid) ||
        copy_str(j, "domain", c->domain, sizeof c->domain) ||
        copy_str(j, "caller", c->caller, sizeof c->caller) ||
        copy_str(j, "callee", c->callee, sizeof c->callee) ||
        copy_str(j, "node", c->node, sizeof c->node) ||
        copy_str(j, "media_ip", c->media_ip, sizeof c->media_ip) ||
        copy_str(j, "tenant_id", c->tenant_id, sizeof c->tenant_id) ||
        copy_str(j, "callee_routed", c->callee_routed, sizeof c->callee_routed) ||
        copy_str(j, "gateway", c->gateway, sizeof c->gateway) || !state ||
        side_from_json(&c->a, json_object_get(j, "a")) ||
        side_from_json(&c->b, json_object_get(j, "b")))
        return -1;
    c->state = strcmp(state, "confirmed") == 0 ? CALL_CONFIRMED : CALL_EARLY;
    c->created_ms = json_integer_value(json_object_get(j, "created_ms"));
    c->answered_ms = json_integer_value(json_object_get(j, "answered_ms"));
    c->progress_ms = json_integer_value(json_object_get(j, "progress_ms"));
    const char *from = json_string_value(json_object_get(j, "failover_from"));
    snprintf(c->failover_from, sizeof c->failover_from, "%s", from ? from : "");
    c->srtp_call = json_is_true(json_object_get(j, "srtp_call"));
    c->on_hold = (int)json_integer_value(json_object_get(j, "on_hold"));
    c->node_sip_port = (int)json_integer_value(json_object_get(j, "sip_port"));
    c->sdp_party[0] = dup_str(j, "a_sdp");
    c->sdp_party[1] = dup_str(j, "b_sdp");
    c->sdp_sent[0] = dup_str(j, "a_sdp_sent");
    c->sdp_sent[1] = dup_str(j, "b_sdp_sent");
    copy_str(json_object_get(j, "a"), "codec", c->codecs.name[0], sizeof c->codecs.name[0]);
    copy_str(json_object_get(j, "b"), "codec", c->codecs.name[1], sizeof c->codecs.name[1]);
    session_timer_from_json(c, j);
    call_media_record_from_json(c, j);
    return 0;
}

void call_index(struct call *c)
{
    struct calls *cs = c->calls;
    if (c->a.call_id[0])
        strmap_put(cs->by_call_id, c->a.call_id, c, NULL);
    if (c->b.call_id[0])
        strmap_put(cs->by_call_id, c->b.call_id, c, NULL);
}

int call_rekey(struct call *c, const char *uuid)
{
    struct calls *cs = c->calls;
    if (strlen(uuid) >= sizeof c->uuid || strmap_get(cs->by_uuid, uuid))
        return -1;
    strmap_remove(cs->by_uuid, c->uuid);
    strcpy(c->uuid, uuid);
    return strmap_put(cs->by_uuid, c->uuid, c, NULL);
}

void call_publish(struct call *c)
{
    struct calls *cs = c->calls;
    if (!strmap_get(cs->by_uuid, c->uuid))
        strmap_put(cs->by_uuid, c->uuid, c, NULL);
    if (c->a.call_id[0])
        strmap_put(cs->by_call_id, c->a.call_id, c, NULL);
    if (c->b.call_id[0])
        strmap_put(cs->by_call_id, c->b.call_id, c, NULL);
    gateway_limits_held(cs->deps.gateways, c->uuid, c->gw_slot, sizeof c->gw_slot, c->tenant_slot,
                        sizeof c->tenant_slot);
    json_t *j = call_to_json(c);
    if (!j || call_store_save(cs->deps.store, c->uuid, c->a.call_id, c->b.call_id, j,
                              CALL_RECORD_TTL_S) != 0)
        log_warn(c->a.call_id, "call %s: record not written (Redis unavailable)", c->uuid);
    else
        c->stored = 1;
    json_decref(j);
}

static void release(struct call *c)
{
    struct calls *cs = c->calls;
    b2bua_abandon(c, 500, "Call Released");
    dialog_abandon(c);
    if (cs) {
        if (strmap_get(cs->by_uuid, c->uuid) == c)
            strmap_remove(cs->by_uuid, c->uuid);
        if (c->a.call_id[0] && strmap_get(cs->by_call_id, c->a.call_id) == c)
            strmap_remove(cs->by_call_id, c->a.call_id);
        if (c->b.call_id[0] && strmap_get(cs->by_call_id, c->b.call_id) == c)
            strmap_remove(cs->by_call_id, c->b.call_id);
    }
    media_session_destroy(c->media);
    c->media = NULL;
    call_free_record(c);
}

void call_end(struct call *c, const char *why)
{
    struct calls *cs = c->calls;
    long long now = clock_wall_ms();
    log_info(c->a.call_id[0] ? c->a.call_id : NULL,
             "call %s %s@%s -> %s ended (%s) after %lld ms, answered %lld ms", c->uuid, c->caller,
             c->domain, c->callee, why, now - c->created_ms,
             c->answered_ms ? now - c->answered_ms : 0);
    call_cdr_submit(c, why, now);
    if (cs && (c->state != CALL_EARLY || c->stored))
        call_store_delete(cs->deps.store, c->uuid, c->a.call_id, c->b.call_id, c->tenant_id,
                          c->node);
    c->state = CALL_ENDED;
    release(c);
}

struct call *calls_find_local(struct calls *cs, const char *call_id)
{
    return strmap_get(cs->by_call_id, call_id);
}

struct call *calls_find_uuid(struct calls *cs, const char *uuid)
{
    return strmap_get(cs->by_uuid, uuid);
}

/* ---- sending on a dialog ---- */

nta_outgoing_t *dlg_send(struct calls *cs, struct dlg_side *side, sip_method_t method,
                         const char *name, unsigned long cseq_for_ack, const char *sdp,
                         nta_response_f *cb, nta_outgoing_magic_t *magic)
{
    return dlg_send_with(cs, side, method, name, cseq_for_ack, sdp, NULL, cb, magic);
}

nta_outgoing_t *dlg_send_with(struct calls *cs, struct dlg_side *side, sip_method_t method,
                              const char *name, unsigned long cseq_for_ack, const char *sdp,
                              const char *headers, nta_response_f *cb, nta_outgoing_magic_t *magic)
{
    return dlg_send_body(cs, side, method, name, cseq_for_ack, "application/sdp", sdp, headers, cb,
                         magic);
}

nta_outgoing_t *dlg_send_body(struct calls *cs, struct dlg_side *side, sip_method_t method,
                              const char *name, unsigned long cseq_for_ack, const char *ctype,
                              const char *body, const char *headers, nta_response_f *cb,
                              nta_outgoing_magic_t *magic)
{
    const char *sdp = body;
    msg_t *msg = nta_msg_create(cs->deps.agent, 0);
    if (!msg)
        return NULL;
    su_home_t *home = msg_home(msg);
    sip_t *sip = sip_object(msg);
    unsigned long cseq = method == sip_method_ack ? cseq_for_ack : ++side->local_cseq;
    char contact[256];
    const char *transport = strstr(side->destination, "transport=tcp") ? "tcp" : "udp";
    calls_side_contact(cs, side, contact, sizeof contact);
    /* A dialog on a VIP taken over speaks from that address: peers (and a carrier's ACL) know
     * only it. Without the transport (not listening there) nta picks ours. */
    tport_t *tp =
        side->via[0] ? sip_tports_find(cs->deps.agent, side->via, side->via_port, transport) : NULL;
    if (side->via[0] && !tp)
        log_warn(side->call_id, "no %s transport on %s:%d: sending from this node's address",
                 transport, side->via, side->via_port);
    if (sip_add_tl(
            msg, sip,
            SIPTAG_REQUEST(
                sip_request_create(home, method, name, (url_string_t *)side->remote_target, NULL)),
            TAG_IF(side->route[0], SIPTAG_ROUTE_STR(side->route)), SIPTAG_FROM_STR(side->local_hdr),
            SIPTAG_TO_STR(side->remote_hdr), SIPTAG_CALL_ID_STR(side->call_id),
            SIPTAG_CSEQ(sip_cseq_create(home, (uint32_t)cseq, method, name)),
            SIPTAG_MAX_FORWARDS_STR("70"),
            TAG_IF(method == sip_method_invite, SIPTAG_CONTACT_STR(contact)),
            TAG_IF(method == sip_method_invite, SIPTAG_SUPPORTED_STR(SIP_SUPPORTED)),
            TAG_IF(sdp, SIPTAG_CONTENT_TYPE_STR(ctype)), TAG_IF(sdp, SIPTAG_PAYLOAD_STR(sdp)),
            TAG_IF(headers, SIPTAG_HEADER_STR(headers)), TAG_END()) < 0 ||
        !sip->sip_request) {
        msg_destroy(msg);
        return NULL;
    }
    return nta_outgoing_mcreate(cs->deps.agent, cb, magic, URL_STRING_MAKE(side->destination), msg,
                                TAG_IF(tp, NTATAG_TPORT(tp)), TAG_END());
}

/* ---- the table ---- */

struct reap_check {
    struct calls *cs;
    char uuid[40];
};

static void on_checked(void *arg, int exists, int hangup, int store_down)
{
    struct reap_check *r = arg;
    struct call *c = strmap_get(r->cs->by_uuid, r->uuid);
    if (c && c->state == CALL_CONFIRMED && !store_down) {
        if (!exists) {
            log_info(c->a.call_id, "call %s was ended through another node; releasing its media",
                     c->uuid);
            c->state = CALL_ENDED;
            release(c);
        } else if (hangup) {
            call_hangup(c, 16, "hung up through the API");
        }
    }
    free(r);
}

void call_hangup(struct call *c, int q850, const char *why)
{
    struct calls *cs = c->calls;
    for (int i = 0; i < 2; i++) {
        nta_outgoing_t *bye =
            dlg_send(cs, i ? &c->b : &c->a, sip_method_bye, "BYE", 0, NULL, NULL, NULL);
        if (bye)
            nta_outgoing_destroy(bye);
    }
    c->q850_cause = q850;
    snprintf(c->hangup_by, sizeof c->hangup_by, "system");
    call_end(c, why);
}

/* No RTP from either party for media.timeout (media.hold_timeout on hold): the phones are gone
 * or the network is, and the call would otherwise stay up (and be billed) forever. */
static int media_dead(const struct call *c, const struct tandem_config *cfg)
{
    int limit = c->on_hold ? cfg->media_hold_timeout : cfg->media_timeout;
    if (!c->media || limit <= 0)
        return 0;
    struct media_leg_stats a, b;
    media_leg_stats(c->media, MEDIA_LEG_A, &a);
    media_leg_stats(c->media, MEDIA_LEG_B, &b);
    double last = a.last_packet_mono > b.last_packet_mono ? a.last_packet_mono : b.last_packet_mono;
    if (last < c->answered_mono)
        last = c->answered_mono;
    return clock_mono() - last > limit;
}

static int schedule_check(const char *key, void *value, void *arg)
{
    (void)key;
    struct call *c = value;
    struct calls *cs = arg;
    if (c->state != CALL_CONFIRMED)
        return 0;
    if (media_dead(c, cs->deps.cfg)) {
        /* Not here: hanging up removes the call from the table this sweep is walking. */
        if (cs->ndead < REAP_BATCH)
            memcpy(cs->dead[cs->ndead++], c->uuid, sizeof c->uuid);
        return 0;
    }
    struct reap_check *r = malloc(sizeof *r);
    if (!r)
        return 0;
    r->cs = cs;
    memcpy(r->uuid, c->uuid, sizeof r->uuid);
    if (call_store_check(cs->deps.store, c->uuid, on_checked, r) != 0)
        free(r);
    return 0;
}

static void reap(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)m;
    (void)t;
    struct calls *cs = (struct calls *)arg;
    cs->ndead = 0;
    strmap_sweep(cs->by_uuid, schedule_check, cs);
    for (int i = 0; i < cs->ndead; i++) {
        struct call *c = strmap_get(cs->by_uuid, cs->dead[i]);
        if (c) {
            log_warn(c->a.call_id, "call %s: no media for too long, hanging up", c->uuid);
            call_hangup(c, 102, "media timeout"); /* Q.850 102: recovery on timer expiry */
        }
    }
}

struct calls *calls_create(const struct calls_deps *deps)
{
    struct calls *cs = calloc(1, sizeof *cs);
    if (!cs)
        return NULL;
    cs->deps = *deps;
    cs->by_call_id = strmap_create();
    cs->by_uuid = strmap_create();
    cs->reaper = su_timer_create(su_root_task(deps->root), REAP_MS);
    if (!cs->by_call_id || !cs->by_uuid || !cs->reaper) {
        calls_destroy(cs);
        return NULL;
    }
    su_timer_set_for_ever(cs->reaper, reap, (su_timer_arg_t *)cs);
    return cs;
}

struct let_go {
    struct calls *cs;
    long long before_ms;
    int n;
};

static int let_go_one(const char *key, void *value, void *arg)
{
    (void)key;
    struct let_go *g = arg;
    struct call *c = value;
    struct calls *cs = g->cs;
    /* Held here since creation, or since this node recovered it (a claim on this node made
     * before that cannot be about it). */
    if ((c->recovered_ms ? c->recovered_ms : c->created_ms) >= g->before_ms)
        return 0;
    if (c->a.call_id[0] && strmap_get(cs->by_call_id, c->a.call_id) == c)
        strmap_remove(cs->by_call_id, c->a.call_id);
    if (c->b.call_id[0] && strmap_get(cs->by_call_id, c->b.call_id) == c)
        strmap_remove(cs->by_call_id, c->b.call_id);
    if (c->state == CALL_CONFIRMED)
        c->calls = NULL; /* it goes on elsewhere: its tenant slot stays taken */
    b2bua_abandon(c, 503, "Service Unavailable");
    dialog_abandon(c);
    media_session_destroy(c->media);
    c->media = NULL;
    call_free_record(c);
    g->n++;
    return 1;
}

struct count_via {
    const char *address;
    int n;
};

static int count_via_one(const char *key, void *value, void *arg)
{
    (void)key;
    struct count_via *cv = arg;
    const struct call *c = value;
    if (!strcmp(c->a.via, cv->address))
        cv->n++;
    return 0;
}

int calls_count(struct calls *cs)
{
    return cs && cs->by_uuid ? (int)strmap_size(cs->by_uuid) : 0;
}

int calls_count_via(struct calls *cs, const char *address)
{
    struct count_via cv = {.address = address};
    strmap_sweep(cs->by_uuid, count_via_one, &cv);
    return cv.n;
}

int calls_let_go(struct calls *cs)
{
    return calls_let_go_before(cs, LLONG_MAX);
}

int calls_let_go_before(struct calls *cs, long long before_ms)
{
    struct let_go g = {.cs = cs, .before_ms = before_ms};
    strmap_sweep(cs->by_uuid, let_go_one, &g);
    return g.n;
}

static int drop_call(const char *key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    struct call *c = value;
    call_cdr_submit(c, "node stopping", clock_wall_ms()); /* main stops the CDR writer after us */
    c->calls = NULL;                                      /* the tables are going away with us */
    release(c);
    return 1;
}

void calls_destroy(struct calls *cs)
{
    if (!cs)
        return;
    if (cs->reaper)
        su_timer_destroy(cs->reaper);
    strmap_destroy(cs->by_call_id, NULL);
    cs->by_call_id = NULL;
    if (cs->by_uuid)
        strmap_sweep(cs->by_uuid, drop_call, NULL);
    strmap_destroy(cs->by_uuid, NULL);
    free(cs);
}
