/* Calls to and from the tenant's gateways (ITSP trunks). Out: the dialled number is matched
 * against the tenant's routes and the gateways are tried one after another; a final status the
 * gateway lists as failover, or one of its timers (no 1xx in originate_timeout, no answer in
 * progress_timeout after a 1xx or in bridge_answer_timeout overall), moves on to the next.
 * Gateways down at set-up are skipped (all tried if all are down), and so are gateways at their
 * max_calls / max_cps (a slot is taken per attempt, gateway_health.h; emergency routes exempt).
 * The caller's Diversion headers go out on every attempt.
 * In: an INVITE from a gateway's address must name one of its tenant's DIDs. */
#include "sip/b2bua.h"

#include "common/log.h"
#include "sip/digest_client.h"
#include "sip/gateway_health.h"
#include "sip/session_timer.h"
#include "store/routing_store.h"
#include "store/user_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_tagarg.h>

#define MAX_EXTRA 2048 /* passed-on header lines (Diversion) */

/* Runs when the call's memory goes (calls.c release, through b2bua_abandon): the gateway slot
 * the call holds goes with it, whichever way it ended (BYE here or on another node, failure,
 * media timeout). At shutdown c->calls is NULL and Redis is gone: the slot's lease ends it. */
void gateway_plan_free(struct call *c)
{
    if (!c->plan)
        return;
    if (c->calls)
        gateway_limits_release(calls_deps(c->calls)->gateways, c->uuid);
    free(c->plan->sdp_b);
    free(c->plan->extra);
    free(c->plan);
    c->plan = NULL;
}

static void start_attempt(struct call *c);

/* ---- timers ---- */

static void attempt_timeout(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)m;
    (void)t;
    struct fork *f = (struct fork *)arg;
    struct call *c = f->call;
    log_info(c->a.call_id, "call %s: gateway %s %s; trying the next", c->uuid, f->attempt->gw.name,
             f->provisional ? "did not answer in time" : "did not respond");
    su_timer_destroy(f->timer);
    f->timer = NULL;
    if (f->orq) {
        nta_outgoing_cancel(f->orq); /* a 1xx came or not: the transaction ends either way */
        nta_outgoing_destroy(f->orq);
        f->orq = NULL;
    }
    if (!f->done) {
        f->done = 1;
        c->pending--;
    }
    gateway_fork_failed(c, f, 408);
}

static void arm(struct fork *f, int ms)
{
    const struct calls_deps *d = calls_deps(f->call->calls);
    if (f->timer)
        su_timer_destroy(f->timer);
    f->timer = su_timer_create(su_root_task(d->root), ms);
    if (f->timer)
        su_timer_set(f->timer, attempt_timeout, (su_timer_arg_t *)f);
}

void gateway_fork_progress(struct fork *f)
{
    if (f->provisional)
        return;
    f->provisional = 1;
    const struct rt_gateway *g = &f->attempt->gw;
    /* From the first 1xx on, the gateway has progress_timeout to answer. */
    arm(f, g->progress_ms < g->answer_ms ? g->progress_ms : g->answer_ms);
}

/* ---- attempts ---- */

int gateway_fork_failed(struct call *c, struct fork *f, int status)
{
    if (c->state != CALL_EARLY)
        return 1;
    int timeout = status == 408 && !f->answered;
    if (!timeout && !route_fails_over(&f->attempt->gw, status))
        return 0; /* the far end's own answer (busy, not found...): the caller gets it */
    gateway_limits_release(calls_deps(c->calls)->gateways, c->uuid);
    c->best_status = status;
    b2bua_copy(c->best_phrase, sizeof c->best_phrase,
               timeout ? "Gateway Timeout" : "Gateway Failure");
    b2bua_copy(c->gateway, sizeof c->gateway, f->attempt->gw.name);
    if (c->plan && c->plan->next < c->plan->n) {
        start_attempt(c);
        return 1;
    }
    if (c->pending == 0)
        b2bua_fail(c, status == 408 ? 408 : 503, c->best_phrase, "every gateway failed");
    return 1;
}

static void caller_id(const struct call *c, const struct rt_gateway *g, char *out, size_t len)
{
    out[0] = '\0';
    if (!strcmp(g->caller_id_mode, "pai"))
        snprintf(out, len, "P-Asserted-Identity: <sip:%s@%s>\r\n", c->caller, c->domain);
    else if (!strcmp(g->caller_id_mode, "rpid"))
        snprintf(out, len, "Remote-Party-ID: <sip:%s@%s>;party=calling;screen=yes;privacy=off\r\n",
                 c->caller, c->domain);
}

/* The INVITE of one attempt; 0 when sent. */
static int send_attempt(struct call *c, const struct rt_attempt *a)
{
    struct gw_plan *p = c->plan;
    const struct rt_gateway *g = &a->gw;
    struct fork *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->call = c;
    f->attempt = a;
    char tag[24];
    b2bua_random_tag(tag, sizeof tag);
    int v6 = strchr(g->host, ':') != NULL;
    snprintf(f->side.call_id, sizeof f->side.call_id, "%s-g%d@tandem", c->uuid, p->next);
    snprintf(f->side.local_hdr, sizeof f->side.local_hdr, "<sip:%s@%s>;tag=%s", c->caller,
             c->domain, tag);
    snprintf(f->side.remote_hdr, sizeof f->side.remote_hdr, v6 ? "<sip:%s@[%s]>" : "<sip:%s@%s>",
             a->number, g->host);
    snprintf(f->side.remote_target, sizeof f->side.remote_target,
             v6 ? "sip:%s@[%s]:%d;transport=%s" : "sip:%s@%s:%d;transport=%s", a->number, g->host,
             g->port, g->transport);
    snprintf(f->side.destination, sizeof f->side.destination,
             v6 ? "sip:[%s]:%d;transport=%s" : "sip:%s:%d;transport=%s", g->host, g->port,
             g->transport);
    f->side.media_port = c->b.media_port;
    char headers[700 + MAX_EXTRA];
    caller_id(c, g, headers, sizeof headers);
    strncat(headers, p->extra ? p->extra : "", sizeof headers - strlen(headers) - 1);
    /* with the session-timer lines (fork_invite.c) */
    if (b2bua_fork_invite(c, f, p->sdp_b, headers[0] ? headers : NULL, b2bua_on_fork_response) !=
        0) {
        log_warn(c->a.call_id, "call %s: cannot send to gateway %s", c->uuid, g->name);
        b2bua_fork_free(f);
        return -1;
    }
    f->next = c->forks;
    c->forks = f;
    c->pending++;
    b2bua_copy(c->callee_routed, sizeof c->callee_routed, f->side.remote_target);
    arm(f, g->originate_ms < g->answer_ms ? g->originate_ms : g->answer_ms);
    log_info(c->a.call_id, "call %s %s@%s -> %s: route %s, gateway %s as %s", c->uuid, c->caller,
             c->domain, c->callee, a->route, g->name, a->number);
    return 0;
}

static void skipped(struct call *c, const struct rt_attempt *a, const char *why)
{
    log_info(c->a.call_id, "call %s: gateway %s skipped: %s", c->uuid, a->gw.name, why);
    if (!c->best_status) {
        c->best_status = 503;
        b2bua_copy(c->best_phrase, sizeof c->best_phrase, "No Gateway Available");
    }
}

/* The answer to a limited gateway's slot request (gateway_limits_take). */
static void on_slot(void *arg, enum gateway_slot result)
{
    struct invite_ctx *x = arg;
    if (b2bua_resumed(x)) /* cancelled meanwhile: the call's end gave the slot back */
        return;
    struct call *c = x->call;
    free(x);
    const struct rt_attempt *a = &c->plan->attempts[c->plan->next - 1];
    if (result == GATEWAY_SLOT_FULL || result == GATEWAY_SLOT_RATE) {
        skipped(c, a, result == GATEWAY_SLOT_FULL ? "max_calls reached" : "max_cps reached");
    } else {
        if (result == GATEWAY_SLOT_UNKNOWN)
            log_warn(c->a.call_id, "call %s: gateway %s limits not checked (Redis unavailable)",
                     c->uuid, a->gw.name);
        if (send_attempt(c, a) == 0)
            return;
        gateway_limits_release(calls_deps(c->calls)->gateways, c->uuid);
    }
    start_attempt(c);
}

/* The next gateway of the plan that is up (unless all are down) and under its limits. */
static void start_attempt(struct call *c)
{
    struct gw_plan *p = c->plan;
    struct gateway_health *gh = calls_deps(c->calls)->gateways;
    while (p->next < p->n) {
        const struct rt_attempt *a = &p->attempts[p->next++];
        const struct rt_gateway *g = &a->gw;
        if (!p->all_down && gateway_health_down(gh, g->id)) {
            skipped(c, a, "down");
            continue;
        }
        if (!a->emergency && (g->max_calls > 0 || g->max_cps[0])) {
            struct invite_ctx *x = calloc(1, sizeof *x);
            if (x) {
                x->call = c;
                c->looking_up = 1; /* a CANCEL meanwhile waits for on_slot */
                if (gateway_limits_take(gh, g, c->uuid, on_slot, x) == 0)
                    return;
                c->looking_up = 0;
                free(x);
            }
            log_warn(c->a.call_id, "call %s: gateway %s limits not checked (Redis unavailable)",
                     c->uuid, g->name);
        }
        if (send_attempt(c, a) == 0)
            return;
    }
    if (c->pending == 0)
        b2bua_fail(c, c->best_status ? c->best_status : 503,
                   c->best_status ? c->best_phrase : "No Gateway Could Be Called",
                   "no gateway could be called");
}

/* A 401/407 from the gateway: the INVITE goes again once, with our answer (digest_client.c). */
int gateway_authenticate(struct call *c, struct fork *f, sip_t const *sip)
{
    const struct rt_gateway *g = &f->attempt->gw;
    char headers[2600 + MAX_EXTRA], id[700];
    if (f->auth_tried || !g->username[0] || !g->password[0] ||
        digest_client_answer(sip, g->username, g->password, "INVITE", f->side.remote_target,
                             headers, 2600) != 0)
        return 0;
    caller_id(c, g, id, sizeof id);
    strncat(headers, id, sizeof headers - strlen(headers) - 1);
    strncat(headers, c->plan->extra ? c->plan->extra : "", sizeof headers - strlen(headers) - 1);
    f->auth_tried = 1;
    nta_outgoing_t *challenged = f->orq; /* nta has ACKed the challenge */
    /* kept for a 422 after it; the session-timer lines are added by fork_invite.c */
    if (b2bua_fork_invite(c, f, c->plan->sdp_b, headers, b2bua_on_fork_response) != 0) {
        f->orq = challenged; /* the caller ends it with the fork */
        return 0;
    }
    nta_outgoing_destroy(challenged);
    return 1;
}

/* ---- outbound ---- */

/* The caller's Diversion headers (RFC 5806), to go out unchanged on every attempt; NULL when
 * there are none. Those that would not fit in MAX_EXTRA are dropped, the first ones kept. */
static char *passed_on(sip_t const *sip)
{
    char buf[MAX_EXTRA] = "";
    size_t used = 0;
    for (msg_unknown_t const *u = sip->sip_unknown; u; u = u->un_next) {
        if (!u->un_name || !u->un_value || strcasecmp(u->un_name, "Diversion") != 0)
            continue;
        int n = snprintf(buf + used, sizeof buf - used, "Diversion: %s\r\n", u->un_value);
        if (n < 0 || (size_t)n >= sizeof buf - used) {
            buf[used] = '\0';
            break;
        }
        for (char *q = buf + used + 11; q < buf + used + n - 2; q++)
            if (*q == '\r' || *q == '\n')
                *q = ' '; /* a folded value stays one header line */
        used += (size_t)n;
    }
    return used ? strdup(buf) : NULL;
}

/* The plan is known and the tenant slot held (or not needed): the attempts start; takes x. */
static void start_plan(struct invite_ctx *x)
{
    struct call *c = x->call;
    struct gw_plan *p = c->plan;
    struct gateway_health *gh = calls_deps(c->calls)->gateways;
    p->all_down = 1;
    for (int i = 0; i < p->n && p->all_down; i++)
        p->all_down = gateway_health_down(gh, p->attempts[i].gw.id);
    if (p->all_down) /* better a doomed attempt than a certain failure */
        log_info(c->a.call_id, "call %s: every gateway is down; trying them anyway", c->uuid);
    if ((p->sdp_b = b2bua_prepare_media(c)))
        start_attempt(c);
    free(x);
}

static void on_table(void *arg, const struct rt_table *t)
{
    struct invite_ctx *x = arg;
    if (b2bua_resumed(x))
        return;
    struct call *c = x->call;
    struct gw_plan *p = NULL;
    if (!t) {
        b2bua_fail(c, 503, "Routing Unavailable", "routing tables unavailable");
    } else if (!(p = calloc(1, sizeof *p))) {
        b2bua_fail(c, SIP_500_INTERNAL_SERVER_ERROR, "out of memory");
    } else if (!(p->n = route_plan(t, c->callee, p->attempts, ROUTE_PLAN_MAX))) {
        free(p);
        b2bua_fail(c, SIP_404_NOT_FOUND, "no route for the number");
    } else {
        c->plan = p;
        p->extra = passed_on(x->sip);
        /* Emergency numbers are exempt from the tenant's limits (docs/calls.md). */
        if (p->attempts[0].emergency)
            start_plan(x);
        else
            b2bua_tenant_slot(x, start_plan);
        return;
    }
    free(x);
}

void gateway_route(struct invite_ctx *x)
{
    struct call *c = x->call;
    c->looking_up = 1;
    routing_store_table(calls_deps(c->calls)->routing, c->domain, on_table, x);
}

/* ---- inbound ---- */

static void on_did(void *arg, const struct rt_did *did)
{
    struct invite_ctx *x = arg;
    if (b2bua_resumed(x))
        return;
    struct call *c = x->call;
    if (!did->ok) {
        b2bua_fail(c, 503, "Routing Unavailable", "DID lookup unavailable");
    } else if (!did->found || strcmp(did->tenant_id, c->tenant_id) != 0) {
        /* a gateway delivers only its own tenant's numbers */
        b2bua_fail(c, SIP_404_NOT_FOUND, "not a DID of the gateway's tenant");
    } else {
        b2bua_copy(c->callee, sizeof c->callee, did->extension);
        c->looking_up = 1;
        user_store_lookup(calls_deps(c->calls)->users, c->domain, c->callee, b2bua_on_callee, x);
        return;
    }
    free(x);
}

void gateway_inbound(struct invite_ctx *x, const struct rt_source *s)
{
    struct call *c = x->call;
    x->from_gateway = 1;
    b2bua_copy(c->domain, sizeof c->domain, s->domain);
    b2bua_copy(c->tenant_id, sizeof c->tenant_id, s->tenant_id);
    c->tenant_max_calls = s->tenant_max_calls;
    b2bua_copy(c->tenant_max_cps, sizeof c->tenant_max_cps, s->tenant_max_cps);
    b2bua_copy(c->gateway, sizeof c->gateway, s->name);
    log_info(c->a.call_id, "call %s from gateway %s (%s) for %s", c->uuid, s->name, s->domain,
             c->callee);
    c->looking_up = 1;
    routing_store_did(calls_deps(c->calls)->routing, c->callee, on_did, x);
}
