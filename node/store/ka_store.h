/* NAT keepalive bookkeeping in Redis: which bindings this node must ping now (each binding is
 * pinged by the node that holds its socket), and removal of bindings that stopped answering. */
#ifndef TANDEM_KA_STORE_H
#define TANDEM_KA_STORE_H

#include <stddef.h>

#include "store/redis_conn.h"

struct ka_target {
    const char *member; /* keepalive set member: identifies the binding */
    const char *domain, *user, *field;
    const char *aor, *contact, *received, *transport;
    long long registered_at;
};

/* targets is NULL (n = 0) when Redis could not be asked; valid only during the call. */
typedef void ka_due_f(void *arg, const struct ka_target *targets, size_t n);

struct ka_store;

struct ka_store *ka_store_create(struct redis_conn *redis);
void ka_store_destroy(struct ka_store *ks);

/* Up to limit bindings of node's set due now; rescheduled interval seconds later. node is this
 * node, or a dead one whose bindings this node has taken over. -1: not sent. */
int ka_store_due(struct ka_store *ks, const char *node, int interval, int limit, ka_due_f *cb,
                 void *arg);

/* Removes the binding unless it was refreshed since it was pinged. -1: not sent. */
int ka_store_remove(struct ka_store *ks, const char *node, const struct ka_target *t);

#endif
