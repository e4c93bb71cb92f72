/* Gateways in PostgreSQL. The password is a client credential kept as given (schema/002 says
 * why) and never leaves the store through the API: rows go out with "has_password" instead. */
#include "store/admin_db_routing.h"
#include "store/admin_db_table.h"

#define GATEWAY_JSON                                                                               \
    "json_build_object('id', id, 'tenant_id', tenant_id, 'name', name, 'host', host, 'port', "     \
    "port, 'transport', transport, 'username', username, 'has_password', password IS NOT NULL, "   \
    "'register', register, 'register_expires', register_expires, 'ping_interval', "                \
    "ping_interval, 'acl_cidrs', acl_cidrs, 'max_calls', max_calls, 'max_cps', max_cps, "          \
    "'originate_timeout_ms', originate_timeout_ms, 'progress_timeout_ms', progress_timeout_ms, "   \
    "'bridge_answer_timeout_ms', bridge_answer_timeout_ms, 'failover_statuses', "                  \
    "failover_statuses, 'caller_id_mode', caller_id_mode, 'enabled', enabled, "                    \
    "'created_at', " ADMIN_DB_JSON_TS("created_at") ", 'updated_at', " ADMIN_DB_JSON_TS(           \
        "updated_at") ")"

static const struct admin_db_col gateway_cols[] = {
    {"name", ADMIN_DB_C_TEXT},
    {"host", ADMIN_DB_C_TEXT},
    {"port", ADMIN_DB_C_INT},
    {"transport", ADMIN_DB_C_TEXT},
    {"username", ADMIN_DB_C_TEXT},
    {"password", ADMIN_DB_C_TEXT},
    {"register", ADMIN_DB_C_BOOL},
    {"register_expires", ADMIN_DB_C_INT},
    {"ping_interval", ADMIN_DB_C_INT},
    {"acl_cidrs", ADMIN_DB_C_CIDR_ARRAY},
    {"max_calls", ADMIN_DB_C_INT},
    {"max_cps", ADMIN_DB_C_NUMERIC},
    {"originate_timeout_ms", ADMIN_DB_C_INT},
    {"progress_timeout_ms", ADMIN_DB_C_INT},
    {"bridge_answer_timeout_ms", ADMIN_DB_C_INT},
    {"failover_statuses", ADMIN_DB_C_INT_ARRAY},
    {"caller_id_mode", ADMIN_DB_C_TEXT},
    {"enabled", ADMIN_DB_C_BOOL},
};

static const struct admin_db_table gateways = {
    "gateways",
    GATEWAY_JSON,
    "name",
    gateway_cols,
    sizeof gateway_cols / sizeof gateway_cols[0],
    "name",
    "a gateway with this name already exists in the tenant",
};

enum admin_db_rc admin_db_gateway_create(struct admin_db *db, const char *tenant_id,
                                         const json_t *body, json_t **out, struct admin_db_err *err)
{
    return admin_db_table_insert(db, &gateways, tenant_id, body, 1, out, err);
}

enum admin_db_rc admin_db_gateway_list(struct admin_db *db, const char *tenant_id, json_t **out,
                                       struct admin_db_err *err)
{
    return admin_db_table_list(db, &gateways, tenant_id, out, err);
}

enum admin_db_rc admin_db_gateway_get(struct admin_db *db, const char *tenant_id, const char *id,
                                      json_t **out, struct admin_db_err *err)
{
    return admin_db_table_get(db, &gateways, tenant_id, id, out, err);
}

/* Whether the body sets key (to anything, null included), else the stored flag. */
static int merged(const json_t *body, const char *key, int stored)
{
    const json_t *v = json_object_get(body, key);
    return v ? !json_is_null(v) && !json_is_false(v) : stored;
}

enum admin_db_rc admin_db_gateway_update(struct admin_db *db, const char *tenant_id, const char *id,
                                         const json_t *body, json_t **out, struct admin_db_err *err)
{
    /* register needs username and password; the row is locked so that the check and the write
     * see the same credentials (the schema's CHECK would otherwise answer a bare 500). */
    enum admin_db_rc rc = admin_db_begin(db, err);
    if (rc != ADMIN_DB_OK)
        return rc;
    const char *p[] = {tenant_id, id};
    PGresult *r = admin_db_exec(db,
                                "SELECT register, username IS NOT NULL, password IS NOT NULL "
                                "FROM gateways WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                                2, p, 0, &rc, err);
    if (!r)
        goto fail;
    if (PQntuples(r) == 0) {
        PQclear(r);
        rc = admin_db_not_found(err);
        goto fail;
    }
    int reg = merged(body, "register", PQgetvalue(r, 0, 0)[0] == 't');
    int user = merged(body, "username", PQgetvalue(r, 0, 1)[0] == 't');
    int pass = merged(body, "password", PQgetvalue(r, 0, 2)[0] == 't');
    PQclear(r);
    if (reg && (!user || !pass)) {
        err->field = !user ? "username" : "password";
        err->message = "is required when register is true";
        rc = ADMIN_DB_INVALID;
        goto fail;
    }
    if ((rc = admin_db_table_update(db, &gateways, tenant_id, id, body, 0, out, err)) !=
        ADMIN_DB_OK)
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

enum admin_db_rc admin_db_gateway_delete(struct admin_db *db, const char *tenant_id, const char *id,
                                         struct admin_db_err *err)
{
    /* Routes name gateways in an array, which no foreign key covers. Locking the gateway first
     * makes a concurrent route write (which share-locks its gateways) finish before we look for
     * users, and any later one wait for us and then find the gateway gone. */
    enum admin_db_rc rc = admin_db_begin(db, err);
    if (rc != ADMIN_DB_OK)
        return rc;
    const char *p[] = {tenant_id, id};
    PGresult *r =
        admin_db_exec(db, "SELECT 1 FROM gateways WHERE tenant_id = $1 AND id = $2 FOR UPDATE", 2,
                      p, 0, &rc, err);
    if (!r)
        goto fail;
    int found = PQntuples(r) > 0;
    PQclear(r);
    if (!found) {
        rc = admin_db_not_found(err);
        goto fail;
    }
    r = admin_db_exec(db,
                      "SELECT 1 FROM routes WHERE tenant_id = $1 AND $2::uuid = ANY (gateway_ids) "
                      "LIMIT 1",
                      2, p, 0, &rc, err);
    if (!r)
        goto fail;
    int used = PQntuples(r) > 0;
    PQclear(r);
    if (used) {
        err->field = NULL;
        err->message = "the gateway is in a route's gateway_ids; change the route first";
        rc = ADMIN_DB_CONFLICT;
        goto fail;
    }
    if ((rc = admin_db_table_delete(db, &gateways, tenant_id, id, 0, err)) != ADMIN_DB_OK)
        goto fail;
    if ((rc = admin_db_commit(db, err)) != ADMIN_DB_OK)
        goto fail;
    return ADMIN_DB_OK;
fail:
    admin_db_rollback(db);
    return rc;
}
