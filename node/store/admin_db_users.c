/* SIP users in PostgreSQL. Passwords only pass through to become HA1 = MD5(ext:domain:password);
 * the tenant row is share-locked while computing it so the domain cannot change underneath. */
#include "store/admin_db_internal.h"
#include "store/admin_db_table.h"
#include "store/admin_secret.h"

#include <stdio.h>
#include <string.h>

#define USER_COLS                                                                                  \
    "id::text AS id, tenant_id::text AS tenant_id, extension, display_name, "                      \
    "enabled, " ADMIN_DB_TS("created_at") ", " ADMIN_DB_TS("updated_at")

static enum admin_db_rc no_memory(struct admin_db_err *err)
{
    err->field = NULL;
    err->message = "internal error";
    return ADMIN_DB_ERROR;
}

static const char *bool_param(int v)
{
    return v < 0 ? NULL : v ? "true" : "false";
}

enum admin_db_rc admin_db_user_create(struct admin_db *db, const char *tenant_id,
                                      const struct admin_db_user *u, json_t **out,
                                      struct admin_db_err *err)
{
    enum admin_db_rc rc = admin_db_begin(db, err);
    if (rc != ADMIN_DB_OK)
        return rc;
    const char *tp[] = {tenant_id};
    PGresult *r =
        admin_db_exec(db, "SELECT domain FROM tenants WHERE id = $1 FOR SHARE", 1, tp, 0, &rc, err);
    if (!r)
        goto fail;
    if (PQntuples(r) == 0) {
        PQclear(r);
        rc = admin_db_not_found(err);
        goto fail;
    }
    char ha1[ADMIN_SECRET_HA1_LEN];
    int bad = admin_secret_ha1(u->extension, PQgetvalue(r, 0, 0), u->password, ha1);
    PQclear(r);
    if (bad) {
        rc = no_memory(err);
        goto fail;
    }
    const char *p[] = {tenant_id, u->extension, u->display_name, ha1, bool_param(u->enabled)};
    r = admin_db_exec(db,
                      "INSERT INTO users (tenant_id, extension, display_name, ha1, enabled) "
                      "VALUES ($1, $2, COALESCE($3, ''), $4, COALESCE($5::boolean, true)) "
                      "RETURNING " USER_COLS,
                      5, p, 0, &rc, err);
    if (!r)
        goto fail;
    *out = admin_db_row(r, 0);
    PQclear(r);
    if (!*out) {
        rc = no_memory(err);
        goto fail;
    }
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

enum admin_db_rc admin_db_user_list(struct admin_db *db, const char *tenant_id, json_t **out,
                                    struct admin_db_err *err)
{
    const char *p[] = {tenant_id};
    enum admin_db_rc rc;
    /* The LEFT JOIN tells "no such tenant" (no row at all) from "tenant without users". */
    PGresult *r = admin_db_exec(
        db,
        "SELECT u.id::text AS id, u.tenant_id::text AS tenant_id, u.extension, u.display_name, "
        "u.enabled, to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
        "AS created_at, to_char(u.updated_at AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS updated_at FROM tenants t LEFT JOIN users u ON "
        "u.tenant_id = t.id WHERE t.id = $1 ORDER BY u.extension",
        1, p, 1, &rc, err);
    if (!r)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return admin_db_not_found(err);
    }
    json_t *a = json_array();
    for (int i = 0; a && i < PQntuples(r); i++) {
        if (PQgetisnull(r, i, 0))
            continue;
        json_t *o = admin_db_row(r, i);
        if (!o || json_array_append_new(a, o) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    PQclear(r);
    if (!a)
        return no_memory(err);
    *out = a;
    return ADMIN_DB_OK;
}

enum admin_db_rc admin_db_user_get(struct admin_db *db, const char *tenant_id, const char *id,
                                   json_t **out, struct admin_db_err *err)
{
    const char *p[] = {tenant_id, id};
    enum admin_db_rc rc;
    PGresult *r = admin_db_exec(
        db, "SELECT " USER_COLS " FROM users WHERE tenant_id = $1 AND id = $2", 2, p, 1, &rc, err);
    if (!r)
        return rc;
    rc = ADMIN_DB_OK;
    if (PQntuples(r) == 0)
        rc = admin_db_not_found(err);
    else if (!(*out = admin_db_row(r, 0)))
        rc = no_memory(err);
    PQclear(r);
    return rc;
}

enum admin_db_rc admin_db_user_update(struct admin_db *db, const char *tenant_id, const char *id,
                                      const struct admin_db_user *u, json_t **out,
                                      struct admin_db_err *err)
{
    enum admin_db_rc rc = admin_db_begin(db, err);
    if (rc != ADMIN_DB_OK)
        return rc;
    const char *p[] = {tenant_id, id};
    PGresult *r = admin_db_exec(db,
                                "SELECT u.extension, t.domain FROM users u JOIN tenants t ON "
                                "t.id = u.tenant_id WHERE u.tenant_id = $1 AND u.id = $2 "
                                "FOR UPDATE OF u FOR SHARE OF t",
                                2, p, 0, &rc, err);
    if (!r)
        goto fail;
    if (PQntuples(r) == 0) {
        PQclear(r);
        rc = admin_db_not_found(err);
        goto fail;
    }
    const char *extension = u->extension ? u->extension : PQgetvalue(r, 0, 0);
    if (strcmp(extension, PQgetvalue(r, 0, 0)) != 0 && !u->password) {
        PQclear(r);
        err->field = "password";
        err->message = "changing the extension needs a new password (HA1 includes the extension)";
        rc = ADMIN_DB_INVALID;
        goto fail;
    }
    char ha1[ADMIN_SECRET_HA1_LEN];
    int bad = u->password && admin_secret_ha1(extension, PQgetvalue(r, 0, 1), u->password, ha1);
    PQclear(r);
    if (bad) {
        rc = no_memory(err);
        goto fail;
    }
    const char *up[] = {tenant_id,
                        id,
                        u->extension,
                        u->display_name,
                        u->password ? ha1 : NULL,
                        bool_param(u->enabled)};
    r = admin_db_exec(db,
                      "UPDATE users SET extension = COALESCE($3, extension), display_name = "
                      "COALESCE($4, display_name), ha1 = COALESCE($5, ha1), enabled = "
                      "COALESCE($6::boolean, enabled), updated_at = now() "
                      "WHERE tenant_id = $1 AND id = $2 RETURNING " USER_COLS,
                      6, up, 0, &rc, err);
    if (!r)
        goto fail;
    *out = admin_db_row(r, 0);
    PQclear(r);
    if (!*out) {
        rc = no_memory(err);
        goto fail;
    }
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

enum admin_db_rc admin_db_user_delete(struct admin_db *db, const char *tenant_id, const char *id,
                                      struct admin_db_err *err)
{
    const char *p[] = {tenant_id, id};
    enum admin_db_rc rc;
    PGresult *r = admin_db_exec(
        db, "DELETE FROM users WHERE tenant_id = $1 AND id = $2 RETURNING id", 2, p, 1, &rc, err);
    if (!r)
        return rc;
    int found = PQntuples(r) > 0;
    PQclear(r);
    return found ? ADMIN_DB_OK : admin_db_not_found(err);
}
