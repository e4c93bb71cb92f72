/* NAT keepalives: every binding this node took is sent an OPTIONS through the address and
 * socket it registered from, every nat.keepalive_interval seconds; after
 * nat.keepalive_failures unanswered pings in a row the binding is removed. The bindings of a
 * dead node are pinged by exactly one survivor: its rendezvous successor. */
#ifndef TANDEM_KEEPALIVE_H
#define TANDEM_KEEPALIVE_H

#include <sofia-sip/nta.h>

#include "common/config.h"

struct ka_store;
struct membership;
struct keepalive;

/* NULL when nat.keepalive_interval is 0 (disabled) or on allocation failure. */
struct keepalive *keepalive_create(su_root_t *root, nta_agent_t *agent,
                                   const struct tandem_config *cfg, struct ka_store *store,
                                   struct membership *nodes);
void keepalive_destroy(struct keepalive *ka);

#endif
