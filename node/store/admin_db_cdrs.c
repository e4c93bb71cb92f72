/* CDR listing for the REST API. Offset paging over (start_at, id), which the index
 * cdrs_tenant_start serves; the price of OFFSET is reading the skipped rows, acceptable for the
 * page depths an operator clicks through (a keyset cursor is the upgrade when exports need it). */
#include "store/admin_db_cdrs.h"
#include "store/admin_db_internal.h"

#include <stdio.h>
#include <stdlib.h>

#define BOOLOID 16
#define INT8OID 20
#define INT4OID 23
#define JSONBOID 3802

/* The SQL is laid out as SQL, not as clang-format would wrap the strings. */
/* clang-format off */
#define TS(col)                                                                                    \
    "to_char(c." col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS " col

/* The LEFT JOIN tells "no such tenant" (no row) from "no CDRs in range" (one row of NULLs). */
static const char list_sql[] =
    "SELECT c.id, c.call_uuid::text AS call_uuid, c.tenant_id::text AS tenant_id, "
    "       c.a_call_id, c.b_call_id, c.caller, c.callee_dialled, c.callee_routed, c.gateway, "
    "       c.node, " TS("start_at") ", " TS("progress_at") ", "
    "       " TS("answer_at") ", " TS("end_at") ", "
    "       c.duration_ms, c.billsec_ms, c.sip_status, c.q850_cause, c.hangup_by, c.codec_a, "
    "       c.codec_b, c.media_a, c.media_b, c.failover "
    "FROM tenants t LEFT JOIN LATERAL ("
    "    SELECT * FROM cdrs x WHERE x.tenant_id = t.id "
    "    AND ($2::bigint IS NULL OR x.start_at >= to_timestamp($2::bigint / 1000.0)) "
    "    AND ($3::bigint IS NULL OR x.start_at < to_timestamp($3::bigint / 1000.0)) "
    "    ORDER BY x.start_at, x.id LIMIT $4::bigint OFFSET $5::bigint) c ON true "
    "WHERE t.id = $1 ORDER BY c.start_at, c.id";
/* clang-format on */

static enum admin_db_rc fail(struct admin_db_err *err, enum admin_db_rc rc, const char *message)
{
    err->field = NULL;
    err->message = message;
    return rc;
}

/* One row with each column in its JSON type (admin_db_row would make numbers strings). */
static json_t *cdr_row(const PGresult *r, int row)
{
    json_t *o = json_object();
    for (int c = 0; o && c < PQnfields(r); c++) {
        const char *v = PQgetvalue(r, row, c);
        json_t *j;
        if (PQgetisnull(r, row, c))
            j = json_null();
        else if (PQftype(r, c) == BOOLOID)
            j = json_boolean(v[0] == 't');
        else if (PQftype(r, c) == INT8OID || PQftype(r, c) == INT4OID)
            j = json_integer(strtoll(v, NULL, 10));
        else if (PQftype(r, c) == JSONBOID)
            j = json_loads(v, JSON_DECODE_ANY, NULL);
        else
            j = json_string(v);
        if (!j || json_object_set_new(o, PQfname(r, c), j) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    return o;
}

enum admin_db_rc admin_db_cdr_list(struct admin_db *db, const struct admin_db_cdr_query *q,
                                   json_t **out, struct admin_db_err *err)
{
    char from[24], to[24], limit[24], offset[24];
    snprintf(from, sizeof from, "%lld", q->from_ms);
    snprintf(to, sizeof to, "%lld", q->to_ms);
    /* One row more than the page tells whether there is a next page, without a COUNT(*). */
    snprintf(limit, sizeof limit, "%d", q->per_page + 1);
    snprintf(offset, sizeof offset, "%lld", (long long)(q->page - 1) * q->per_page);
    const char *p[] = {q->tenant_id, q->has_from ? from : NULL, q->has_to ? to : NULL, limit,
                       offset};
    enum admin_db_rc rc;
    PGresult *r = admin_db_exec(db, list_sql, 5, p, 1, &rc, err);
    if (!r)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return fail(err, ADMIN_DB_NOT_FOUND, "not found");
    }
    json_t *items = json_array();
    int n = 0, more = 0;
    for (int i = 0; items && i < PQntuples(r); i++) {
        if (PQgetisnull(r, i, 0))
            continue;
        if (n == q->per_page) {
            more = 1;
            break;
        }
        json_t *o = cdr_row(r, i);
        if (!o || json_array_append_new(items, o) != 0) {
            json_decref(items);
            items = NULL;
        }
        n++;
    }
    PQclear(r);
    json_t *o =
        items ? json_pack("{s:o, s:i, s:i, s:o}", "items", items, "page", q->page, "per_page",
                          q->per_page, "next_page", more ? json_integer(q->page + 1) : json_null())
              : NULL;
    if (!o)
        return fail(err, ADMIN_DB_ERROR, "internal error");
    *out = o;
    return ADMIN_DB_OK;
}
