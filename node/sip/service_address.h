/* Service addresses (VIPs) held by this node: its own, given up on quorum loss and taken back
 * only when no successor holds it; those taken over, given back when their calls have ended. */
#ifndef TANDEM_SERVICE_ADDRESS_H
#define TANDEM_SERVICE_ADDRESS_H

#include <sofia-sip/su_wait.h>

#include "common/config.h"

struct membership;
struct calls;
struct call_store;
struct service_address;

/* Watches quorum every 200 ms from now on. Without cluster.vip_interface it only fences calls
 * (calls_let_go) on quorum loss and moves no address. */
struct service_address *service_address_create(su_root_t *root, const struct tandem_config *cfg,
                                               struct membership *members, struct calls *calls,
                                               struct call_store *store);
/* An address taken over from dead (failover.c): given back once no call uses it. */
void service_address_adopted(struct service_address *sa, const char *dead, const char *address);
/* handing_over: the node stops with a successor ready, so its addresses go now. */
void service_address_destroy(struct service_address *sa, int handing_over);

#endif
