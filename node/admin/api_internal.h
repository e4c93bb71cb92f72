/* What the API's pieces share: a call (one authenticated request with its thread's store
 * handles), a reply (status + JSON), the reply helpers and the route handlers. */
#ifndef TANDEM_API_INTERNAL_H
#define TANDEM_API_INTERNAL_H

#include "admin/api_validate.h"
#include "admin/api_validate_routing.h"
#include "store/admin_db.h"
#include "store/admin_db_routing.h"

#include <jansson.h>

struct tandem_config;
struct node_status;
struct reg_query;
struct MHD_Connection;
struct mailbox;
struct membership;

enum api_method { API_GET, API_POST, API_PATCH, API_DELETE, API_OTHER };

struct api_reply {
    int status;
    json_t *body;   /* owned; NULL for no body (204) */
    char allow[64]; /* Allow header for 405, else "" */
};

struct api_call {
    const struct tandem_config *cfg;
    struct node_status *status;
    struct admin_db *db;
    struct reg_query *rq;
    enum api_method method;
    struct admin_db_key key;          /* the caller; key.tenant_id "" for a superadmin */
    char params[2][37];               /* path ids, lowercased: tenant id, then user id */
    json_t *body;                     /* parsed request object for POST/PATCH, else NULL */
    struct MHD_Connection *conn;      /* for api_query */
    struct mailbox *orders;           /* to the signalling loop (originate); may be NULL */
    const struct membership *cluster; /* membership_view_get only (other thread); may be NULL */
};

/* A query-string argument, decoded; NULL when absent (api_server.c). */
const char *api_query(const struct api_call *c, const char *name);

typedef void (*api_handler)(struct api_call *c, struct api_reply *r);

/* Reply helpers (api_reply.c); each replaces any body already set. */
void api_reply_json(struct api_reply *r, int status, json_t *body);
void api_reply_error(struct api_reply *r, int status, const char *message, const char *field);
void api_reply_db(struct api_reply *r, enum admin_db_rc rc, const struct admin_db_err *err);
void api_reply_invalid(struct api_reply *r, const struct api_verror *err);
/* A store call's outcome: out with status when rc is OK, else the error rc maps to. */
void api_reply_result(struct api_reply *r, enum admin_db_rc rc, const struct admin_db_err *err,
                      int status, json_t *out);
/* 1 when the caller may see the path's tenant (c->params[0]), else 0 with a 404 reply. */
int api_tenant_visible(const struct api_call *c, struct api_reply *r);

/* Routing (api_router.c): finds the handler for method + path and fills c->params. Returns 0,
 * or -1 with a 404/405 reply. *needs_auth says whether the route needs an API key. */
int api_route(const char *url, struct api_call *c, api_handler *handler, int *needs_auth,
              struct api_reply *r);

/* Authentication (api_auth.c): "Authorization: Bearer <key>" into c->key; -1 with 401/503. */
int api_authenticate(struct api_call *c, const char *authorization, struct api_reply *r);
/* Whether the caller may see tenant id (superadmin, or its own tenant). */
int api_may_see_tenant(const struct api_call *c, const char *tenant_id);
int api_is_superadmin(const struct api_call *c);

/* Handlers. */
void api_health(struct api_call *c, struct api_reply *r);
void api_cluster(struct api_call *c, struct api_reply *r);
/* 1 unless the node knows it has no cluster quorum (api_cluster.c). */
int api_cluster_quorate(const struct api_call *c);
void api_tenants_list(struct api_call *c, struct api_reply *r);
void api_tenants_create(struct api_call *c, struct api_reply *r);
void api_tenant_get(struct api_call *c, struct api_reply *r);
void api_tenant_update(struct api_call *c, struct api_reply *r);
void api_tenant_delete(struct api_call *c, struct api_reply *r);
void api_users_list(struct api_call *c, struct api_reply *r);
void api_users_create(struct api_call *c, struct api_reply *r);
void api_user_get(struct api_call *c, struct api_reply *r);
void api_user_update(struct api_call *c, struct api_reply *r);
void api_user_delete(struct api_call *c, struct api_reply *r);
void api_registrations(struct api_call *c, struct api_reply *r);
void api_calls_list(struct api_call *c, struct api_reply *r);
void api_call_hangup(struct api_call *c, struct api_reply *r);
void api_call_originate(struct api_call *c, struct api_reply *r);
void api_cdrs_list(struct api_call *c, struct api_reply *r);
void api_apikeys_create(struct api_call *c, struct api_reply *r);
void api_gateways_list(struct api_call *c, struct api_reply *r);
void api_gateways_create(struct api_call *c, struct api_reply *r);
void api_gateway_get(struct api_call *c, struct api_reply *r);
void api_gateway_update(struct api_call *c, struct api_reply *r);
void api_gateway_delete(struct api_call *c, struct api_reply *r);
void api_dids_list(struct api_call *c, struct api_reply *r);
void api_dids_create(struct api_call *c, struct api_reply *r);
void api_did_get(struct api_call *c, struct api_reply *r);
void api_did_update(struct api_call *c, struct api_reply *r);
void api_did_delete(struct api_call *c, struct api_reply *r);
void api_routes_list(struct api_call *c, struct api_reply *r);
void api_routes_create(struct api_call *c, struct api_reply *r);
void api_route_get(struct api_call *c, struct api_reply *r);
void api_route_update(struct api_call *c, struct api_reply *r);
void api_route_delete(struct api_call *c, struct api_reply *r);

#endif
