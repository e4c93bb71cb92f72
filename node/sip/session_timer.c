/* The node passes refreshes on instead of generating its own (it holds no SDP of its own to
 * offer), so a session gets a timer only when a party refreshes it (session_expires.c). The
 * deadline is checked against the record in Redis, the truth when a refresh went through
 * another node; a call the owner no longer holds in memory (it restarted) is ended from that
 * record alone, as dialog.c continues calls of other nodes. */
#include "sip/session_timer.h"

#include "common/clock.h"
#include "common/log.h"
#include "sip/session_expires.h"
#include "store/call_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_tagarg.h>

#define SWEEP_MS 1000
#define SWEEP_BATCH 64
/* RFC 3326: what the BYE says about why the node ended the session. */
#define EXPIRED_REASON "Reason: SIP;cause=408;text=\"Session timer expired\"\r\n"

static void params_of(sip_t const *sip, struct st_params *p)
{
    memset(p, 0, sizeof *p);
    if (sip->sip_session_expires) {
        p->expires = sip->sip_session_expires->x_delta > 86400
                         ? 86400
                         : (int)sip->sip_session_expires->x_delta;
        p->refresher = st_parse_refresher(sip->sip_session_expires->x_refresher);
    }
    if (sip->sip_min_se)
        p->min_se = sip->sip_min_se->min_delta > 86400 ? 86400 : (int)sip->sip_min_se->min_delta;
    p->timer = (sip->sip_supported && sip_has_feature(sip->sip_supported, "timer")) ||
               (sip->sip_require && sip_has_feature(sip->sip_require, "timer"));
}

int session_timer_invite(struct call *c, sip_t const *sip)
{
    const struct tandem_config *cfg = calls_deps(c->calls)->cfg;
    params_of(sip, &c->st_a);
    int min_se = 0;
    c->st_asked =
        st_request_interval(&c->st_a, cfg->calls_min_se, cfg->calls_session_expires, &min_se);
    if (c->st_asked >= 0)
        return 0;
    char value[16];
    snprintf(value, sizeof value, "%d", min_se);
    c->final_status = 422;
    nta_incoming_treply(c->irq, SIP_422_SESSION_TIMER_TOO_SMALL, SIPTAG_MIN_SE_STR(value),
                        TAG_END());
    nta_incoming_destroy(c->irq);
    c->irq = NULL;
    call_end(c, "session interval too small");
    return -1;
}

void session_timer_fork_headers(const struct call *c, int first_party, int asked, int min_se,
                                char *out, size_t len)
{
    const struct tandem_config *cfg = calls_deps(c->calls)->cfg;
    int floor = cfg->calls_min_se;
    if (!first_party && c->st_a.min_se > floor)
        floor = c->st_a.min_se;
    if (min_se > floor)
        floor = min_se;
    int interval = asked > 0 ? asked : first_party ? cfg->calls_session_expires : c->st_asked;
    out[0] = '\0';
    if (interval <= 0)
        return;
    /* The party called first is the UAS of the node's INVITE: refresher=uas asks it to refresh
     * (the node cannot); a caller's refreshes pass through as the node's, "uac" toward B. */
    const char *who = first_party || st_ask_refresher(&c->st_a) != ST_UAC ? "uas" : "uac";
    snprintf(out, len, "Session-Expires: %d;refresher=%s\r\nMin-SE: %d\r\n", interval, who, floor);
}

void session_timer_b_headers(const struct call *c, char *out, size_t len)
{
    session_timer_fork_headers(c, 0, 0, 0, out, len);
}

void session_timer_first_party(struct call *c, int asked, int min_se, sip_t const *sip)
{
    const struct tandem_config *cfg = calls_deps(c->calls)->cfg;
    int interval = asked > 0 ? asked : cfg->calls_session_expires;
    int floor = min_se > cfg->calls_min_se ? min_se : cfg->calls_min_se;
    struct st_params p;
    params_of(sip, &p);
    memset(&c->st_a, 0, sizeof c->st_a);
    c->st_asked = 0;
    if (interval <= 0)
        return; /* the node asked for no timer: neither is B asked for one */
    /* As a caller: its refreshing ("uas" in its 2xx, it is the UAS there) is a caller's "uac",
     * and a 2xx leaving it to the node is a caller asking the node to refresh. */
    c->st_a.timer = p.timer || p.expires > 0;
    c->st_a.expires = p.expires;
    c->st_a.refresher = p.refresher == ST_UAS ? ST_UAC : p.refresher == ST_UAC ? ST_UAS : ST_NONE;
    c->st_a.min_se = floor;
    int unused;
    c->st_asked = st_request_interval(&c->st_a, floor, interval, &unused);
    if (c->st_asked < 0) /* its 2xx went below the Min-SE it was sent: B is asked for ours */
        c->st_asked = interval > floor ? interval : floor;
}

static void schedule(struct call *c)
{
    c->st_deadline_ms = st_deadline_ms(clock_wall_ms(), c->st_interval);
    if (call_store_expiry_set(calls_deps(c->calls)->store, c->node, c->a.call_id,
                              c->st_deadline_ms) != 0)
        log_warn(c->a.call_id, "call %s: session deadline not scheduled (Redis unavailable)",
                 c->uuid);
}

void session_timer_answered(struct call *c, sip_t const *sip)
{
    struct st_params b;
    params_of(sip, &b);
    c->st_interval = st_answer(&c->st_a, c->st_asked, &b, &c->st_party);
    if (c->st_interval > 0) {
        schedule(c);
        log_info(c->a.call_id, "call %s: session timer %d s, refreshed by the %s", c->uuid,
                 c->st_interval, c->st_party == ST_PARTY_A ? "caller" : "callee");
    }
}

void session_timer_a_headers(const struct call *c, char *out, size_t len)
{
    out[0] = '\0';
    if (c->st_interval > 0)
        snprintf(out, len, "Session-Expires: %d;refresher=%s\r\n%s", c->st_interval,
                 st_refresher_name(c->st_party), c->st_a.timer ? "Require: timer\r\n" : "");
}

void session_timer_refresh_headers(const struct call *c, char *out, size_t len)
{
    out[0] = '\0';
    if (c->st_interval > 0)
        snprintf(out, len, "Session-Expires: %d;refresher=%s\r\n", c->st_interval,
                 st_refresher_name(c->st_party));
}

void session_timer_refreshed(struct call *c)
{
    if (c->st_interval > 0)
        schedule(c);
}

void session_timer_to_json(const struct call *c, json_t *record)
{
    if (!record || c->st_interval <= 0)
        return;
    json_object_set_new(record, "session_expires", json_integer(c->st_interval));
    json_object_set_new(record, "session_refresher",
                        json_string(c->st_party == ST_PARTY_A ? "caller" : "callee"));
    json_object_set_new(record, "session_deadline_ms", json_integer(c->st_deadline_ms));
}

void session_timer_from_json(struct call *c, json_t *record)
{
    c->st_interval = (int)json_integer_value(json_object_get(record, "session_expires"));
    const char *who = json_string_value(json_object_get(record, "session_refresher"));
    c->st_party = !who ? ST_NOBODY : !strcmp(who, "caller") ? ST_PARTY_A : ST_PARTY_B;
    c->st_deadline_ms = json_integer_value(json_object_get(record, "session_deadline_ms"));
}

/* ---- the owner's sweep ---- */

struct session_timers {
    struct calls *cs;
    su_timer_t *timer;
    int sweeping; /* a sweep's reply is outstanding: the next tick waits for it */
};

struct expiring {
    struct session_timers *st;
    char call_id[256];
};

static void bye(struct calls *cs, struct dlg_side *side)
{
    nta_outgoing_t *o =
        dlg_send_with(cs, side, sip_method_bye, "BYE", 0, NULL, EXPIRED_REASON, NULL, NULL);
    if (o)
        nta_outgoing_destroy(o);
}

static void expire(struct calls *cs, struct call *c, int local)
{
    log_warn(c->a.call_id, "call %s: session timer expired (%d s without a refresh), hanging up",
             c->uuid, c->st_interval);
    bye(cs, &c->a);
    bye(cs, &c->b);
    c->q850_cause = 102; /* recovery on timer expiry */
    snprintf(c->hangup_by, sizeof c->hangup_by, "system");
    if (local) {
        call_end(c, "session timer expired");
        return;
    }
    /* The owner restarted and holds nothing of the call but this record. */
    call_cdr_submit(c, "session timer expired", clock_wall_ms());
    call_store_delete(calls_deps(cs)->store, c->uuid, c->a.call_id, c->b.call_id, c->tenant_id,
                      c->node);
}

static void on_record(void *arg, json_t *record, int store_down)
{
    struct expiring *e = arg;
    struct calls *cs = e->st->cs;
    const struct calls_deps *d = calls_deps(cs);
    struct call *rec = record ? calloc(1, sizeof *rec) : NULL;
    if (store_down) { /* try again at the next sweep */
        call_store_expiry_set(d->store, d->cfg->node_id, e->call_id, clock_wall_ms());
    } else if (rec && call_from_json(rec, record) == 0 && rec->state == CALL_CONFIRMED &&
               rec->st_interval > 0) {
        rec->calls = cs;
        struct call *local = calls_find_local(cs, e->call_id);
        if (rec->st_deadline_ms > clock_wall_ms()) /* refreshed meanwhile */
            call_store_expiry_set(d->store, d->cfg->node_id, e->call_id, rec->st_deadline_ms);
        else if (local && local->state == CALL_CONFIRMED)
            expire(cs, local, 1);
        else if (!local)
            expire(cs, rec, 0);
    } /* else the call is over (or lost its timer): nothing left to schedule */
    if (rec)
        call_free_record(rec);
    free(e);
}

static void on_due(void *arg, const char *const *ids, size_t n)
{
    struct session_timers *st = arg;
    st->sweeping = 0;
    for (size_t i = 0; i < n; i++) {
        struct expiring *e = calloc(1, sizeof *e);
        if (!e || strlen(ids[i]) >= sizeof e->call_id) {
            free(e);
            continue;
        }
        e->st = st;
        memcpy(e->call_id, ids[i], strlen(ids[i]) + 1);
        if (call_store_find(calls_deps(st->cs)->store, e->call_id, on_record, e) != 0)
            free(e);
    }
}

static void sweep(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)m;
    (void)t;
    struct session_timers *st = (struct session_timers *)arg;
    const struct calls_deps *d = calls_deps(st->cs);
    if (st->sweeping)
        return;
    if (call_store_expiry_due(d->store, d->cfg->node_id, clock_wall_ms(), SWEEP_BATCH, on_due,
                              st) == 0)
        st->sweeping = 1;
}

struct session_timers *session_timers_create(su_root_t *root, struct calls *cs)
{
    struct session_timers *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->cs = cs;
    st->timer = su_timer_create(su_root_task(root), SWEEP_MS);
    if (!st->timer) {
        free(st);
        return NULL;
    }
    su_timer_set_for_ever(st->timer, sweep, (su_timer_arg_t *)st);
    return st;
}

void session_timers_destroy(struct session_timers *st)
{
    if (!st)
        return;
    su_timer_destroy(st->timer);
    free(st);
}
