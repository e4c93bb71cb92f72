/* Cache entries are keyed "user@domain". A fresh entry answers at once; a stale one is refreshed
 * from PostgreSQL but still answers when PostgreSQL is down, so registrations survive an outage.
 * Unknown users are cached briefly too, so scanners cannot turn REGISTERs into queries. */
#include "store/user_store.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/strmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NEGATIVE_SECONDS 30
#define USER_STORE_MAX_CONNS 16

const struct pg_statement user_store_statements[] = {
    {"user_by_extension",
     "SELECT t.id, u.ha1, u.enabled, coalesce(t.max_calls, 0), coalesce(t.max_cps::text, '') "
     "FROM users u JOIN tenants t ON t.id = u.tenant_id "
     "WHERE t.domain = $1 AND u.extension = $2",
     2},
};
const int user_store_nstatements = 1;

struct entry {
    struct user_info info;
    double fetched; /* monotonic seconds; 0 forces a refresh */
};

struct user_store {
    struct strmap *cache;
    struct pg_conn *pg[USER_STORE_MAX_CONNS];
    int npg;
    int cache_seconds;
};

struct lookup {
    struct user_store *us;
    user_lookup_f *cb;
    void *arg;
    char key[512];
};

struct user_store *user_store_create(int cache_seconds)
{
    struct user_store *us = calloc(1, sizeof *us);
    if (!us || !(us->cache = strmap_create())) {
        free(us);
        return NULL;
    }
    us->cache_seconds = cache_seconds;
    return us;
}

void user_store_destroy(struct user_store *us)
{
    if (!us)
        return;
    strmap_destroy(us->cache, free);
    free(us);
}

void user_store_attach(struct user_store *us, struct pg_conn *const *pg, int n)
{
    us->npg = n < USER_STORE_MAX_CONNS ? n : USER_STORE_MAX_CONNS;
    for (int i = 0; i < us->npg; i++)
        us->pg[i] = pg[i];
}

static struct pg_conn *least_busy(const struct user_store *us)
{
    struct pg_conn *best = NULL;
    for (int i = 0; i < us->npg; i++)
        if (pg_conn_connected(us->pg[i]) &&
            (!best || pg_conn_queued(us->pg[i]) < pg_conn_queued(best)))
            best = us->pg[i];
    return best;
}

static void on_result(void *arg, const PGresult *res)
{
    struct lookup *l = arg;
    struct user_store *us = l->us;
    struct entry *e = strmap_get(us->cache, l->key);
    if (res && PQresultStatus(res) == PGRES_TUPLES_OK) {
        if (!e && (e = calloc(1, sizeof *e)) && strmap_put(us->cache, l->key, e, NULL) != 0) {
            free(e);
            e = NULL;
        }
        struct entry fresh = {.fetched = clock_mono()};
        if (PQntuples(res) == 1) {
            fresh.info.found = 1;
            snprintf(fresh.info.tenant_id, sizeof fresh.info.tenant_id, "%s",
                     PQgetvalue(res, 0, 0));
            snprintf(fresh.info.ha1, sizeof fresh.info.ha1, "%s", PQgetvalue(res, 0, 1));
            fresh.info.enabled = PQgetvalue(res, 0, 2)[0] == 't';
            fresh.info.max_calls = atoi(PQgetvalue(res, 0, 3));
            snprintf(fresh.info.max_cps, sizeof fresh.info.max_cps, "%s", PQgetvalue(res, 0, 4));
        }
        if (e) {
            *e = fresh;
            l->cb(l->arg, &e->info);
        } else {
            l->cb(l->arg, &fresh.info);
        }
    } else {
        if (res)
            log_warn(NULL, "user lookup failed: %s", PQresultErrorMessage(res));
        l->cb(l->arg, e ? &e->info : NULL); /* stale beats nothing during an outage */
    }
    free(l);
}

void user_store_lookup(struct user_store *us, const char *domain, const char *user,
                       user_lookup_f *cb, void *arg)
{
    char key[512];
    snprintf(key, sizeof key, "%s@%s", user, domain);
    struct entry *e = strmap_get(us->cache, key);
    double now = clock_mono();
    if (e && e->fetched > 0) {
        double ttl = e->info.found ? us->cache_seconds : NEGATIVE_SECONDS;
        if (now - e->fetched < ttl) {
            cb(arg, &e->info);
            return;
        }
    }
    struct lookup *l = malloc(sizeof *l);
    if (l) {
        l->us = us;
        l->cb = cb;
        l->arg = arg;
        snprintf(l->key, sizeof l->key, "%s", key);
        const char *params[] = {domain, user};
        struct pg_conn *pg = least_busy(us);
        if (pg && pg_conn_query_prepared(pg, "user_by_extension", 2, params, on_result, l) == 0)
            return;
        free(l);
    }
    cb(arg, e ? &e->info : NULL);
}

struct domain_match {
    const char *suffix; /* "@domain" */
};

static int matches_domain(const char *key, void *value, void *arg)
{
    const struct domain_match *m = arg;
    size_t kl = strlen(key), sl = strlen(m->suffix);
    if (kl >= sl && strcmp(key + kl - sl, m->suffix) == 0) {
        free(value);
        return 1;
    }
    return 0;
}

void user_store_on_notify(void *arg, const char *channel, const char *payload)
{
    struct user_store *us = arg;
    (void)channel;
    char domain[256], user[128];
    if (sscanf(payload, "%255s %127s", domain, user) != 2)
        return;
    if (strcmp(user, "*") == 0) {
        char suffix[260];
        snprintf(suffix, sizeof suffix, "@%s", domain);
        struct domain_match m = {suffix};
        strmap_sweep(us->cache, matches_domain, &m);
    } else {
        char key[512];
        snprintf(key, sizeof key, "%s@%s", user, domain);
        free(strmap_remove(us->cache, key));
    }
    log_debug(NULL, "user cache: dropped %s %s", domain, user);
}

static int mark_stale(const char *key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    ((struct entry *)value)->fetched = 0;
    return 0;
}

void user_store_on_connected(void *arg)
{
    struct user_store *us = arg;
    /* Notifications sent while we were away are lost: refresh everything on next use. */
    strmap_sweep(us->cache, mark_stale, NULL);
}
