/* Tenants in PostgreSQL: one SIP domain each. A domain is the realm of its users' HA1, so it
 * cannot change while the tenant has users (the check and the update share one transaction). */
#include "store/admin_db_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TENANT_COLS                                                                                \
    "id::text AS id, name, domain, max_calls, max_cps, " ADMIN_DB_TS(                              \
        "created_at") ", " ADMIN_DB_TS("updated_at")

/* The limits go out as JSON numbers (admin_db_row gives text). */
static int limits_as_numbers(json_t *o)
{
    json_t *v = json_object_get(o, "max_calls");
    if (json_is_string(v) &&
        json_object_set_new(o, "max_calls", json_integer(atoll(json_string_value(v)))) != 0)
        return -1;
    v = json_object_get(o, "max_cps");
    if (json_is_string(v) &&
        json_object_set_new(o, "max_cps", json_real(strtod(json_string_value(v), NULL))) != 0)
        return -1;
    return 0;
}

static enum admin_db_rc one_row(PGresult *r, json_t **out, struct admin_db_err *err)
{
    enum admin_db_rc rc = ADMIN_DB_OK;
    if (PQntuples(r) == 0) {
        rc = ADMIN_DB_NOT_FOUND;
        err->field = NULL;
        err->message = "not found";
    } else if (!(*out = admin_db_row(r, 0)) || limits_as_numbers(*out) != 0) {
        json_decref(*out);
        *out = NULL;
        rc = ADMIN_DB_ERROR;
        err->field = NULL;
        err->message = "out of memory";
    }
    PQclear(r);
    return rc;
}

enum admin_db_rc admin_db_tenant_create(struct admin_db *db, const char *name, const char *domain,
                                        const struct admin_db_tenant_limits *lim, json_t **out,
                                        struct admin_db_err *err)
{
    const char *p[] = {name, domain, lim->max_calls, lim->max_cps};
    enum admin_db_rc rc;
    PGresult *r = admin_db_exec(db,
                                "INSERT INTO tenants (name, domain, max_calls, max_cps) VALUES "
                                "($1, $2, $3::integer, $4::numeric) RETURNING " TENANT_COLS,
                                4, p, 1, &rc, err);
    return r ? one_row(r, out, err) : rc;
}

enum admin_db_rc admin_db_tenant_list(struct admin_db *db, const char *only_id, json_t **out,
                                      struct admin_db_err *err)
{
    const char *p[] = {only_id};
    enum admin_db_rc rc;
    PGresult *r = admin_db_exec(db,
                                "SELECT " TENANT_COLS " FROM tenants WHERE $1::uuid IS NULL OR "
                                "id = $1::uuid ORDER BY domain",
                                1, p, 1, &rc, err);
    if (!r)
        return rc;
    *out = admin_db_rows(r);
    PQclear(r);
    for (size_t i = 0; *out && i < json_array_size(*out); i++)
        if (limits_as_numbers(json_array_get(*out, i)) != 0) {
            json_decref(*out);
            *out = NULL;
        }
    if (!*out) {
        err->field = NULL;
        err->message = "out of memory";
        return ADMIN_DB_ERROR;
    }
    return ADMIN_DB_OK;
}

enum admin_db_rc admin_db_tenant_get(struct admin_db *db, const char *id, json_t **out,
                                     struct admin_db_err *err)
{
    const char *p[] = {id};
    enum admin_db_rc rc;
    PGresult *r =
        admin_db_exec(db, "SELECT " TENANT_COLS " FROM tenants WHERE id = $1", 1, p, 1, &rc, err);
    return r ? one_row(r, out, err) : rc;
}

enum admin_db_rc admin_db_tenant_domain(struct admin_db *db, const char *id, char *out,
                                        size_t outlen, struct admin_db_err *err)
{
    const char *p[] = {id};
    enum admin_db_rc rc;
    PGresult *r = admin_db_exec(db, "SELECT domain FROM tenants WHERE id = $1", 1, p, 1, &rc, err);
    if (!r)
        return rc;
    rc = ADMIN_DB_OK;
    if (PQntuples(r) == 0) {
        rc = ADMIN_DB_NOT_FOUND;
        err->field = NULL;
        err->message = "not found";
    } else {
        snprintf(out, outlen, "%s", PQgetvalue(r, 0, 0));
    }
    PQclear(r);
    return rc;
}

/* Inside the update's transaction: locks the tenant row, then refuses a domain change when the
 * tenant has users. The EXISTS runs as its own statement after the lock so that it sees users
 * committed while we waited for it. */
static enum admin_db_rc check_domain_change(struct admin_db *db, const char *id, const char *domain,
                                            struct admin_db_err *err)
{
    const char *p[] = {id};
    enum admin_db_rc rc;
    PGresult *r =
        admin_db_exec(db, "SELECT domain FROM tenants WHERE id = $1 FOR UPDATE", 1, p, 0, &rc, err);
    if (!r)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        err->field = NULL;
        err->message = "not found";
        return ADMIN_DB_NOT_FOUND;
    }
    int same = !domain || !strcmp(PQgetvalue(r, 0, 0), domain);
    PQclear(r);
    if (same)
        return ADMIN_DB_OK;
    r = admin_db_exec(db, "SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1)", 1, p, 0, &rc,
                      err);
    if (!r)
        return rc;
    int has_users = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (has_users) {
        err->field = "domain";
        err->message = "cannot change the domain of a tenant that has users (it is the realm of "
                       "their HA1); delete or recreate them first";
        return ADMIN_DB_CONFLICT;
    }
    return ADMIN_DB_OK;
}

enum admin_db_rc admin_db_tenant_update(struct admin_db *db, const char *id, const char *name,
                                        const char *domain,
                                        const struct admin_db_tenant_limits *lim, json_t **out,
                                        struct admin_db_err *err)
{
    enum admin_db_rc rc = admin_db_begin(db, err);
    if (rc != ADMIN_DB_OK)
        return rc;
    if ((rc = check_domain_change(db, id, domain, err)) != ADMIN_DB_OK)
        goto fail;
    const char *p[] = {id,
                       name,
                       domain,
                       lim->set_calls ? "t" : "f",
                       lim->max_calls,
                       lim->set_cps ? "t" : "f",
                       lim->max_cps};
    PGresult *r = admin_db_exec(db,
                                "UPDATE tenants SET name = COALESCE($2, name), domain = "
                                "COALESCE($3, domain), max_calls = CASE WHEN $4::boolean THEN "
                                "$5::integer ELSE max_calls END, max_cps = CASE WHEN $6::boolean "
                                "THEN $7::numeric ELSE max_cps END, updated_at = now() WHERE id "
                                "= $1 RETURNING " TENANT_COLS,
                                7, p, 0, &rc, err);
    if (!r)
        goto fail;
    if ((rc = one_row(r, out, err)) != ADMIN_DB_OK)
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

enum admin_db_rc admin_db_tenant_delete(struct admin_db *db, const char *id,
                                        struct admin_db_err *err)
{
    const char *p[] = {id};
    enum admin_db_rc rc;
    PGresult *r =
        admin_db_exec(db, "DELETE FROM tenants WHERE id = $1 RETURNING id", 1, p, 1, &rc, err);
    if (!r)
        return rc;
    rc = PQntuples(r) ? ADMIN_DB_OK : ADMIN_DB_NOT_FOUND;
    PQclear(r);
    if (rc == ADMIN_DB_NOT_FOUND) {
        err->field = NULL;
        err->message = "not found";
    }
    return rc;
}
