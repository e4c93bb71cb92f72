/* Extra SIP listening addresses: a dead node's service address (VIP) taken over by this node,
 * and the transport a dialog's requests must leave from so peers see the address they know. */
#ifndef TANDEM_SIP_TPORTS_H
#define TANDEM_SIP_TPORTS_H

#include <stddef.h>

#include <sofia-sip/nta.h>
#include <sofia-sip/tport.h>

#include "common/config.h"

/* The ident of the node's own transports. Every transport has one: sofia compares idents with
 * strcmp when a request names one, so a transport without an ident would crash that search. */
#define SIP_TPORT_IDENT "node"

/* Listens on address:port over the node's transports (UDP and/or TCP, as configured), unless
 * it already does. The address must be local by now (vip_add). 0, or -1 with err. */
int sip_tports_listen(nta_agent_t *agent, const struct tandem_config *cfg, const char *address,
                      int port, char *err, size_t errlen);

/* The primary transport of protocol proto ("udp", "tcp") bound to address:port, or NULL. Borrowed
 * from the agent. */
tport_t *sip_tports_find(nta_agent_t *agent, const char *address, int port, const char *proto);

#endif
