/* This node's hold on service addresses (VIPs, with cluster.vip_interface set). Its own address
 * is given up when it loses quorum (the majority's successor takes it and the calls on it: two
 * nodes answering for one address is the split brain to avoid), and taken back only when no
 * successor holds a claim on it, so a node that returns disturbs no recovered call. Addresses it
 * took over are given back, claim and all, once the last call on them has ended. */
#include "sip/service_address.h"

#include "common/clock.h"
#include "common/log.h"
#include "membership.h"
#include "sip/call.h"
#include "store/call_store.h"
#include "vip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 200
/* Ask who holds our claim every second while we lack our address or hold calls. */
#define OWN_CHECK_TICKS 5
#define GIVE_BACK_TICKS 10 /* look for taken-over addresses without calls every two seconds */
#define MAX_ADOPTED 16
/* An address newly held is announced again once a second this many times: a neighbour ignores a
 * gratuitous ARP within a second of its last change to that entry (Linux neigh locktime), and
 * the node that had the address may still answer for it for a moment (a flap). */
#define REANNOUNCE 5
#define REANNOUNCE_TICKS 5
/* Held addresses are announced anew when a member joins (it may be the node the address came
 * from, back from a flap and letting go of it only now) and every ten seconds regardless. */
#define REFRESH_TICKS 50

struct adopted {
    char dead[64];
    char address[64];
    int announce_left;
};

struct service_address {
    const struct tandem_config *cfg;
    struct membership *members;
    struct calls *calls;
    struct call_store *store;
    su_timer_t *tick;
    unsigned ticks;
    int quorate;     /* as last seen */
    double lost_at;  /* clock_mono() when quorum was lost; 0 while quorate or fenced */
    int own_missing; /* our address is not on the interface (fenced, or held by a successor) */
    int asking;      /* a claim-holder query is in flight */
    char told_holder[64];
    int own_announce_left;
    size_t members_seen; /* live members at the last tick */
    struct adopted adopted[MAX_ADOPTED];
    int nadopted;
};

static const char *own(const struct service_address *sa)
{
    return membership_self(sa->members)->service_address;
}

/* Only in VIP mode does a successor take this node's address; in re-INVITE mode the address
 * stays here, fenced or not, so the node keeps serving registrations and answering 503. */
static int managing(const struct service_address *sa)
{
    return sa->cfg->cluster_vip_interface[0] != 0 && strcmp(sa->cfg->cluster_failover, "vip") == 0;
}

static void drop_address(struct service_address *sa, const char *address)
{
    char err[256];
    if (vip_remove(sa->cfg->cluster_vip_interface, address, sa->cfg->cluster_vip_prefix, err,
                   sizeof err) != 0)
        log_error(NULL, "service address: %s", err);
}

/* Every address this node answers on goes: another node has them, or will. */
static void release_addresses(struct service_address *sa)
{
    if (managing(sa)) {
        drop_address(sa, own(sa));
        for (int i = 0; i < sa->nadopted; i++)
            drop_address(sa, sa->adopted[i].address);
        sa->own_missing = 1;
    }
    sa->nadopted = 0;
}

/* Quorum lost: the majority will claim our calls and addresses. */
static void fence(struct service_address *sa)
{
    int n = calls_let_go(sa->calls);
    release_addresses(sa);
    log_warn(NULL, "fenced: no quorum; %d call(s) left to the majority%s", n,
             managing(sa) ? ", service addresses released" : "");
}

/* Another node claimed this node while it was alive: the ring lost sight of it for a moment (a
 * flap under load, a partition shorter than the fence). The calls set up before the claim are
 * the claimant's now; holding on to them too would relay their media twice and write two CDRs. */
static void claimed_alive(struct service_address *sa, const char *holder, long long at_ms)
{
    int n = calls_let_go_before(sa->calls, at_ms);
    release_addresses(sa);
    if (managing(sa))
        snprintf(sa->told_holder, sizeof sa->told_holder, "%s", holder);
    if (n || managing(sa))
        log_warn(NULL,
                 "claimed by %s while alive (the others lost sight of this node): %d call(s) "
                 "left to it%s",
                 holder, n, managing(sa) ? ", service addresses released" : "");
}

static void on_holder(void *arg, const char *holder, long long at_ms, int store_down)
{
    struct service_address *sa = arg;
    sa->asking = 0;
    if (store_down || !sa->quorate)
        return;
    if (!sa->own_missing || !managing(sa)) {
        if (holder && strcmp(holder, sa->cfg->node_id) != 0 && calls_count(sa->calls) > 0)
            claimed_alive(sa, holder, at_ms);
        return;
    }
    if (holder && strcmp(holder, sa->cfg->node_id) != 0) {
        if (strcmp(sa->told_holder, holder) != 0) {
            drop_address(sa, own(sa)); /* configured at boot, maybe: two holders is split brain */
            log_warn(NULL,
                     "service address %s is held by %s (it carries calls of ours); "
                     "waiting for it to give the address back",
                     own(sa), holder);
            snprintf(sa->told_holder, sizeof sa->told_holder, "%s", holder);
        }
        return;
    }
    char err[256];
    const char *ifname = sa->cfg->cluster_vip_interface;
    if (vip_add(ifname, own(sa), sa->cfg->cluster_vip_prefix, err, sizeof err) != 0) {
        log_error(NULL, "service address: %s", err);
        return;
    }
    if (vip_announce(ifname, own(sa), 3, err, sizeof err) != 0)
        log_warn(NULL, "service address: %s", err);
    sa->own_announce_left = REANNOUNCE;
    sa->own_missing = 0;
    sa->told_holder[0] = 0;
    log_info(NULL, "service address %s is this node's again", own(sa));
}

static void give_back_idle(struct service_address *sa)
{
    for (int i = 0; i < sa->nadopted;) {
        struct adopted *a = &sa->adopted[i];
        if (calls_count_via(sa->calls, a->address) > 0) {
            i++;
            continue;
        }
        drop_address(sa, a->address);
        call_store_claim_release(sa->store, a->dead, sa->cfg->node_id);
        log_info(NULL, "service address %s of %s given back: its recovered calls have ended",
                 a->address, a->dead);
        *a = sa->adopted[--sa->nadopted];
    }
}

static void announce_once(struct service_address *sa, const char *address, int *left)
{
    char err[256];
    if (*left <= 0)
        return;
    (*left)--;
    if (vip_announce(sa->cfg->cluster_vip_interface, address, 1, err, sizeof err) != 0)
        log_debug(NULL, "service address: %s", err);
}

static void reannounce(struct service_address *sa)
{
    const char *const *live;
    size_t n = membership_live(sa->members, &live);
    int joined = n > sa->members_seen, refresh = sa->ticks % REFRESH_TICKS == 0;
    sa->members_seen = n;
    for (int i = 0; i < sa->nadopted; i++) {
        if ((joined || refresh) && !sa->adopted[i].announce_left)
            sa->adopted[i].announce_left = joined ? REANNOUNCE : 1;
        announce_once(sa, sa->adopted[i].address, &sa->adopted[i].announce_left);
    }
    if (!sa->own_missing)
        announce_once(sa, own(sa), &sa->own_announce_left);
}

static void on_tick(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)m;
    (void)t;
    struct service_address *sa = (struct service_address *)arg;
    sa->ticks++;
    int quorate = membership_quorate(sa->members);
    if (sa->quorate && !quorate)
        sa->lost_at = clock_mono();
    if (quorate)
        sa->lost_at = 0;
    else if (sa->lost_at &&
             clock_mono() - sa->lost_at >= sa->cfg->cluster_fence_after_ms / 1000.0) {
        sa->lost_at = 0;
        fence(sa);
    }
    sa->quorate = quorate;
    if (!quorate)
        return;
    int ask = managing(sa) && sa->own_missing ? 1 : calls_count(sa->calls) > 0;
    if (ask && !sa->asking && sa->ticks % OWN_CHECK_TICKS == 0) {
        sa->asking = 1;
        if (call_store_claim_holder(sa->store, sa->cfg->node_id, on_holder, sa) != 0)
            sa->asking = 0;
    }
    if (managing(sa) && sa->ticks % REANNOUNCE_TICKS == 0)
        reannounce(sa);
    if (managing(sa) && sa->ticks % GIVE_BACK_TICKS == 0)
        give_back_idle(sa);
}

struct service_address *service_address_create(su_root_t *root, const struct tandem_config *cfg,
                                               struct membership *members, struct calls *calls,
                                               struct call_store *store)
{
    struct service_address *sa = calloc(1, sizeof *sa);
    if (!sa)
        return NULL;
    *sa = (struct service_address){.cfg = cfg,
                                   .members = members,
                                   .calls = calls,
                                   .store = store,
                                   .quorate = membership_quorate(members),
                                   /* At start, a successor may hold our address still: the
                                    * first check settles it either way. */
                                   .own_missing = cfg->cluster_vip_interface[0] != 0};
    sa->tick = su_timer_create(su_root_task(root), TICK_MS);
    if (!sa->tick) {
        free(sa);
        return NULL;
    }
    sa->ticks = OWN_CHECK_TICKS - 1; /* the first tick asks */
    su_timer_set_for_ever(sa->tick, on_tick, (su_timer_arg_t *)sa);
    return sa;
}

void service_address_adopted(struct service_address *sa, const char *dead, const char *address)
{
    for (int i = 0; i < sa->nadopted; i++)
        if (!strcmp(sa->adopted[i].address, address)) {
            sa->adopted[i].announce_left = REANNOUNCE;
            return;
        }
    if (sa->nadopted == MAX_ADOPTED) {
        log_warn(NULL, "service address: too many taken over; %s will not be given back", address);
        return;
    }
    struct adopted *a = &sa->adopted[sa->nadopted++];
    snprintf(a->dead, sizeof a->dead, "%s", dead);
    snprintf(a->address, sizeof a->address, "%s", address);
    a->announce_left = REANNOUNCE;
}

void service_address_destroy(struct service_address *sa, int handing_over)
{
    if (!sa)
        return;
    if (handing_over && managing(sa)) {
        drop_address(sa, own(sa));
        for (int i = 0; i < sa->nadopted; i++)
            drop_address(sa, sa->adopted[i].address);
    }
    su_timer_destroy(sa->tick);
    free(sa);
}
