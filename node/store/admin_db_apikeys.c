/* API keys in PostgreSQL: created here (the clear key leaves only in the creation answer) and
 * looked up by the SHA-256 of the presented key. tenant_id NULL is a superadmin key. */
#include "store/admin_db_internal.h"
#include "store/admin_secret.h"

#include <stdio.h>
#include <string.h>

enum admin_db_rc admin_db_apikey_create(struct admin_db *db, const char *tenant_id,
                                        const char *description, json_t **out,
                                        struct admin_db_err *err)
{
    char key[ADMIN_SECRET_KEY_LEN], hash[ADMIN_SECRET_SHA256_LEN];
    if (admin_secret_new_key(key, hash) != 0) {
        err->field = NULL;
        err->message = "cannot generate a key";
        return ADMIN_DB_ERROR;
    }
    const char *p[] = {tenant_id, hash, description};
    enum admin_db_rc rc;
    PGresult *r = admin_db_exec(db,
                                "INSERT INTO api_keys (tenant_id, key_sha256, description) VALUES "
                                "($1, $2, COALESCE($3, '')) RETURNING id::text AS id, "
                                "tenant_id::text AS tenant_id",
                                3, p, 1, &rc, err);
    if (!r) {
        if (rc == ADMIN_DB_INVALID) {
            err->field = "tenant_id";
            err->message = "no such tenant";
        }
        return rc;
    }
    json_t *o = admin_db_row(r, 0);
    PQclear(r);
    if (!o || json_object_set_new(o, "key", json_string(key)) != 0) {
        json_decref(o);
        err->field = NULL;
        err->message = "internal error";
        return ADMIN_DB_ERROR;
    }
    *out = o;
    return ADMIN_DB_OK;
}

enum admin_db_rc admin_db_apikey_lookup(struct admin_db *db, const char *key,
                                        struct admin_db_key *out, struct admin_db_err *err)
{
    char hash[ADMIN_SECRET_SHA256_LEN];
    if (admin_secret_key_hash(key, hash) != 0) {
        err->field = NULL;
        err->message = "internal error";
        return ADMIN_DB_ERROR;
    }
    const char *p[] = {hash};
    enum admin_db_rc rc;
    PGresult *r = admin_db_exec(db,
                                "SELECT id::text, COALESCE(tenant_id::text, '') FROM api_keys "
                                "WHERE key_sha256 = $1",
                                1, p, 1, &rc, err);
    if (!r)
        return rc;
    rc = ADMIN_DB_OK;
    if (PQntuples(r) == 0) {
        rc = ADMIN_DB_NOT_FOUND;
        err->field = NULL;
        err->message = "unknown API key";
    } else {
        snprintf(out->id, sizeof out->id, "%s", PQgetvalue(r, 0, 0));
        snprintf(out->tenant_id, sizeof out->tenant_id, "%s", PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return rc;
}
