/* Which nodes are alive, from heartbeats in Redis (sorted set tandem:nodes): each node writes
 * its own every second and reads everyone's. An interim source of membership until corosync
 * (cluster/) provides it; both feed the same rendezvous ring. */
#ifndef TANDEM_NODE_REGISTRY_H
#define TANDEM_NODE_REGISTRY_H

#include <stddef.h>

#include "store/redis_conn.h"

struct node_registry;

struct node_registry *node_registry_create(su_root_t *root, struct redis_conn *redis,
                                           const char *self, int dead_after_ms);
void node_registry_destroy(struct node_registry *nr);

/* The last snapshot read. Live always includes this node; dead lists nodes whose heartbeat is
 * older than dead_after_ms. The arrays stay valid until the next snapshot (the next second). */
size_t node_registry_live(const struct node_registry *nr, const char *const **names);
size_t node_registry_dead(const struct node_registry *nr, const char *const **names);

#endif
