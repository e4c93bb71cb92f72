/* The admin store's routing objects: gateways, DIDs and routes of a tenant (synchronous libpq,
 * API threads only). Bodies are validated by node/admin/api_validate_routing.c beforehand. */
#ifndef TANDEM_ADMIN_DB_ROUTING_H
#define TANDEM_ADMIN_DB_ROUTING_H

#include "store/admin_db.h"

/* Objects are the rows as JSON with their schema/002_routing.sql types. A gateway never carries
 * its password, only "has_password". NOT_FOUND for no such tenant or object. A duplicate is
 * CONFLICT naming "name" (gateway, route) or "number" (DID, unique across all tenants). */
enum admin_db_rc admin_db_gateway_create(struct admin_db *db, const char *tenant_id,
                                         const json_t *body, json_t **out,
                                         struct admin_db_err *err);
enum admin_db_rc admin_db_gateway_list(struct admin_db *db, const char *tenant_id, json_t **out,
                                       struct admin_db_err *err);
enum admin_db_rc admin_db_gateway_get(struct admin_db *db, const char *tenant_id, const char *id,
                                      json_t **out, struct admin_db_err *err);
/* INVALID naming "username" or "password" when the result would register without them. */
enum admin_db_rc admin_db_gateway_update(struct admin_db *db, const char *tenant_id, const char *id,
                                         const json_t *body, json_t **out,
                                         struct admin_db_err *err);
/* CONFLICT while a route of the tenant still lists the gateway. */
enum admin_db_rc admin_db_gateway_delete(struct admin_db *db, const char *tenant_id, const char *id,
                                         struct admin_db_err *err);

enum admin_db_rc admin_db_did_create(struct admin_db *db, const char *tenant_id, const json_t *body,
                                     json_t **out, struct admin_db_err *err);
enum admin_db_rc admin_db_did_list(struct admin_db *db, const char *tenant_id, json_t **out,
                                   struct admin_db_err *err);
enum admin_db_rc admin_db_did_get(struct admin_db *db, const char *tenant_id, const char *id,
                                  json_t **out, struct admin_db_err *err);
enum admin_db_rc admin_db_did_update(struct admin_db *db, const char *tenant_id, const char *id,
                                     const json_t *body, json_t **out, struct admin_db_err *err);
enum admin_db_rc admin_db_did_delete(struct admin_db *db, const char *tenant_id, const char *id,
                                     struct admin_db_err *err);

/* INVALID naming "gateway_ids" unless every id is a gateway of the same tenant. */
enum admin_db_rc admin_db_route_create(struct admin_db *db, const char *tenant_id,
                                       const json_t *body, json_t **out, struct admin_db_err *err);
/* Ordered by priority (lower first), then name. */
enum admin_db_rc admin_db_route_list(struct admin_db *db, const char *tenant_id, json_t **out,
                                     struct admin_db_err *err);
enum admin_db_rc admin_db_route_get(struct admin_db *db, const char *tenant_id, const char *id,
                                    json_t **out, struct admin_db_err *err);
enum admin_db_rc admin_db_route_update(struct admin_db *db, const char *tenant_id, const char *id,
                                       const json_t *body, json_t **out, struct admin_db_err *err);
enum admin_db_rc admin_db_route_delete(struct admin_db *db, const char *tenant_id, const char *id,
                                       struct admin_db_err *err);

#endif
