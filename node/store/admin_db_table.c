/* Tenant-owned tables as JSON: PostgreSQL renders rows with json_build_object (numbers, arrays and
 * nulls keep their JSON types) and writes read the body as one jsonb parameter. */
#include "store/admin_db_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum admin_db_rc admin_db_not_found(struct admin_db_err *err)
{
    err->field = NULL;
    err->message = "not found";
    return ADMIN_DB_NOT_FOUND;
}

enum admin_db_rc admin_db_no_memory(struct admin_db_err *err)
{
    err->field = NULL;
    err->message = "internal error";
    return ADMIN_DB_ERROR;
}

/* Column 0 of row 0 (JSON text) parsed into *out; NOT_FOUND when there is no row. Clears r. */
static enum admin_db_rc json_result(PGresult *r, json_t **out, struct admin_db_err *err)
{
    enum admin_db_rc rc = ADMIN_DB_OK;
    if (PQntuples(r) == 0 || PQgetisnull(r, 0, 0))
        rc = admin_db_not_found(err);
    else if (!(*out = json_loads(PQgetvalue(r, 0, 0), JSON_DECODE_ANY, NULL)))
        rc = admin_db_no_memory(err);
    PQclear(r);
    return rc;
}

/* The one unique key besides id is the only source of 23505; the only foreign key is tenant_id,
 * so 23503 means the tenant went away meanwhile. */
static enum admin_db_rc write_error(const struct admin_db_table *t, enum admin_db_rc rc,
                                    struct admin_db_err *err)
{
    if (rc == ADMIN_DB_CONFLICT) {
        err->field = t->unique_field;
        err->message = t->unique_message;
    } else if (rc == ADMIN_DB_INVALID) {
        rc = admin_db_not_found(err);
    }
    return rc;
}

/* The SQL reading column c from the body in parameter $p. */
static void col_expr(FILE *f, const struct admin_db_col *c, int p)
{
    static const char *const casts[] = {
        [ADMIN_DB_C_TEXT] = "",
        [ADMIN_DB_C_INT] = "::int",
        [ADMIN_DB_C_BOOL] = "::boolean",
        [ADMIN_DB_C_NUMERIC] = "::numeric",
        [ADMIN_DB_C_INT_ARRAY] = "::int[]",
        [ADMIN_DB_C_CIDR_ARRAY] = "::cidr[]",
        [ADMIN_DB_C_UUID_ARRAY] = "::uuid[]",
    };
    if (c->type >= ADMIN_DB_C_INT_ARRAY)
        /* WITH ORDINALITY: the order of gateway_ids is the order gateways are tried. */
        fprintf(f,
                "ARRAY(SELECT e FROM jsonb_array_elements_text($%d::jsonb->'%s') "
                "WITH ORDINALITY AS a(e, n) ORDER BY n)%s",
                p, c->name, casts[c->type]);
    else
        fprintf(f, "($%d::jsonb->>'%s')%s", p, c->name, casts[c->type]);
}

/* INSERT (update 0) or UPDATE text for the body's keys; malloc'd, NULL when out of memory.
 * Only names from t->cols reach the SQL text: the body's own keys are never copied into it.
 * The body parameter is always referenced, as PostgreSQL refuses a parameter it cannot type. */
static char *build_sql(const struct admin_db_table *t, const json_t *body, int update)
{
    char *sql = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&sql, &len);
    if (!f)
        return NULL;
    if (update) {
        fprintf(f, "UPDATE %s SET ", t->name);
        for (size_t i = 0; i < t->ncols; i++) {
            if (!json_object_get(body, t->cols[i].name))
                continue;
            fprintf(f, "\"%s\" = ", t->cols[i].name);
            col_expr(f, &t->cols[i], 3);
            fputs(", ", f);
        }
        fprintf(f,
                "updated_at = now() WHERE tenant_id = $1 AND id = $2 AND $3::jsonb IS NOT NULL "
                "RETURNING (%s)::text",
                t->json);
    } else {
        fprintf(f, "INSERT INTO %s (tenant_id", t->name);
        for (size_t i = 0; i < t->ncols; i++)
            if (json_object_get(body, t->cols[i].name))
                fprintf(f, ", \"%s\"", t->cols[i].name);
        fputs(") SELECT tn.id", f);
        for (size_t i = 0; i < t->ncols; i++) {
            if (!json_object_get(body, t->cols[i].name))
                continue;
            fputs(", ", f);
            col_expr(f, &t->cols[i], 2);
        }
        fprintf(f,
                " FROM tenants tn WHERE tn.id = $1 AND $2::jsonb IS NOT NULL RETURNING (%s)::text",
                t->json);
    }
    if (ferror(f)) {
        fclose(f);
        free(sql);
        return NULL;
    }
    if (fclose(f) != 0) {
        free(sql);
        return NULL;
    }
    return sql;
}

enum admin_db_rc admin_db_table_list(struct admin_db *db, const struct admin_db_table *t,
                                     const char *tenant_id, json_t **out, struct admin_db_err *err)
{
    char sql[4096];
    int n = snprintf(sql, sizeof sql,
                     "SELECT (SELECT coalesce(json_agg(%s ORDER BY %s), '[]'::json) FROM %s "
                     "WHERE tenant_id = tn.id)::text FROM tenants tn WHERE tn.id = $1",
                     t->json, t->order, t->name);
    if (n < 0 || (size_t)n >= sizeof sql)
        return admin_db_no_memory(err);
    const char *p[] = {tenant_id};
    enum admin_db_rc rc;
    PGresult *r = admin_db_exec(db, sql, 1, p, 1, &rc, err);
    return r ? json_result(r, out, err) : rc;
}

enum admin_db_rc admin_db_table_get(struct admin_db *db, const struct admin_db_table *t,
                                    const char *tenant_id, const char *id, json_t **out,
                                    struct admin_db_err *err)
{
    char sql[4096];
    int n = snprintf(sql, sizeof sql, "SELECT (%s)::text FROM %s WHERE tenant_id = $1 AND id = $2",
                     t->json, t->name);
    if (n < 0 || (size_t)n >= sizeof sql)
        return admin_db_no_memory(err);
    const char *p[] = {tenant_id, id};
    enum admin_db_rc rc;
    PGresult *r = admin_db_exec(db, sql, 2, p, 1, &rc, err);
    return r ? json_result(r, out, err) : rc;
}

static enum admin_db_rc write_row(struct admin_db *db, const struct admin_db_table *t,
                                  const char *tenant_id, const char *id, const json_t *body,
                                  int retry, json_t **out, struct admin_db_err *err)
{
    char *sql = build_sql(t, body, id != NULL);
    char *text = json_dumps(body, JSON_COMPACT);
    enum admin_db_rc rc;
    if (!sql || !text) {
        rc = admin_db_no_memory(err);
    } else {
        const char *p[] = {tenant_id, id ? id : text, text};
        PGresult *r = admin_db_exec(db, sql, id ? 3 : 2, p, retry, &rc, err);
        rc = r ? json_result(r, out, err) : write_error(t, rc, err);
    }
    free(sql);
    free(text);
    return rc;
}

enum admin_db_rc admin_db_table_insert(struct admin_db *db, const struct admin_db_table *t,
                                       const char *tenant_id, const json_t *body, int retry,
                                       json_t **out, struct admin_db_err *err)
{
    return write_row(db, t, tenant_id, NULL, body, retry, out, err);
}

enum admin_db_rc admin_db_table_update(struct admin_db *db, const struct admin_db_table *t,
                                       const char *tenant_id, const char *id, const json_t *body,
                                       int retry, json_t **out, struct admin_db_err *err)
{
    return write_row(db, t, tenant_id, id, body, retry, out, err);
}

enum admin_db_rc admin_db_table_delete(struct admin_db *db, const struct admin_db_table *t,
                                       const char *tenant_id, const char *id, int retry,
                                       struct admin_db_err *err)
{
    char sql[256];
    int n = snprintf(sql, sizeof sql,
                     "DELETE FROM %s WHERE tenant_id = $1 AND id = $2 RETURNING id", t->name);
    if (n < 0 || (size_t)n >= sizeof sql)
        return admin_db_no_memory(err);
    const char *p[] = {tenant_id, id};
    enum admin_db_rc rc;
    PGresult *r = admin_db_exec(db, sql, 2, p, retry, &rc, err);
    if (!r)
        return rc;
    int found = PQntuples(r) > 0;
    PQclear(r);
    return found ? ADMIN_DB_OK : admin_db_not_found(err);
}
