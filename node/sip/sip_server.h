/* The node's SIP front door: the nta agent with its UDP/TCP transports, one default leg that
 * receives every request, flood protection, and dispatch by method to the registrar and others. */
#ifndef TANDEM_SIP_SERVER_H
#define TANDEM_SIP_SERVER_H

#include <sofia-sip/su_wait.h>

#include "common/config.h"
#include "common/node_status.h"

struct user_store;
struct reg_store;
struct ka_store;
struct membership;
struct call_store;
struct routing_store;
struct gateway_store;
struct media_engine;
struct cdr_writer;
struct sip_server;
struct calls;

/* The option tags this node supports (Supported on INVITEs and OPTIONS answers); a Require
 * naming any other gets 420. */
#define SIP_SUPPORTED "100rel, timer, path"

/* Where a request came from and which of our sockets took it. */
struct sip_source {
    char ip[64];
    int port;
    char transport[8]; /* "udp", "tcp" */
    char socket[96];   /* our "ip:port" that received it */
    char received[96]; /* "ip:port" of the sender, as RFC 3581 records it */
};

/* The stores and engines the SIP side works with; all must outlive the server. */
struct sip_server_deps {
    struct user_store *users;
    struct reg_store *regs;
    struct ka_store *kas;
    struct membership *nodes; /* live members and quorum */
    struct call_store *calls;
    struct media_engine *media;
    struct cdr_writer *cdrs; /* may be NULL */
    struct routing_store *routing;
    struct gateway_store *gateways;
};

struct sip_server *sip_server_create(su_root_t *root, const struct tandem_config *cfg,
                                     struct node_status *status, const struct sip_server_deps *deps,
                                     char *err, size_t errlen);
void sip_server_destroy(struct sip_server *s);

/* The call table, for orders from other threads (calls_originate through a mailbox). */
struct calls *sip_server_calls(struct sip_server *s);

#endif
