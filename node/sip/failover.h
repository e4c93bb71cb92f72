/* Call failover: when a member leaves, its successor claims and rebuilds its calls here
 * (failover.c, DESIGN 4). Everything runs on the signalling loop. */
#ifndef TANDEM_FAILOVER_H
#define TANDEM_FAILOVER_H

#include <sofia-sip/nta.h>

#include "common/config.h"

struct membership;
struct calls;
struct call_store;
struct failover;

struct failover_stats {
    unsigned long long failovers;       /* dead members this node took over */
    unsigned long long calls_recovered; /* call records claimed from them */
};

/* Registers for the membership's down events; nothing happens until a member leaves. */
struct service_address;
/* addresses: told of every address taken over (may be NULL). */
struct failover *failover_create(su_root_t *root, const struct tandem_config *cfg,
                                 struct membership *members, struct calls *calls,
                                 nta_agent_t *agent, struct call_store *store,
                                 struct service_address *addresses);
/* A claim Redis is still answering is freed by its callback, which then does nothing. */
void failover_destroy(struct failover *fo);
void failover_stats(const struct failover *fo, struct failover_stats *out);

#endif
