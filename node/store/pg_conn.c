/* libpq's asynchronous API driven by su_root readiness events. A query that outlives the
 * timeout closes the connection (PQcancel would block the loop), failing every queued query. */
#include "store/pg_conn.h"

#include "common/clock.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECONNECT_MS 1000
#define QUEUE_MAX 10000

enum query_kind { QUERY_TEXT, QUERY_PREPARE, QUERY_PREPARED };

struct query {
    struct query *next;
    enum query_kind kind;
    pg_result_f *cb;
    void *arg;
    int nparams;
    char **params;
    char *sql;  /* the SQL text (TEXT, PREPARE) */
    char *name; /* the statement name (PREPARE, PREPARED) */
};

struct pg_conn {
    su_root_t *root;
    struct pg_conn_options opt;
    char *conninfo, *channel;
    PGconn *pg;
    int connected; /* connection established and usable */
    int fd, wait_index, events;
    double started;            /* connect start, or when the in-flight query was sent */
    struct query *head, *tail; /* head is in flight when inflight is set */
    int inflight, queued;
    PGresult *result; /* first result of the in-flight query */
    su_timer_t *watchdog, *reconnect;
};

static int wakeup(su_root_magic_t *m, su_wait_t *w, su_wakeup_arg_t *arg);

static void watch(struct pg_conn *c, int fd, int events)
{
    if (c->wait_index >= 0 && fd != c->fd) {
        su_root_deregister(c->root, c->wait_index);
        c->wait_index = -1;
    }
    c->fd = fd;
    if (fd < 0)
        return;
    if (c->wait_index < 0) {
        su_wait_t w;
        if (su_wait_create(&w, fd, events) == 0)
            c->wait_index = su_root_register(c->root, &w, wakeup, (su_wakeup_arg_t *)c, 0);
    } else if (events != c->events) {
        su_root_eventmask(c->root, c->wait_index, fd, events);
    }
    c->events = events;
}

static void free_query(struct query *q)
{
    for (int i = 0; q->params && i < q->nparams; i++)
        free(q->params[i]);
    free(q->params);
    free(q->sql);
    free(q->name);
    free(q);
}

static void set_up(struct pg_conn *c, int up)
{
    if (c->connected != up)
        log_info(NULL, "postgresql %s", up ? "connected" : "disconnected");
    c->connected = up;
    if (c->opt.up)
        atomic_store(c->opt.up, up);
}

static void drop_connection(struct pg_conn *c, const char *why)
{
    if (c->pg)
        log_warn(NULL, "postgresql connection dropped: %s", why);
    watch(c, -1, 0);
    if (c->pg)
        PQfinish(c->pg);
    c->pg = NULL;
    if (c->result)
        PQclear(c->result);
    c->result = NULL;
    c->inflight = 0;
    set_up(c, 0);
    /* Fail everything queued: callers fall back (cached users) or answer 503. */
    struct query *q = c->head;
    c->head = c->tail = NULL;
    c->queued = 0;
    while (q) {
        struct query *next = q->next;
        if (q->cb)
            q->cb(q->arg, NULL);
        free_query(q);
        q = next;
    }
}

static void start_next(struct pg_conn *c)
{
    if (c->inflight || !c->head || !c->connected)
        return;
    struct query *q = c->head;
    const char *const *params = (const char *const *)q->params;
    int sent = q->kind == QUERY_PREPARE ? PQsendPrepare(c->pg, q->name, q->sql, q->nparams, NULL)
               : q->kind == QUERY_PREPARED
                   ? PQsendQueryPrepared(c->pg, q->name, q->nparams, params, NULL, NULL, 0)
                   : PQsendQueryParams(c->pg, q->sql, q->nparams, NULL, params, NULL, NULL, 0);
    if (!sent) {
        drop_connection(c, PQerrorMessage(c->pg));
        return;
    }
    c->inflight = 1;
    c->started = clock_mono();
    int flush = PQflush(c->pg);
    if (flush < 0)
        drop_connection(c, PQerrorMessage(c->pg));
    else
        watch(c, PQsocket(c->pg), SU_WAIT_IN | (flush ? SU_WAIT_OUT : 0));
}

static void finish_query(struct pg_conn *c)
{
    struct query *q = c->head;
    c->head = q->next;
    if (!c->head)
        c->tail = NULL;
    c->queued--;
    c->inflight = 0;
    PGresult *res = c->result;
    c->result = NULL;
    if (q->cb)
        q->cb(q->arg, res);
    if (res)
        PQclear(res);
    free_query(q);
}

static void read_results(struct pg_conn *c)
{
    if (!PQconsumeInput(c->pg)) {
        drop_connection(c, PQerrorMessage(c->pg));
        return;
    }
    PGnotify *n;
    while ((n = PQnotifies(c->pg))) {
        if (c->opt.on_notify)
            c->opt.on_notify(c->opt.arg, n->relname, n->extra);
        PQfreemem(n);
    }
    while (c->pg && c->inflight && !PQisBusy(c->pg)) {
        PGresult *r = PQgetResult(c->pg);
        if (!r) {
            finish_query(c);
            break;
        }
        if (!c->result)
            c->result = r;
        else
            PQclear(r);
    }
    if (c->pg)
        start_next(c);
}

static int enqueue(struct pg_conn *c, enum query_kind kind, const char *name, const char *sql,
                   int nparams, const char *const *params, pg_result_f *cb, void *arg);
static void on_prepared(void *arg, const PGresult *res);

static void on_established(struct pg_conn *c)
{
    set_up(c, 1);
    watch(c, PQsocket(c->pg), SU_WAIT_IN);
    /* Identifiers cannot be parameters; the channel names come from our own code. One LISTEN
     * per channel: an extended-protocol query may not hold several statements. */
    for (const char *ch = c->channel; ch && *ch;) {
        size_t len = strcspn(ch, ",");
        char sql[128];
        snprintf(sql, sizeof sql, "LISTEN %.*s", (int)len, ch);
        pg_conn_query(c, sql, 0, NULL, NULL, NULL);
        ch += len + (ch[len] == ',');
    }
    /* Queued first, so every query after this point finds its statement prepared. */
    for (int i = 0; i < c->opt.nstatements; i++) {
        const struct pg_statement *st = &c->opt.statements[i];
        enqueue(c, QUERY_PREPARE, st->name, st->sql, st->nparams, NULL, on_prepared,
                (void *)st->name);
    }
    if (c->opt.on_connected)
        c->opt.on_connected(c->opt.arg);
}

static void poll_connect(struct pg_conn *c)
{
    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_READING:
        watch(c, PQsocket(c->pg), SU_WAIT_IN);
        break;
    case PGRES_POLLING_WRITING:
        watch(c, PQsocket(c->pg), SU_WAIT_OUT);
        break;
    case PGRES_POLLING_OK:
        on_established(c);
        break;
    default:
        log_debug(NULL, "postgresql connect failed: %s", PQerrorMessage(c->pg));
        drop_connection(c, "connect failed");
        break;
    }
}

static int wakeup(su_root_magic_t *m, su_wait_t *w, su_wakeup_arg_t *arg)
{
    (void)m;
    (void)w;
    struct pg_conn *c = (struct pg_conn *)arg;
    if (!c->pg)
        return 0;
    if (!c->connected) {
        poll_connect(c);
        return 0;
    }
    int revents = su_wait_events(w, c->fd);
    if (revents & SU_WAIT_OUT) {
        int flush = PQflush(c->pg);
        if (flush < 0) {
            drop_connection(c, PQerrorMessage(c->pg));
            return 0;
        }
        watch(c, c->fd, SU_WAIT_IN | (flush ? SU_WAIT_OUT : 0));
    }
    if (revents & (SU_WAIT_IN | SU_WAIT_HUP | SU_WAIT_ERR))
        read_results(c);
    return 0;
}

static void start_connect(struct pg_conn *c)
{
    c->pg = PQconnectStart(c->conninfo);
    if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) {
        log_debug(NULL, "postgresql connect failed: %s",
                  c->pg ? PQerrorMessage(c->pg) : "out of memory");
        drop_connection(c, "connect failed");
        return;
    }
    PQsetnonblocking(c->pg, 1);
    c->started = clock_mono();
    poll_connect(c);
}

static void reconnect_fire(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)m;
    (void)t;
    struct pg_conn *c = (struct pg_conn *)arg;
    if (!c->pg)
        start_connect(c);
}

static void watchdog_fire(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)m;
    (void)t;
    struct pg_conn *c = (struct pg_conn *)arg;
    if (!c->pg) {
        if (!su_timer_is_set(c->reconnect))
            su_timer_set(c->reconnect, reconnect_fire, (su_timer_arg_t *)c);
        return;
    }
    double limit = c->opt.timeout_ms / 1000.0;
    if ((!c->connected || c->inflight) && clock_mono() - c->started > limit)
        drop_connection(c, c->connected ? "query timed out" : "connect timed out");
}

struct pg_conn *pg_conn_create(su_root_t *root, const struct pg_conn_options *opt)
{
    struct pg_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->root = root;
    c->opt = *opt;
    c->fd = -1;
    c->wait_index = -1;
    c->conninfo = strdup(opt->conninfo);
    c->channel = opt->listen_channel ? strdup(opt->listen_channel) : NULL;
    c->watchdog = su_timer_create(su_root_task(root), 100);
    c->reconnect = su_timer_create(su_root_task(root), RECONNECT_MS);
    if (!c->conninfo || (opt->listen_channel && !c->channel) || !c->watchdog || !c->reconnect) {
        pg_conn_destroy(c);
        return NULL;
    }
    su_timer_set_for_ever(c->watchdog, watchdog_fire, (su_timer_arg_t *)c);
    if (c->opt.up)
        atomic_store(c->opt.up, 0);
    start_connect(c);
    return c;
}

void pg_conn_destroy(struct pg_conn *c)
{
    if (!c)
        return;
    if (c->watchdog)
        su_timer_destroy(c->watchdog);
    if (c->reconnect)
        su_timer_destroy(c->reconnect);
    c->reconnect = NULL;
    c->watchdog = NULL;
    c->opt.on_notify = NULL;
    watch(c, -1, 0);
    if (c->pg)
        PQfinish(c->pg);
    c->pg = NULL;
    if (c->result)
        PQclear(c->result);
    while (c->head) {
        struct query *q = c->head;
        c->head = q->next;
        if (q->cb)
            q->cb(q->arg, NULL);
        free_query(q);
    }
    free(c->conninfo);
    free(c->channel);
    free(c);
}

int pg_conn_connected(const struct pg_conn *c)
{
    return c->connected;
}

int pg_conn_queued(const struct pg_conn *c)
{
    return c->queued;
}

static int enqueue(struct pg_conn *c, enum query_kind kind, const char *name, const char *sql,
                   int nparams, const char *const *params, pg_result_f *cb, void *arg)
{
    if (!c->connected || c->queued >= QUEUE_MAX)
        return -1;
    struct query *q = calloc(1, sizeof *q);
    if (!q)
        return -1;
    q->kind = kind;
    q->cb = cb;
    q->arg = arg;
    q->sql = sql ? strdup(sql) : NULL;
    q->name = name ? strdup(name) : NULL;
    int ok = (!sql || q->sql) && (!name || q->name);
    if (kind == QUERY_PREPARE) { /* the parameters are counted, not given */
        q->nparams = nparams;
        nparams = 0;
    }
    q->params = nparams ? calloc((size_t)nparams, sizeof *q->params) : NULL;
    ok = ok && (!nparams || q->params);
    for (int i = 0; ok && i < nparams; i++) {
        q->nparams = i + 1;
        ok = (q->params[i] = strdup(params[i] ? params[i] : "")) != NULL;
    }
    if (!ok) {
        free_query(q);
        return -1;
    }
    if (c->tail)
        c->tail->next = q;
    else
        c->head = q;
    c->tail = q;
    c->queued++;
    start_next(c);
    return 0;
}

int pg_conn_query(struct pg_conn *c, const char *sql, int nparams, const char *const *params,
                  pg_result_f *cb, void *arg)
{
    return enqueue(c, QUERY_TEXT, NULL, sql, nparams, params, cb, arg);
}

int pg_conn_query_prepared(struct pg_conn *c, const char *name, int nparams,
                           const char *const *params, pg_result_f *cb, void *arg)
{
    return enqueue(c, QUERY_PREPARED, name, NULL, nparams, params, cb, arg);
}

static void on_prepared(void *arg, const PGresult *res)
{
    const char *name = arg;
    if (res && PQresultStatus(res) != PGRES_COMMAND_OK)
        log_error(NULL, "postgresql: cannot prepare %s: %s", name, PQresultErrorMessage(res));
}
