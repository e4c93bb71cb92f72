/* Cluster membership as the rest of the node sees it: the live members, their service addresses,
 * whether this node is quorate, and a callback when a member leaves. Two sources behind one API:
 * corosync (CPG + quorum, cluster.membership = corosync) and, for single-host setups where
 * corosync cannot form a ring, the Redis heartbeats of store/node_registry (= redis). */
#ifndef TANDEM_MEMBERSHIP_H
#define TANDEM_MEMBERSHIP_H

#include <stddef.h>
#include <stdint.h>

#include <sofia-sip/su_wait.h>

struct redis_conn;
struct tandem_config;
struct membership;

/* What a member announces about itself (corosync: multicast in the CPG group on every
 * configuration change; redis: stored next to its heartbeat). */
struct member {
    char name[64];            /* node.id */
    uint32_t nodeid;          /* corosync node id; 0 in redis mode */
    char service_address[64]; /* the address its SIP and RTP use (a VIP in a cluster) */
    int sip_port;
    char api_url[128];
    char role[16]; /* "switch" (TDM gateways will say "gateway") */
};

/* Called on the signalling loop after a member has left the live set (NODEDOWN, or a heartbeat
 * older than the dead time). ring_id increases with every membership change: use it as the
 * fencing token when claiming the member's work. */
typedef void membership_down_f(void *arg, const struct member *gone, uint64_t ring_id);

/* NULL with err when the source cannot be used (corosync not running, allocation). */
struct membership *membership_create(su_root_t *root, const struct tandem_config *cfg,
                                     struct redis_conn *redis, char *err, size_t errlen);
void membership_destroy(struct membership *m);
/* Several callbacks may be registered (up to MEMBERSHIP_MAX_DOWN); each is called in order.
 * cb NULL removes every callback registered with arg. */
#define MEMBERSHIP_MAX_DOWN 8
void membership_on_down(struct membership *m, membership_down_f *cb, void *arg);

/* Live member names (always including this node), valid until the next change; feed ring_owner. */
size_t membership_live(const struct membership *m, const char *const **names);
/* The live members' announcements (this node's included). */
size_t membership_members(const struct membership *m, const struct member **members);
/* 1 when this node may accept calls and claim work; always 1 in redis mode. */
int membership_quorate(const struct membership *m);
uint64_t membership_ring_id(const struct membership *m);
/* 1 once the quorum verdict for the view of ring_id (a departure's), or for a later one, has
 * arrived: membership_quorate() then speaks for that view. Always 0 in redis mode, whose
 * verdicts name no view (wait a moment instead). */
int membership_quorum_settled(const struct membership *m, uint64_t ring_id);
const struct member *membership_self(const struct membership *m);
/* "redis" or "corosync". */
const char *membership_mode(const struct membership *m);
/* Names of nodes known to have run (heartbeats in Redis, kept a day) that are not live now: a
 * dead node's leftover duties (NAT keepalives of its bindings) go to its successor. Valid until
 * the next change. */
size_t membership_dead(const struct membership *m, const char *const **names);

/* A copy of the membership for other threads (the REST API), taken under a lock; the loop
 * publishes one on every change. Free with membership_view_free. */
struct membership_view {
    struct member *members; /* self first, then by name */
    size_t n;
    int quorate;
    uint64_t ring_id;
    char mode[16];
};
int membership_view_get(const struct membership *m, struct membership_view *out);
void membership_view_free(struct membership_view *v);

/* The announcement as one line of text (tab-separated fields, "tandem1" first), so it reads the
 * same on every architecture; used in CPG messages and in Redis. -1 when it does not fit. */
int member_encode(const struct member *mb, char *out, size_t len);
int member_decode(const char *text, struct member *mb);

#endif
