/* Routes in PostgreSQL: a pattern on the dialled number and an ordered list of the tenant's
 * gateways. Every write that sets gateway_ids checks them under a share lock (see delete). */
#include "store/admin_db_routing.h"
#include "store/admin_db_table.h"

#include <stdlib.h>

#define ROUTE_JSON                                                                                 \
    "json_build_object('id', id, 'tenant_id', tenant_id, 'name', name, 'priority', priority, "     \
    "'pattern', pattern, 'strip_digits', strip_digits, 'prepend', prepend, 'gateway_ids', "        \
    "gateway_ids, 'emergency', emergency, 'enabled', enabled, 'created_at', " ADMIN_DB_JSON_TS(    \
        "created_at") ", 'updated_at', " ADMIN_DB_JSON_TS("updated_at") ")"

static const struct admin_db_col route_cols[] = {
    {"name", ADMIN_DB_C_TEXT},      {"priority", ADMIN_DB_C_INT},
    {"pattern", ADMIN_DB_C_TEXT},   {"strip_digits", ADMIN_DB_C_INT},
    {"prepend", ADMIN_DB_C_TEXT},   {"gateway_ids", ADMIN_DB_C_UUID_ARRAY},
    {"emergency", ADMIN_DB_C_BOOL}, {"enabled", ADMIN_DB_C_BOOL},
};

static const struct admin_db_table routes = {
    "routes",
    ROUTE_JSON,
    "priority, name",
    route_cols,
    sizeof route_cols / sizeof route_cols[0],
    "name",
    "a route with this name already exists in the tenant",
};

/* NOT_FOUND without the tenant; INVALID on gateway_ids unless each is a gateway of the tenant.
 * The gateways stay share-locked until the transaction ends, so none can be deleted under us. */
static enum admin_db_rc check_gateways(struct admin_db *db, const char *tenant_id,
                                       const json_t *ids, struct admin_db_err *err)
{
    const char *tp[] = {tenant_id};
    enum admin_db_rc rc;
    PGresult *r =
        admin_db_exec(db, "SELECT 1 FROM tenants WHERE id = $1 FOR KEY SHARE", 1, tp, 0, &rc, err);
    if (!r)
        return rc;
    int found = PQntuples(r) > 0;
    PQclear(r);
    if (!found)
        return admin_db_not_found(err);
    if (!ids)
        return ADMIN_DB_OK;
    char *text = json_dumps(ids, JSON_COMPACT);
    if (!text)
        return admin_db_no_memory(err);
    const char *p[] = {tenant_id, text};
    r = admin_db_exec(db,
                      "SELECT 1 FROM gateways WHERE tenant_id = $1 AND id IN (SELECT e::uuid FROM "
                      "jsonb_array_elements_text($2::jsonb) e) FOR SHARE",
                      2, p, 0, &rc, err);
    free(text);
    if (!r)
        return rc;
    /* api_validate_route refused repeated ids, so a shortfall is a missing gateway. */
    size_t n = (size_t)PQntuples(r);
    PQclear(r);
    if (n != json_array_size(ids)) {
        err->field = "gateway_ids";
        err->message = "each id must be a gateway of the same tenant";
        return ADMIN_DB_INVALID;
    }
    return ADMIN_DB_OK;
}

/* Creates (id NULL) or updates a route inside one transaction with the gateway check. */
static enum admin_db_rc write_route(struct admin_db *db, const char *tenant_id, const char *id,
                                    const json_t *body, json_t **out, struct admin_db_err *err)
{
    enum admin_db_rc rc = admin_db_begin(db, err);
    if (rc != ADMIN_DB_OK)
        return rc;
    if ((rc = check_gateways(db, tenant_id, json_object_get(body, "gateway_ids"), err)) !=
        ADMIN_DB_OK)
        goto fail;
    rc = id ? admin_db_table_update(db, &routes, tenant_id, id, body, 0, out, err)
            : admin_db_table_insert(db, &routes, tenant_id, body, 0, out, err);
    if (rc != ADMIN_DB_OK)
        goto fail;
    if ((rc = admin_db_commit(db, err)) != ADMIN_DB_OK) {
        json_decref(*out);
        *out = NULL;
        goto fail;
    }
    return ADMIN_DB_OK;
fail:
    admin_db_rollback(db);
    return rc;
}

enum admin_db_rc admin_db_route_create(struct admin_db *db, const char *tenant_id,
                                       const json_t *body, json_t **out, struct admin_db_err *err)
{
    return write_route(db, tenant_id, NULL, body, out, err);
}

enum admin_db_rc admin_db_route_list(struct admin_db *db, const char *tenant_id, json_t **out,
                                     struct admin_db_err *err)
{
    return admin_db_table_list(db, &routes, tenant_id, out, err);
}

enum admin_db_rc admin_db_route_get(struct admin_db *db, const char *tenant_id, const char *id,
                                    json_t **out, struct admin_db_err *err)
{
    return admin_db_table_get(db, &routes, tenant_id, id, out, err);
}

enum admin_db_rc admin_db_route_update(struct admin_db *db, const char *tenant_id, const char *id,
                                       const json_t *body, json_t **out, struct admin_db_err *err)
{
    return write_route(db, tenant_id, id, body, out, err);
}

enum admin_db_rc admin_db_route_delete(struct admin_db *db, const char *tenant_id, const char *id,
                                       struct admin_db_err *err)
{
    return admin_db_table_delete(db, &routes, tenant_id, id, 1, err);
}
