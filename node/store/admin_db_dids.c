/* DIDs in PostgreSQL: inbound numbers, each owned by one tenant (the number is unique across all
 * tenants, so a duplicate anywhere is a 409 on "number") and pointing at an extension. */
#include "store/admin_db_routing.h"
#include "store/admin_db_table.h"

#define DID_JSON                                                                                   \
    "json_build_object('id', id, 'tenant_id', tenant_id, 'number', number, 'target_type', "        \
    "target_type, 'target', target, 'created_at', " ADMIN_DB_JSON_TS(                              \
        "created_at") ", 'updated_at', " ADMIN_DB_JSON_TS("updated_at") ")"

static const struct admin_db_col did_cols[] = {
    {"number", ADMIN_DB_C_TEXT},
    {"target_type", ADMIN_DB_C_TEXT},
    {"target", ADMIN_DB_C_TEXT},
};

static const struct admin_db_table dids = {
    "dids",
    DID_JSON,
    "number",
    did_cols,
    sizeof did_cols / sizeof did_cols[0],
    "number",
    "this number already belongs to a tenant",
};

enum admin_db_rc admin_db_did_create(struct admin_db *db, const char *tenant_id, const json_t *body,
                                     json_t **out, struct admin_db_err *err)
{
    return admin_db_table_insert(db, &dids, tenant_id, body, 1, out, err);
}

enum admin_db_rc admin_db_did_list(struct admin_db *db, const char *tenant_id, json_t **out,
                                   struct admin_db_err *err)
{
    return admin_db_table_list(db, &dids, tenant_id, out, err);
}

enum admin_db_rc admin_db_did_get(struct admin_db *db, const char *tenant_id, const char *id,
                                  json_t **out, struct admin_db_err *err)
{
    return admin_db_table_get(db, &dids, tenant_id, id, out, err);
}

enum admin_db_rc admin_db_did_update(struct admin_db *db, const char *tenant_id, const char *id,
                                     const json_t *body, json_t **out, struct admin_db_err *err)
{
    return admin_db_table_update(db, &dids, tenant_id, id, body, 1, out, err);
}

enum admin_db_rc admin_db_did_delete(struct admin_db *db, const char *tenant_id, const char *id,
                                     struct admin_db_err *err)
{
    return admin_db_table_delete(db, &dids, tenant_id, id, 1, err);
}
