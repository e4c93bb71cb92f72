/* Cluster membership as the rest of the node sees it: the live members, their service addresses,
 * whether this node is quorate, and a callback when a member leaves. Two sources behind one API:
 * corosync (CPG + votequorum, cluster.membership = corosync) and, for single-host setups where
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

struct membership *membership_create(su_root_t *root, const struct tandem_config *cfg,
                                     struct redis_conn *redis, char *err, size_t errlen);
void membership_destroy(struct membership *m);
void membership_on_down(struct membership *m, membership_down_f *cb, void *arg);

/* Live member names (always including this node), valid until the next change; feed ring_owner. */
size_t membership_live(const struct membership *m, const char *const **names);
/* The live members' announcements (this node's included). */
size_t membership_members(const struct membership *m, const struct member **members);
/* 1 when this node may accept calls and claim work; always 1 in redis mode. */
int membership_quorate(const struct membership *m);
uint64_t membership_ring_id(const struct membership *m);
const struct member *membership_self(const struct membership *m);

#endif
