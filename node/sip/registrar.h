/* The registrar (RFC 3261 section 10.3): digest authentication against cached HA1, expiry rules,
 * and the atomic binding update in Redis. Each REGISTER is answered asynchronously. */
#ifndef TANDEM_REGISTRAR_H
#define TANDEM_REGISTRAR_H

#include <sofia-sip/nta.h>
#include <sofia-sip/sip.h>

#include "common/config.h"
#include "common/node_status.h"
#include "sip/ratelimit.h"
#include "sip/sip_server.h"

struct registrar;

struct registrar *registrar_create(const struct tandem_config *cfg, struct node_status *status,
                                   struct user_store *users, struct reg_store *regs,
                                   struct ratelimit *rl);
void registrar_destroy(struct registrar *r);

/* Takes ownership of irq: it is answered and destroyed, now or later. */
void registrar_handle(struct registrar *r, nta_incoming_t *irq, sip_t const *sip,
                      const struct sip_source *src);

#endif
