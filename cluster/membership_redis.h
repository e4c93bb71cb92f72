/* The Redis heartbeats under the membership (store/node_registry): with cluster.membership =
 * redis they are the live set; in both modes they remember which nodes ran, for membership_dead. */
#ifndef TANDEM_MEMBERSHIP_REDIS_H
#define TANDEM_MEMBERSHIP_REDIS_H

#include <sofia-sip/su_wait.h>

struct membership;
struct redis_conn;
struct membership_redis;

/* announcement: this node's member_encode line. is_source: report the live set to m. */
struct membership_redis *membership_redis_start(struct membership *m, su_root_t *root,
                                                struct redis_conn *redis, const char *announcement,
                                                int is_source, int dead_after_ms);
void membership_redis_stop(struct membership_redis *r);

#endif
