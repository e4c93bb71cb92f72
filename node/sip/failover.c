/* A member left: if this node is its successor (rendezvous hash of the dead node's name over
 * the survivors) and quorate, it claims the dead node's calls in Redis with the ring id as the
 * fencing token, takes over its service address (VIP mode) and rebuilds the calls here. */
#include "sip/failover.h"

#include "common/clock.h"
#include "common/log.h"
#include "membership.h"
#include "ring.h"
#include "sip/call.h"
#include "sip/call_recover.h"
#include "sip/service_address.h"
#include "sip/sip_tports.h"
#include "store/call_store.h"
#include "vip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLAIM_RETRY_MS 500
/* corosync reports a member gone (CPG) around when the quorum service says whether this node
 * is still quorate in the new ring; a node cut off from the majority sees everyone leave at
 * once. The claim waits for the quorum verdict for the departure's ring (it names the ring),
 * looking every CLAIM_POLL_MS, and at most CLAIM_SETTLE_MS (a source without such verdicts,
 * redis, always waits that long); then it asks again: still quorate, the member still gone,
 * this node still its successor. */
#define CLAIM_POLL_MS 2
#define CLAIM_SETTLE_MS 100
#define CLAIM_TRIES 20 /* Redis may be failing over too: keep trying for ~10 s */
#define GARP_COUNT 3
/* Dead members are looked at this often even without a membership change: one that died
 * before the others saw it join leaves no down event behind, only its calls. */
#define SWEEP_MS 5000

struct failover {
    su_root_t *root;
    const struct tandem_config *cfg;
    struct membership *members;
    struct calls *calls;
    nta_agent_t *agent;
    struct call_store *store;
    struct failover_stats stats;
    struct claim *claims; /* under way: waiting for Redis or for a retry */
    struct service_address *addresses;
    su_timer_t *sweep;
};

struct claim {
    struct failover *fo; /* NULL once the failover is destroyed while Redis still has it */
    struct claim *next;
    int in_flight;
    int sweep; /* a member that left before: claimed again in case its successor died too */
    struct member gone;
    uint64_t ring_id;
    int tries;
    double started;
    su_timer_t *retry;
};

/* Makes address this node's: on the interface (when configured) and under SIP. */
static int take_address(struct failover *fo, const char *dead, const char *address, int sip_port)
{
    char err[256];
    const char *ifname = fo->cfg->cluster_vip_interface;
    if (ifname[0]) {
        if (vip_add(ifname, address, fo->cfg->cluster_vip_prefix, err, sizeof err) != 0) {
            log_error(NULL, "failover: %s", err);
            return -1;
        }
        if (vip_announce(ifname, address, GARP_COUNT, err, sizeof err) != 0)
            log_warn(NULL, "failover: %s", err); /* neighbours learn it from our traffic too */
        if (fo->addresses)
            service_address_adopted(fo->addresses, dead, address);
    }
    if (sip_tports_listen(fo->agent, fo->cfg, address, sip_port, err, sizeof err) != 0) {
        log_error(NULL, "failover: %s", err);
        return -1;
    }
    return 0;
}

static void claim_free(struct claim *cl)
{
    if (cl->fo)
        for (struct claim **p = &cl->fo->claims; *p; p = &(*p)->next)
            if (*p == cl) {
                *p = cl->next;
                break;
            }
    if (cl->retry)
        su_timer_destroy(cl->retry);
    free(cl);
}

static void send_claim(struct claim *cl);

static void retry_claim(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)m;
    (void)t;
    send_claim((struct claim *)arg);
}

/* Until the quorum verdict for the departure's ring is in, or the settle time is over. */
static void settle_claim(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)m;
    struct claim *cl = (struct claim *)arg;
    if (!membership_quorum_settled(cl->fo->members, cl->ring_id) &&
        (clock_mono() - cl->started) * 1000 < CLAIM_SETTLE_MS &&
        su_timer_set_interval(t, settle_claim, arg, CLAIM_POLL_MS) == 0)
        return;
    send_claim(cl);
}

static void schedule_retry(struct claim *cl)
{
    if (++cl->tries >= CLAIM_TRIES || !cl->retry ||
        su_timer_set(cl->retry, retry_claim, (su_timer_arg_t *)cl) != 0) {
        log_error(NULL, "failover: gave up claiming %s: Redis unavailable", cl->gone.name);
        claim_free(cl);
    }
}

static void on_claimed(void *arg, int outcome, json_t *records)
{
    struct claim *cl = arg;
    struct failover *fo = cl->fo;
    cl->in_flight = 0;
    if (!fo) {
        claim_free(cl);
        return;
    }
    if (outcome < 0) {
        log_warn(NULL, "failover: cannot claim %s yet: Redis unavailable", cl->gone.name);
        schedule_retry(cl);
        return;
    }
    if (outcome == 3) {
        log_debug(NULL, "failover: %s is ours already, nothing new left", cl->gone.name);
        claim_free(cl);
        return;
    }
    if (outcome == 0 || outcome == 2) {
        if (outcome == 0 || !cl->sweep)
            log_warn(NULL, "failover: %s is claimed by another node: leaving it", cl->gone.name);
        else
            log_debug(NULL, "failover: %s was taken over before", cl->gone.name);
        claim_free(cl);
        return;
    }
    if (cl->sweep && json_array_size(records) == 0) {
        log_debug(NULL, "failover: nothing left of %s", cl->gone.name);
        /* Nothing was left: hold no claim that would keep a returning node from its address. */
        call_store_claim_release(fo->store, cl->gone.name, fo->cfg->node_id);
        claim_free(cl);
        return;
    }
    int reinvite = strcmp(fo->cfg->cluster_failover, "reinvite") == 0;
    double claimed = clock_mono();
    if (!reinvite) {
        /* Its own address, and any it had itself taken over (calls recovered before); a
         * member that left before is known only by its calls' addresses. */
        if (cl->gone.service_address[0])
            take_address(fo, cl->gone.name, cl->gone.service_address, cl->gone.sip_port);
        size_t i;
        json_t *r;
        json_array_foreach(records, i, r)
        {
            json_t *a = json_object_get(r, "a");
            const char *ip = json_string_value(json_object_get(a, "via"));
            int port = (int)json_integer_value(json_object_get(a, "via_port"));
            if (!ip || !ip[0]) {
                ip = json_string_value(json_object_get(r, "media_ip"));
                port = (int)json_integer_value(json_object_get(r, "sip_port"));
                if (!port)
                    port = cl->gone.sip_port;
            }
            if (ip && ip[0] && strcmp(ip, cl->gone.service_address) &&
                strcmp(ip, fo->cfg->sip_address))
                take_address(fo, cl->gone.name, ip, port);
        }
    }
    double moved = clock_mono();
    struct call_recovery how = {.dead = cl->gone.name,
                                .address = cl->gone.service_address,
                                .sip_port = cl->gone.sip_port,
                                .reinvite = reinvite};
    int n = calls_recover(fo->calls, records, &how);
    double done = clock_mono();
    fo->stats.failovers++;
    fo->stats.calls_recovered += (unsigned long long)n;
    log_info(NULL,
             "failover: took over %s (ring %llu, %s mode): %d calls; claim %.0f ms, address %.0f "
             "ms, calls restored %.0f ms after the member left",
             cl->gone.name, (unsigned long long)cl->ring_id, reinvite ? "re-INVITE" : "VIP", n,
             (claimed - cl->started) * 1000, (moved - cl->started) * 1000,
             (done - cl->started) * 1000);
    claim_free(cl);
}

/* The successor of name among the live members is this node. */
static int succeeds(struct failover *fo, const char *name)
{
    const char *const *live;
    size_t n = membership_live(fo->members, &live);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(live[i], name))
            return 0; /* it is back (a flap): nothing to take over */
    int owner = ring_owner(live, n, name);
    return owner >= 0 && strcmp(live[owner], fo->cfg->node_id) == 0;
}

static void send_claim(struct claim *cl)
{
    struct failover *fo = cl->fo;
    if (!membership_quorate(fo->members)) {
        log_warn(NULL, "failover: no quorum: not claiming %s", cl->gone.name);
        claim_free(cl);
        return;
    }
    if (!succeeds(fo, cl->gone.name)) {
        log_info(NULL, "failover: %s is back or has another successor now: not claiming it",
                 cl->gone.name);
        claim_free(cl);
        return;
    }
    cl->in_flight = 1;
    if (call_store_claim(fo->store, cl->gone.name, fo->cfg->node_id, cl->ring_id, clock_wall_ms(),
                         on_claimed, cl) != 0) {
        cl->in_flight = 0;
        log_warn(NULL, "failover: cannot claim %s yet: Redis unavailable", cl->gone.name);
        schedule_retry(cl);
    }
}

static void start_claim(struct failover *fo, const struct member *gone, uint64_t ring_id, int sweep)
{
    struct claim *cl = calloc(1, sizeof *cl);
    if (!cl) {
        log_error(NULL, "failover: out of memory claiming %s", gone->name);
        return;
    }
    cl->fo = fo;
    cl->gone = *gone;
    cl->ring_id = ring_id;
    cl->sweep = sweep;
    cl->started = clock_mono();
    cl->retry = su_timer_create(su_root_task(fo->root), CLAIM_RETRY_MS);
    cl->next = fo->claims;
    fo->claims = cl;
    if (membership_quorum_settled(fo->members, ring_id) || !cl->retry ||
        su_timer_set_interval(cl->retry, settle_claim, (su_timer_arg_t *)cl, CLAIM_POLL_MS) != 0)
        send_claim(cl);
}

static void sweep_dead(struct failover *fo, const char *skip, uint64_t ring_id);

static void on_down(void *arg, const struct member *gone, uint64_t ring_id)
{
    struct failover *fo = arg;
    if (!strcmp(gone->name, fo->cfg->node_id))
        return;
    if (!membership_quorate(fo->members)) {
        log_warn(NULL, "failover: %s left but this node has no quorum: claiming nothing",
                 gone->name);
        return;
    }
    if (!strcmp(fo->cfg->cluster_failover, "off")) {
        log_info(NULL, "failover: %s left; cluster.failover is off", gone->name);
        return;
    }
    const char *const *live;
    size_t n = membership_live(fo->members, &live);
    int owner = ring_owner(live, n, gone->name);
    if (owner >= 0 && strcmp(live[owner], fo->cfg->node_id) == 0) {
        log_info(NULL, "failover: %s left (ring %llu); this node is its successor", gone->name,
                 (unsigned long long)ring_id);
        start_claim(fo, gone, ring_id, 0);
    } else {
        log_info(NULL, "failover: %s left; its successor is %s", gone->name,
                 owner < 0 ? "nobody" : live[owner]);
    }
    sweep_dead(fo, gone->name, ring_id);
}

static int claiming(const struct failover *fo, const char *name)
{
    for (const struct claim *cl = fo->claims; cl; cl = cl->next)
        if (!strcmp(cl->gone.name, name))
            return 1;
    return 0;
}

/* Members that left before: if the successor of one died too before it claimed (two nodes
 * dying close together), or nobody saw it join, its calls still wait in its set. Claiming them
 * again is cheap: the script takes nothing from a member another node has emptied. */
static void sweep_dead(struct failover *fo, const char *skip, uint64_t ring_id)
{
    const char *const *live;
    size_t n = membership_live(fo->members, &live);
    const char *const *dead;
    size_t nd = membership_dead(fo->members, &dead);
    for (size_t i = 0; i < nd; i++) {
        if ((skip && !strcmp(dead[i], skip)) || !strcmp(dead[i], fo->cfg->node_id) ||
            claiming(fo, dead[i]))
            continue;
        int owner = ring_owner(live, n, dead[i]);
        if (owner < 0 || strcmp(live[owner], fo->cfg->node_id) != 0)
            continue;
        log_debug(NULL, "failover: looking again at %s, which left before", dead[i]);
        struct member earlier = {.sip_port = fo->cfg->sip_port};
        snprintf(earlier.name, sizeof earlier.name, "%s", dead[i]);
        start_claim(fo, &earlier, ring_id, 1);
    }
}

static void on_sweep(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)m;
    (void)t;
    struct failover *fo = (struct failover *)arg;
    if (membership_quorate(fo->members) && strcmp(fo->cfg->cluster_failover, "off") != 0)
        sweep_dead(fo, NULL, membership_ring_id(fo->members));
}

struct failover *failover_create(su_root_t *root, const struct tandem_config *cfg,
                                 struct membership *members, struct calls *calls,
                                 nta_agent_t *agent, struct call_store *store,
                                 struct service_address *addresses)
{
    struct failover *fo = calloc(1, sizeof *fo);
    if (!fo)
        return NULL;
    *fo = (struct failover){.root = root,
                            .cfg = cfg,
                            .members = members,
                            .calls = calls,
                            .agent = agent,
                            .store = store,
                            .addresses = addresses};
    fo->sweep = su_timer_create(su_root_task(root), SWEEP_MS);
    if (!fo->sweep) {
        free(fo);
        return NULL;
    }
    su_timer_set_for_ever(fo->sweep, on_sweep, (su_timer_arg_t *)fo);
    membership_on_down(members, on_down, fo);
    return fo;
}

void failover_destroy(struct failover *fo)
{
    if (!fo)
        return;
    membership_on_down(fo->members, NULL, fo);
    su_timer_destroy(fo->sweep);
    while (fo->claims) {
        struct claim *cl = fo->claims;
        fo->claims = cl->next;
        cl->fo = NULL;
        if (cl->retry)
            su_timer_destroy(cl->retry);
        cl->retry = NULL;
        if (!cl->in_flight) /* else its Redis callback frees it */
            free(cl);
    }
    free(fo);
}

void failover_stats(const struct failover *fo, struct failover_stats *out)
{
    *out = fo->stats;
}
