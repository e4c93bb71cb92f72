/* Builds and runs the CDR batch INSERT. Values only ever travel as libpq parameters (text
 * format); the SQL text holds placeholders alone, so no caller string can change a statement. */
#include "store/cdr_insert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPARAMS 23 /* per row */
#define NNUMS 8    /* numeric parameters per row, rendered as text */

struct cdr_insert {
    const char **params;     /* batch_max * NPARAMS */
    char (*nums)[NNUMS][24]; /* their numeric texts */
};

PGconn *cdr_insert_connect(const char *conninfo, char *err, size_t errlen)
{
    /* conninfo comes after our defaults, so its own connect_timeout etc. win. The keepalives and
     * tcp_user_timeout bound a read on a connection whose peer vanished without a reset. */
    const char *keys[] = {
        "connect_timeout",  "application_name", "keepalives_idle", "keepalives_interval",
        "keepalives_count", "tcp_user_timeout", "dbname",          NULL};
    const char *vals[] = {"5", "tandemd-cdr", "10", "5", "3", "15000", conninfo, NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    PGresult *r = NULL;
    if (conn && PQstatus(conn) == CONNECTION_OK)
        r = PQexec(conn, "SET statement_timeout = '10s'");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        snprintf(err, errlen, "%s", conn ? PQerrorMessage(conn) : "out of memory");
        err[strcspn(err, "\n")] = '\0';
        PQclear(r);
        PQfinish(conn);
        return NULL;
    }
    PQclear(r);
    return conn;
}

struct cdr_insert *cdr_insert_new(int batch_max)
{
    struct cdr_insert *ins = calloc(1, sizeof *ins);
    if (!ins)
        return NULL;
    ins->params = calloc((size_t)batch_max * NPARAMS, sizeof *ins->params);
    ins->nums = calloc((size_t)batch_max, sizeof *ins->nums);
    if (!ins->params || !ins->nums) {
        cdr_insert_free(ins);
        return NULL;
    }
    return ins;
}

void cdr_insert_free(struct cdr_insert *ins)
{
    if (!ins)
        return;
    free(ins->params);
    free(ins->nums);
    free(ins);
}

static const char *opt(const char *s)
{
    return s[0] ? s : NULL;
}

static const char *num(char *buf, long long v)
{
    snprintf(buf, 24, "%lld", v);
    return buf;
}

static const char *ms(char *buf, long long v)
{
    return v ? num(buf, v) : NULL;
}

/* One multi-row INSERT. Values only ever travel as parameters. tenant_id goes through a
 * sub-select so a tenant deleted while its CDRs sat in the spool gives NULL, not an FK error. */
enum cdr_ins_rc cdr_insert_rows(struct cdr_insert *ins, PGconn *conn, const struct cdr *recs, int n,
                                char *why, size_t whylen)
{
    static const char head[] =
        "INSERT INTO cdrs (tenant_id, call_uuid, a_call_id, b_call_id, caller, callee_dialled, "
        "callee_routed, gateway, node, start_at, progress_at, answer_at, end_at, duration_ms, "
        "billsec_ms, sip_status, q850_cause, hangup_by, codec_a, codec_b, media_a, media_b, "
        "failover) VALUES ";
    static const char row[] =
        "%s((SELECT id FROM tenants WHERE id = $%d::uuid), $%d::uuid, $%d, $%d, $%d, $%d, $%d, "
        "$%d, $%d, to_timestamp($%d::bigint / 1000.0), to_timestamp($%d::bigint / 1000.0), "
        "to_timestamp($%d::bigint / 1000.0), to_timestamp($%d::bigint / 1000.0), $%d::bigint, "
        "$%d::bigint, $%d::int, $%d::int, $%d, $%d, $%d, $%d::jsonb, $%d::jsonb, $%d::boolean)";
    static const char tail[] = " ON CONFLICT (call_uuid) DO NOTHING";
    size_t cap = sizeof head + sizeof tail + (size_t)n * (sizeof row + NPARAMS * 6);
    char *sql = malloc(cap);
    if (!sql) {
        snprintf(why, whylen, "out of memory");
        return CDR_INS_RETRY;
    }
    size_t used = (size_t)snprintf(sql, cap, "%s", head);
    for (int i = 0; i < n; i++) {
        const struct cdr *r = &recs[i];
        const char **p = &ins->params[i * NPARAMS];
        char(*t)[24] = ins->nums[i];
        long long end = r->end_ms > r->start_ms ? r->end_ms : r->start_ms;
        long long bill = r->answer_ms && end > r->answer_ms ? end - r->answer_ms : 0;
        const char *v[NPARAMS] = {opt(r->tenant_id),
                                  r->call_uuid,
                                  r->a_call_id,
                                  r->b_call_id,
                                  r->caller,
                                  r->callee_dialled,
                                  r->callee_routed,
                                  r->gateway,
                                  r->node,
                                  num(t[0], r->start_ms),
                                  ms(t[1], r->progress_ms),
                                  ms(t[2], r->answer_ms),
                                  num(t[3], end),
                                  num(t[4], end - r->start_ms),
                                  num(t[5], bill),
                                  num(t[6], r->sip_status),
                                  num(t[7], r->q850_cause),
                                  r->hangup_by,
                                  opt(r->codec_a),
                                  opt(r->codec_b),
                                  opt(r->media_a),
                                  opt(r->media_b),
                                  r->failover ? "true" : "false"};
        memcpy(p, v, sizeof v);
        int b = i * NPARAMS;
        used += (size_t)snprintf(sql + used, cap - used, row, i ? ", " : "", b + 1, b + 2, b + 3,
                                 b + 4, b + 5, b + 6, b + 7, b + 8, b + 9, b + 10, b + 11, b + 12,
                                 b + 13, b + 14, b + 15, b + 16, b + 17, b + 18, b + 19, b + 20,
                                 b + 21, b + 22, b + 23);
    }
    snprintf(sql + used, cap - used, "%s", tail);
    /* One statement is its own transaction: all rows of the batch commit, or none. */
    PGresult *res = PQexecParams(conn, sql, n * NPARAMS, NULL, ins->params, NULL, NULL, 0);
    free(sql);
    enum cdr_ins_rc rc = CDR_INS_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        snprintf(why, whylen, "%s", PQerrorMessage(conn));
        why[strcspn(why, "\n")] = '\0';
        /* Classes 22 (data) and 23 (integrity) are the rows' fault; anything else (connection,
         * timeout, missing table, shutdown) is the database's, and is retried later. */
        if (PQstatus(conn) == CONNECTION_OK && state && state[0] == '2' &&
            (state[1] == '2' || state[1] == '3'))
            rc = CDR_INS_DATA;
        else
            rc = CDR_INS_RETRY;
    }
    PQclear(res);
    return rc;
}
