/* Which nodes are alive, from heartbeats in Redis (sorted set tandem:nodes): each node writes
 * its own every second and reads everyone's, with each node's announcement (hash
 * tandem:node_info, an opaque string cluster/membership encodes). The membership source of
 * cluster.membership = redis, and in both modes the memory of which nodes ever ran. */
#ifndef TANDEM_NODE_REGISTRY_H
#define TANDEM_NODE_REGISTRY_H

#include <stddef.h>

#include "store/redis_conn.h"

struct node_registry;

/* announcement: what this node publishes about itself (copied); may be NULL. */
struct node_registry *node_registry_create(su_root_t *root, struct redis_conn *redis,
                                           const char *self, const char *announcement,
                                           int dead_after_ms);
void node_registry_destroy(struct node_registry *nr);

/* The last snapshot read. Live always includes this node; dead lists nodes whose heartbeat is
 * older than dead_after_ms. The arrays stay valid until the next snapshot (the next second). */
size_t node_registry_live(const struct node_registry *nr, const char *const **names);
size_t node_registry_dead(const struct node_registry *nr, const char *const **names);
/* The announcement a node published (at the last read), or NULL when none is known. */
const char *node_registry_announcement(const struct node_registry *nr, const char *name);
/* 1 once a snapshot has been read from Redis (until then live holds only this node). */
int node_registry_ready(const struct node_registry *nr);

#endif
