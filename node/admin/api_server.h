/* tandemd's REST admin API (libmicrohttpd + jansson): the whole public interface.
 * Serves /v1 on api.address:api.port from a small pool of threads, each with its own store
 * connections; routes and payloads are in docs/api/openapi.yaml. */
#ifndef TANDEM_API_SERVER_H
#define TANDEM_API_SERVER_H

#include <stddef.h>

struct tandem_config;
struct node_status;
struct api_server;

struct mailbox;
struct membership;

/* Starts listening. cfg and status must outlive the server. NULL with err (e.g. port busy).
 * orders: where requests for the signalling loop go (originate); may be NULL. cluster: the
 * membership GET /v1/cluster shows and originate checks for quorum; may be NULL. */
struct api_server *api_server_start(const struct tandem_config *cfg, struct node_status *status,
                                    struct mailbox *orders, const struct membership *cluster,
                                    char *err, size_t errlen);

/* Stops the threads, closes their connections and frees the server. NULL is a no-op. */
void api_server_stop(struct api_server *server);

#endif
