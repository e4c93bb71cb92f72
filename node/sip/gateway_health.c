/* Once a second: reload the gateway list when a NOTIFY said it changed (or every 60 s), work out
 * which gateways this node owns, ping the owned ones that are due, drive their registrations,
 * and read every gateway's up flag from Redis into a local cache. The cache costs one HMGET per
 * gateway per second per node (pipelined on the one connection) and is up to a second stale,
 * which is nothing next to the ping period; in exchange routing asks no Redis question to skip a
 * down gateway, and can tell "all down" before trying any. */
#include "sip/gateway_internal.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/strmap.h"
#include "ring.h"
#include "membership.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/su_tagarg.h>

#define TICK_MS 1000
#define RELOAD_S 60.0
#define DOWN_AFTER 2 /* consecutive failed pings */
/* nta would wait 64*T1 (32 s) for a lost OPTIONS; a gateway that takes longer than this to
 * answer one is no place to send calls, and the minimum ping period is 5 s. */
#define PING_TIMEOUT_S 5.0

int gateway_state_ttl(const struct rt_gateway_conf *g)
{
    int period = g->ping_interval > 60 ? g->ping_interval : 60;
    if (g->reg && g->reg_expires > period)
        period = g->reg_expires;
    return 2 * period;
}

void gateway_random(char *out, size_t len)
{
    unsigned char r[8] = {0};
    if (RAND_bytes(r, sizeof r) != 1) /* never in practice; a weak tag still works */
        r[0] = (unsigned char)clock_mono();
    snprintf(out, len, "%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5], r[6],
             r[7]);
}

static void entry_stop(struct gw_entry *e)
{
    if (e->ping) {
        nta_outgoing_destroy(e->ping);
        e->ping = NULL;
    }
    gateway_reg_stop(e);
}

static void entry_free(void *p)
{
    struct gw_entry *e = p;
    entry_stop(e);
    free(e);
}

nta_outgoing_t *gateway_send(struct gw_entry *e, sip_method_t method, const char *name,
                             const char *call_id, const char *from_tag, uint32_t cseq,
                             const char *from, const char *to, const char *extra,
                             nta_response_f *cb, nta_outgoing_magic_t *magic)
{
    const struct rt_gateway_conf *g = &e->conf;
    int v6 = strchr(g->host, ':') != NULL;
    char uri[300], route[320];
    snprintf(uri, sizeof uri, v6 ? "sip:[%s]:%d" : "sip:%s:%d", g->host, g->port);
    snprintf(route, sizeof route, "%s;transport=%s", uri, g->transport);
    msg_t *msg = nta_msg_create(e->gh->agent, 0);
    sip_t *sip = msg ? sip_object(msg) : NULL;
    su_home_t *home = msg ? msg_home(msg) : NULL;
    if (!sip ||
        sip_add_tl(
            msg, sip,
            SIPTAG_REQUEST(sip_request_create(home, method, name, (url_string_t *)uri, NULL)),
            SIPTAG_FROM_STR(from), SIPTAG_TO_STR(to ? to : uri), SIPTAG_CALL_ID_STR(call_id),
            SIPTAG_CSEQ(sip_cseq_create(home, cseq, method, name)), SIPTAG_MAX_FORWARDS_STR("70"),
            TAG_IF(extra, SIPTAG_HEADER_STR(extra)), TAG_END()) < 0 ||
        !sip->sip_request || !sip->sip_from) {
        if (msg)
            msg_destroy(msg);
        return NULL;
    }
    sip_from_tag(home, sip->sip_from, from_tag);
    /* nta releases the message when it cannot create the transaction */
    return nta_outgoing_mcreate(e->gh->agent, cb, magic, URL_STRING_MAKE(route), msg, TAG_END());
}

/* ---- OPTIONS ---- */

struct ping_record {
    struct gateway_health *gh;
    char id[40], name[65];
};

static void on_recorded(void *arg, int up, int changed)
{
    struct ping_record *r = arg;
    struct gw_entry *e = strmap_get(r->gh->gateways, r->id);
    if (e && up >= 0)
        e->up = up;
    if (changed)
        log_info(NULL, "gateway %s (%s) is %s", r->name, r->id, up ? "up" : "down");
    free(r);
}

static void record_ping(struct gw_entry *e, int status)
{
    struct gateway_health *gh = e->gh;
    /* Like NAT keepalives: any final answer proves the gateway there; 408 and 503 are what nta
     * reports for a timeout or a transport error. */
    int answered = status != 408 && status != 503;
    struct ping_record *r = calloc(1, sizeof *r);
    if (!r)
        return;
    r->gh = gh;
    memcpy(r->id, e->conf.id, sizeof r->id);
    memcpy(r->name, e->conf.name, sizeof r->name);
    if (gateway_store_ping(gh->store, e->conf.id, gh->cfg->node_id, answered, status, DOWN_AFTER,
                           gateway_state_ttl(&e->conf), on_recorded, r) != 0) {
        log_warn(NULL, "gateway %s: ping result not recorded (Redis unavailable)", e->conf.name);
        free(r);
    }
}

static int on_pong(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, sip_t const *sip)
{
    (void)orq;
    struct gw_entry *e = (struct gw_entry *)magic;
    int status = sip && sip->sip_status ? sip->sip_status->st_status : 408;
    if (status < 200)
        return 0;
    nta_outgoing_destroy(e->ping);
    e->ping = NULL;
    record_ping(e, status);
    return 0;
}

static void ping(struct gw_entry *e, double now)
{
    struct gateway_health *gh = e->gh;
    const struct tandem_config *cfg = gh->cfg;
    char call_id[48], tag[20], from[300];
    gateway_random(tag, sizeof tag);
    snprintf(call_id, sizeof call_id, "gwping-%s", tag);
    gateway_random(tag, sizeof tag);
    snprintf(from, sizeof from,
             strchr(cfg->sip_address, ':') ? "<sip:ping@[%s]:%d>" : "<sip:ping@%s:%d>",
             cfg->sip_address, cfg->sip_port);
    e->next_ping = now + e->conf.ping_interval;
    e->ping_sent = now;
    e->ping = gateway_send(e, SIP_METHOD_OPTIONS, call_id, tag, 1, from, NULL, NULL, on_pong,
                           (nta_outgoing_magic_t *)e);
    if (!e->ping) {
        log_debug(NULL, "gateway %s: cannot send OPTIONS", e->conf.name);
        record_ping(e, 503);
    }
}

/* ---- the state every node reads ---- */

struct up_read {
    struct gateway_health *gh;
    char id[40];
};

static void on_up(void *arg, int up)
{
    struct up_read *r = arg;
    struct gw_entry *e = strmap_get(r->gh->gateways, r->id);
    if (e) {
        e->reading = 0;
        e->up = up; /* unknown when Redis could not be asked: no gateway is skipped then */
    }
    free(r);
}

static void read_up(struct gw_entry *e)
{
    struct up_read *r = malloc(sizeof *r);
    if (!r)
        return;
    r->gh = e->gh;
    memcpy(r->id, e->conf.id, sizeof r->id);
    if (gateway_store_read_up(e->gh->store, e->conf.id, on_up, r) == 0)
        e->reading = 1;
    else
        free(r);
}

int gateway_health_down(const struct gateway_health *gh, const char *id)
{
    const struct gw_entry *e = gh ? strmap_get(gh->gateways, id) : NULL;
    return e && e->up == 0;
}

/* ---- the list ---- */

static int registration_changed(const struct rt_gateway_conf *a, const struct rt_gateway_conf *b)
{
    return a->reg != b->reg || a->reg_expires != b->reg_expires || a->port != b->port ||
           strcmp(a->host, b->host) || strcmp(a->transport, b->transport) ||
           strcmp(a->username, b->username) || strcmp(a->password, b->password);
}

static int drop_unseen(const char *key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    struct gw_entry *e = value;
    if (e->seen)
        return 0;
    log_info(NULL, "gateway %s (%s) removed or disabled", e->conf.name, e->conf.id);
    entry_free(e);
    return 1;
}

static int unsee(const char *key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    ((struct gw_entry *)value)->seen = 0;
    return 0;
}

static void on_list(void *arg, const struct rt_gateway_conf *gws, int n)
{
    struct gateway_health *gh = arg;
    gh->loading = 0;
    if (n < 0) {
        gh->dirty = 1; /* try again next second */
        return;
    }
    gh->loaded_at = clock_mono();
    strmap_sweep(gh->gateways, unsee, NULL);
    for (int i = 0; i < n; i++) {
        struct gw_entry *e = strmap_get(gh->gateways, gws[i].id);
        if (!e) {
            e = calloc(1, sizeof *e);
            if (!e || strmap_put(gh->gateways, gws[i].id, e, NULL) != 0) {
                free(e);
                gh->dirty = 1;
                continue;
            }
            e->gh = gh;
            e->up = -1;
        } else if (registration_changed(&e->conf, &gws[i])) {
            gateway_reg_stop(e);
            memset(&e->reg, 0, sizeof e->reg); /* a fresh registration, at once */
        }
        if (e->conf.ping_interval != gws[i].ping_interval)
            e->next_ping = 0;
        e->conf = gws[i];
        e->seen = 1;
    }
    strmap_sweep(gh->gateways, drop_unseen, NULL);
}

static void on_changed(void *arg)
{
    ((struct gateway_health *)arg)->dirty = 1;
}

/* ---- the tick ---- */

struct tick_ctx {
    struct gateway_health *gh;
    const char *const *live;
    size_t nlive;
    double now;
};

static int visit(const char *key, void *value, void *arg)
{
    (void)key;
    struct tick_ctx *t = arg;
    struct gw_entry *e = value;
    struct gateway_health *gh = t->gh;
    char ring_key[64];
    snprintf(ring_key, sizeof ring_key, "gateway/%s", e->conf.id);
    int owner = ring_owner(t->live, t->nlive, ring_key);
    int mine = owner >= 0 && strcmp(t->live[owner], gh->cfg->node_id) == 0;
    if (mine != e->owned) {
        log_info(NULL, "gateway %s (%s): %s", e->conf.name, e->conf.id,
                 mine ? "owned by this node now" : "owned by another node now");
        entry_stop(e);
        memset(&e->reg, 0, sizeof e->reg);
        e->next_ping = 0;
        e->owned = mine;
    }
    if (e->owned) {
        if (e->ping && t->now - e->ping_sent > PING_TIMEOUT_S) {
            nta_outgoing_destroy(e->ping);
            e->ping = NULL;
            record_ping(e, 408);
        }
        if (e->conf.ping_interval > 0 && !e->ping && t->now >= e->next_ping)
            ping(e, t->now);
        if (e->conf.reg)
            gateway_reg_tick(e, t->now);
    }
    if (!e->reading)
        read_up(e);
    return 0;
}

static void tick(su_root_magic_t *m, su_timer_t *timer, su_timer_arg_t *arg)
{
    (void)m;
    (void)timer;
    struct gateway_health *gh = (struct gateway_health *)arg;
    double now = clock_mono();
    if ((gh->dirty || now - gh->loaded_at >= RELOAD_S) && !gh->loading) {
        gh->dirty = 0;
        gh->loading = 1;
        routing_store_gateways(gh->routing, on_list, gh);
    }
    struct tick_ctx t = {.gh = gh, .now = now};
    /* Without quorum this node owns no gateway: the majority's members share them. */
    t.nlive = membership_quorate(gh->nodes) ? membership_live(gh->nodes, &t.live) : 0;
    strmap_sweep(gh->gateways, visit, &t);
    gateway_limits_tick(gh, now);
}

struct gateway_health *gateway_health_create(su_root_t *root, nta_agent_t *agent,
                                             const struct tandem_config *cfg,
                                             struct routing_store *routing,
                                             struct gateway_store *store, struct membership *nodes)
{
    struct gateway_health *gh = calloc(1, sizeof *gh);
    if (!gh)
        return NULL;
    gh->root = root;
    gh->agent = agent;
    gh->cfg = cfg;
    gh->routing = routing;
    gh->store = store;
    gh->nodes = nodes;
    gh->dirty = 1;
    gh->renewed_at = clock_mono();
    gh->gateways = strmap_create();
    gh->slots = strmap_create();
    gh->tslots = strmap_create();
    gh->tick = su_timer_create(su_root_task(root), TICK_MS);
    if (!gh->gateways || !gh->slots || !gh->tslots || !gh->tick) {
        gateway_health_destroy(gh);
        return NULL;
    }
    su_timer_set_for_ever(gh->tick, tick, (su_timer_arg_t *)gh);
    routing_store_watch_gateways(routing, on_changed, gh);
    return gh;
}

void gateway_health_destroy(struct gateway_health *gh)
{
    if (!gh)
        return;
    if (gh->routing)
        routing_store_watch_gateways(gh->routing, NULL, NULL);
    if (gh->tick)
        su_timer_destroy(gh->tick);
    strmap_destroy(gh->gateways, entry_free);
    gateway_limits_clear(gh);
    strmap_destroy(gh->slots, NULL);
    strmap_destroy(gh->tslots, NULL);
    free(gh);
}
