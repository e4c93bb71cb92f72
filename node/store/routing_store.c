/* A tenant's route table is read whole (one row per route and gateway, in order) and kept until
 * a NOTIFY names the tenant; its patterns are compiled once here. DID and source lookups are
 * not cached: they are one indexed row each. */
#include "store/routing_store.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/strmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONNS 16

const struct pg_statement routing_store_statements[] = {
    {"routing_table",
     "SELECT r.tenant_id, r.name, r.pattern, r.strip_digits, r.prepend, r.emergency, g.id, "
     "g.name, g.host, g.port, g.transport, coalesce(g.username, ''), coalesce(g.password, ''), "
     "g.originate_timeout_ms, g.progress_timeout_ms, g.bridge_answer_timeout_ms, "
     "array_to_string(g.failover_statuses, ','), g.caller_id_mode, r.id, "
     "coalesce(g.max_calls, 0), coalesce(g.max_cps::text, '') "
     "FROM tenants t JOIN routes r ON r.tenant_id = t.id AND r.enabled "
     "CROSS JOIN LATERAL unnest(r.gateway_ids) WITH ORDINALITY AS gw(id, ord) "
     "JOIN gateways g ON g.id = gw.id AND g.tenant_id = r.tenant_id AND g.enabled "
     "WHERE t.domain = $1 ORDER BY r.priority, r.name, r.id, gw.ord",
     1},
    {"routing_did",
     "SELECT d.tenant_id, t.domain, d.target FROM dids d JOIN tenants t ON t.id = d.tenant_id "
     "WHERE d.number = $1 AND d.target_type = 'extension'",
     1},
    {"routing_source",
     "SELECT g.id, g.tenant_id, t.domain, g.name, coalesce(t.max_calls, 0), "
     "coalesce(t.max_cps::text, '') FROM gateways g JOIN tenants t ON t.id = "
     "g.tenant_id CROSS JOIN LATERAL (SELECT max(masklen(c)) AS prefix_len FROM "
     "unnest(g.acl_cidrs) AS c WHERE c >>= $1::inet) m WHERE g.enabled AND m.prefix_len IS NOT "
     "NULL ORDER BY m.prefix_len DESC, g.created_at, g.id LIMIT 1",
     1},
    {"routing_gateways",
     "SELECT id, tenant_id, name, host, port, transport, coalesce(username, ''), "
     "coalesce(password, ''), register, register_expires, ping_interval FROM gateways "
     "WHERE enabled ORDER BY id",
     0},
};
const int routing_store_nstatements = 4;

/* Which gateway (if any) a source address belongs to, remembered so that INVITEs from phones
 * do not each cost a PostgreSQL query. Dropped whole on any change to the gateways table. */
struct source_entry {
    struct rt_source s;
    double fetched; /* clock_mono() */
};

#define SOURCE_CACHE_SECONDS 60
#define SOURCE_CACHE_MAX 100000

struct routing_store {
    struct strmap *tables;  /* domain -> struct rt_table */
    struct strmap *sources; /* source ip -> struct source_entry */
    struct pg_conn *pg[MAX_CONNS];
    int npg;
    routing_changed_f *on_gateways; /* told when the gateways table may have changed */
    void *on_gateways_arg;
};

static void table_free(void *p)
{
    struct rt_table *t = p;
    if (!t)
        return;
    for (int i = 0; i < t->nroutes; i++)
        regfree(&t->routes[i].re);
    free(t->routes);
    free(t);
}

struct routing_store *routing_store_create(void)
{
    struct routing_store *rs = calloc(1, sizeof *rs);
    if (!rs || !(rs->tables = strmap_create()) || !(rs->sources = strmap_create())) {
        if (rs)
            strmap_destroy(rs->tables, NULL);
        free(rs);
        return NULL;
    }
    return rs;
}

void routing_store_destroy(struct routing_store *rs)
{
    if (!rs)
        return;
    strmap_destroy(rs->tables, table_free);
    strmap_destroy(rs->sources, free);
    free(rs);
}

void routing_store_attach(struct routing_store *rs, struct pg_conn *const *pg, int n)
{
    rs->npg = n < MAX_CONNS ? n : MAX_CONNS;
    for (int i = 0; i < rs->npg; i++)
        rs->pg[i] = pg[i];
}

static struct pg_conn *least_busy(const struct routing_store *rs)
{
    struct pg_conn *best = NULL;
    for (int i = 0; i < rs->npg; i++)
        if (pg_conn_connected(rs->pg[i]) &&
            (!best || pg_conn_queued(rs->pg[i]) < pg_conn_queued(best)))
            best = rs->pg[i];
    return best;
}

static void copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

/* ---- route tables ---- */

struct table_query {
    struct routing_store *rs;
    routing_table_f *cb;
    void *arg;
    char domain[256];
};

static struct rt_table *parse_table(const PGresult *res)
{
    struct rt_table *t = calloc(1, sizeof *t);
    int rows = PQntuples(res);
    if (!t || (rows && !(t->routes = calloc((size_t)rows, sizeof *t->routes)))) {
        free(t);
        return NULL;
    }
    const char *last_route = "";
    for (int i = 0; i < rows; i++) {
        copy(t->tenant_id, sizeof t->tenant_id, PQgetvalue(res, i, 0));
        struct rt_route *r = t->nroutes ? &t->routes[t->nroutes - 1] : NULL;
        if (!r || strcmp(last_route, PQgetvalue(res, i, 18)) != 0) {
            r = &t->routes[t->nroutes];
            copy(r->name, sizeof r->name, PQgetvalue(res, i, 1));
            if (regcomp(&r->re, PQgetvalue(res, i, 2), REG_EXTENDED | REG_NOSUB) != 0) {
                log_warn(NULL, "routing: route %s: pattern does not compile; skipped", r->name);
                continue;
            }
            t->nroutes++;
            r->strip = atoi(PQgetvalue(res, i, 3));
            copy(r->prepend, sizeof r->prepend, PQgetvalue(res, i, 4));
            r->emergency = PQgetvalue(res, i, 5)[0] == 't';
            last_route = PQgetvalue(res, i, 18);
        }
        if (r->ngateways == RT_MAX_GATEWAYS)
            continue;
        struct rt_gateway *g = &r->gateways[r->ngateways++];
        copy(g->id, sizeof g->id, PQgetvalue(res, i, 6));
        copy(g->name, sizeof g->name, PQgetvalue(res, i, 7));
        copy(g->host, sizeof g->host, PQgetvalue(res, i, 8));
        g->port = atoi(PQgetvalue(res, i, 9));
        copy(g->transport, sizeof g->transport, PQgetvalue(res, i, 10));
        copy(g->username, sizeof g->username, PQgetvalue(res, i, 11));
        copy(g->password, sizeof g->password, PQgetvalue(res, i, 12));
        g->originate_ms = atoi(PQgetvalue(res, i, 13));
        g->progress_ms = atoi(PQgetvalue(res, i, 14));
        g->answer_ms = atoi(PQgetvalue(res, i, 15));
        for (const char *p = PQgetvalue(res, i, 16); *p && g->nfailover < RT_MAX_FAILOVER;) {
            g->failover[g->nfailover++] = atoi(p);
            p += strcspn(p, ",");
            p += *p == ',';
        }
        copy(g->caller_id_mode, sizeof g->caller_id_mode, PQgetvalue(res, i, 17));
        g->max_calls = atoi(PQgetvalue(res, i, 19));
        copy(g->max_cps, sizeof g->max_cps, PQgetvalue(res, i, 20));
    }
    return t;
}

static void on_table(void *arg, const PGresult *res)
{
    struct table_query *q = arg;
    struct rt_table *t = NULL;
    if (res && PQresultStatus(res) == PGRES_TUPLES_OK && (t = parse_table(res))) {
        void *old = NULL;
        if (strmap_put(q->rs->tables, q->domain, t, &old) != 0) {
            q->cb(q->arg, t);
            table_free(t);
            free(q);
            return;
        }
        table_free(old);
    } else if (res) {
        log_warn(NULL, "routing: table of %s: %s", q->domain, PQresultErrorMessage(res));
    }
    q->cb(q->arg, t ? t : strmap_get(q->rs->tables, q->domain));
    free(q);
}

void routing_store_table(struct routing_store *rs, const char *domain, routing_table_f *cb,
                         void *arg)
{
    struct rt_table *t = strmap_get(rs->tables, domain);
    if (t) {
        cb(arg, t);
        return;
    }
    struct table_query *q = calloc(1, sizeof *q);
    struct pg_conn *pg = least_busy(rs);
    const char *params[] = {domain};
    if (q && pg) {
        q->rs = rs;
        q->cb = cb;
        q->arg = arg;
        copy(q->domain, sizeof q->domain, domain);
        if (pg_conn_query_prepared(pg, "routing_table", 1, params, on_table, q) == 0)
            return;
    }
    free(q);
    cb(arg, NULL);
}

/* ---- DIDs and sources ---- */

struct small_query {
    routing_did_f *did_cb;
    routing_source_f *source_cb;
    void *arg;
    struct routing_store *rs; /* source lookups: where to remember the answer */
    char ip[64];
};

static void on_did(void *arg, const PGresult *res)
{
    struct small_query *q = arg;
    struct rt_did d = {0};
    if (res && PQresultStatus(res) == PGRES_TUPLES_OK) {
        d.ok = 1;
        if (PQntuples(res) == 1) {
            d.found = 1;
            copy(d.tenant_id, sizeof d.tenant_id, PQgetvalue(res, 0, 0));
            copy(d.domain, sizeof d.domain, PQgetvalue(res, 0, 1));
            copy(d.extension, sizeof d.extension, PQgetvalue(res, 0, 2));
        }
    }
    q->did_cb(q->arg, &d);
    free(q);
}

static void on_source(void *arg, const PGresult *res)
{
    struct small_query *q = arg;
    struct rt_source s = {0};
    if (res && PQresultStatus(res) == PGRES_TUPLES_OK) {
        s.ok = 1;
        if (PQntuples(res) == 1) {
            s.found = 1;
            copy(s.gateway_id, sizeof s.gateway_id, PQgetvalue(res, 0, 0));
            copy(s.tenant_id, sizeof s.tenant_id, PQgetvalue(res, 0, 1));
            copy(s.domain, sizeof s.domain, PQgetvalue(res, 0, 2));
            copy(s.name, sizeof s.name, PQgetvalue(res, 0, 3));
            s.tenant_max_calls = atoi(PQgetvalue(res, 0, 4));
            copy(s.tenant_max_cps, sizeof s.tenant_max_cps, PQgetvalue(res, 0, 5));
        }
        struct source_entry *e = malloc(sizeof *e);
        if (e && strmap_size(q->rs->sources) < SOURCE_CACHE_MAX) {
            e->s = s;
            e->fetched = clock_mono();
            void *old = NULL;
            if (strmap_put(q->rs->sources, q->ip, e, &old) != 0)
                free(e);
            free(old);
        } else {
            free(e);
        }
    }
    q->source_cb(q->arg, &s);
    free(q);
}

void routing_store_did(struct routing_store *rs, const char *number, routing_did_f *cb, void *arg)
{
    struct small_query *q = calloc(1, sizeof *q);
    struct pg_conn *pg = least_busy(rs);
    const char *params[] = {number};
    if (q && pg) {
        q->did_cb = cb;
        q->arg = arg;
        if (pg_conn_query_prepared(pg, "routing_did", 1, params, on_did, q) == 0)
            return;
    }
    free(q);
    struct rt_did none = {0};
    cb(arg, &none);
}

void routing_store_source(struct routing_store *rs, const char *ip, routing_source_f *cb, void *arg)
{
    struct source_entry *e = strmap_get(rs->sources, ip);
    if (e && clock_mono() - e->fetched < SOURCE_CACHE_SECONDS) {
        cb(arg, &e->s);
        return;
    }
    struct small_query *q = calloc(1, sizeof *q);
    struct pg_conn *pg = least_busy(rs);
    const char *params[] = {ip};
    if (q && pg) {
        q->source_cb = cb;
        q->arg = arg;
        q->rs = rs;
        copy(q->ip, sizeof q->ip, ip);
        if (pg_conn_query_prepared(pg, "routing_source", 1, params, on_source, q) == 0)
            return;
    }
    free(q);
    struct rt_source none = {0};
    cb(arg, &none);
}

/* ---- every enabled gateway (for pinging and registering) ---- */

struct gateways_query {
    routing_gateways_f *cb;
    void *arg;
};

static void on_gateways(void *arg, const PGresult *res)
{
    struct gateways_query *q = arg;
    int rows = res && PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : -1;
    struct rt_gateway_conf *gws = rows > 0 ? calloc((size_t)rows, sizeof *gws) : NULL;
    if (rows > 0 && !gws)
        rows = -1;
    for (int i = 0; i < rows; i++) {
        struct rt_gateway_conf *g = &gws[i];
        copy(g->id, sizeof g->id, PQgetvalue(res, i, 0));
        copy(g->tenant_id, sizeof g->tenant_id, PQgetvalue(res, i, 1));
        copy(g->name, sizeof g->name, PQgetvalue(res, i, 2));
        copy(g->host, sizeof g->host, PQgetvalue(res, i, 3));
        g->port = atoi(PQgetvalue(res, i, 4));
        copy(g->transport, sizeof g->transport, PQgetvalue(res, i, 5));
        copy(g->username, sizeof g->username, PQgetvalue(res, i, 6));
        copy(g->password, sizeof g->password, PQgetvalue(res, i, 7));
        g->reg = PQgetvalue(res, i, 8)[0] == 't';
        g->reg_expires = atoi(PQgetvalue(res, i, 9));
        g->ping_interval = atoi(PQgetvalue(res, i, 10));
    }
    if (rows < 0 && res)
        log_warn(NULL, "routing: gateway list: %s", PQresultErrorMessage(res));
    q->cb(q->arg, gws, rows);
    free(gws);
    free(q);
}

void routing_store_gateways(struct routing_store *rs, routing_gateways_f *cb, void *arg)
{
    struct gateways_query *q = calloc(1, sizeof *q);
    struct pg_conn *pg = least_busy(rs);
    if (q && pg) {
        q->cb = cb;
        q->arg = arg;
        if (pg_conn_query_prepared(pg, "routing_gateways", 0, NULL, on_gateways, q) == 0)
            return;
    }
    free(q);
    cb(arg, NULL, -1);
}

void routing_store_watch_gateways(struct routing_store *rs, routing_changed_f *cb, void *arg)
{
    rs->on_gateways = cb;
    rs->on_gateways_arg = arg;
}

/* ---- invalidation ---- */

static int of_tenant(const char *key, void *value, void *arg)
{
    (void)key;
    struct rt_table *t = value;
    if (arg && strcmp(t->tenant_id, arg) != 0 && t->tenant_id[0])
        return 0;
    table_free(t);
    return 1;
}

static int forget_source(const char *key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    free(value);
    return 1;
}

void routing_store_on_notify(void *arg, const char *channel, const char *payload)
{
    struct routing_store *rs = arg;
    (void)channel;
    char tenant[40] = "", table[32] = "";
    sscanf(payload, "%39s %31s", tenant, table);
    /* An empty table has no tenant id to match: it goes with every notification. */
    strmap_sweep(rs->tables, of_tenant, tenant);
    if (strcmp(table, "gateways") == 0) /* a new ACL anywhere may claim any address */
        strmap_sweep(rs->sources, forget_source, NULL);
    if (rs->on_gateways && strcmp(table, "gateways") == 0)
        rs->on_gateways(rs->on_gateways_arg);
}

void routing_store_on_connected(void *arg)
{
    struct routing_store *rs = arg;
    strmap_sweep(rs->tables, of_tenant, NULL);
    strmap_sweep(rs->sources, forget_source, NULL);
    if (rs->on_gateways) /* notifications may have been lost */
        rs->on_gateways(rs->on_gateways_arg);
}
