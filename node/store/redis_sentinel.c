/* One sentinel at a time over a short-lived hiredis async connection on the su_root; a timer
 * bounds each sentinel to timeout_ms (connect plus answer), so a silent one costs that much and
 * the round moves on. A fresh connection per round costs a TCP handshake to a sentinel on every
 * Redis reconnect only, and leaves nothing to watch between rounds. */
#include "store/redis_sentinel.h"

#include "common/log.h"
#include "store/redis_su.h"

#include <hiredis/async.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct redis_sentinel {
    su_root_t *root;
    struct config_hostport *sentinels;
    int n;
    char *master_name, *password;
    int timeout_ms;
    su_timer_t *timer;
    redisAsyncContext *ac; /* the sentinel being asked; NULL between attempts */
    int current;           /* index of the sentinel asked now, or that answered last */
    int tried;             /* sentinels tried in this round */
    int running;
    redis_sentinel_found_f *found;
    void *arg;
};

static void try_current(struct redis_sentinel *s);

/* Forgets the context; hiredis frees it (now, or after the callback running it returns). */
static void drop(struct redis_sentinel *s)
{
    redisAsyncContext *ac = s->ac;
    if (!ac)
        return;
    s->ac = NULL;
    ac->onDisconnect = NULL; /* ours would only see an old context */
    redisAsyncFree(ac);
}

static void finish(struct redis_sentinel *s, const char *host, int port)
{
    su_timer_reset(s->timer);
    drop(s);
    s->running = 0;
    s->found(s->arg, host, port);
}

static void try_next(struct redis_sentinel *s, const char *why)
{
    const struct config_hostport *h = &s->sentinels[s->current];
    log_warn(NULL, "redis sentinel %s:%d: %s", h->host, h->port, why);
    drop(s);
    if (++s->tried >= s->n) {
        finish(s, NULL, 0);
        return;
    }
    s->current = (s->current + 1) % s->n;
    try_current(s);
}

static void on_timeout(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)m;
    (void)t;
    struct redis_sentinel *s = (struct redis_sentinel *)arg;
    if (s->running)
        try_next(s, "no answer in time");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct redis_sentinel *s = ac->data;
    if (status == REDIS_OK || ac != s->ac)
        return;
    s->ac = NULL; /* hiredis frees it after this callback */
    try_next(s, ac->errstr[0] ? ac->errstr : "cannot connect");
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    (void)status;
    struct redis_sentinel *s = ac->data;
    if (ac != s->ac)
        return;
    s->ac = NULL;
    try_next(s, "closed the connection");
}

static void on_address(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)privdata;
    struct redis_sentinel *s = ac->data;
    if (ac != s->ac)
        return; /* a dropped attempt's context being freed */
    redisReply *reply = r;
    if (!reply) {
        try_next(s, "no answer");
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        char why[300];
        snprintf(why, sizeof why, "%s", reply->str);
        try_next(s, why);
        return;
    }
    char host[256];
    int port = 0;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[0]->type == REDIS_REPLY_STRING &&
        reply->element[1]->type == REDIS_REPLY_STRING && reply->element[0]->len < sizeof host) {
        memcpy(host, reply->element[0]->str, reply->element[0]->len);
        host[reply->element[0]->len] = '\0';
        port = atoi(reply->element[1]->str);
    }
    if (port < 1 || port > 65535) {
        char why[300];
        snprintf(why, sizeof why, "does not know master '%s'", s->master_name);
        try_next(s, why);
        return;
    }
    finish(s, host, port); /* s->current stays: the next round asks this one first */
}

static void try_current(struct redis_sentinel *s)
{
    const struct config_hostport *h = &s->sentinels[s->current];
    /* hiredis resolves a host name with a blocking getaddrinfo: configure addresses. */
    redisAsyncContext *ac = redisAsyncConnect(h->host, h->port);
    if (!ac || ac->err || redis_su_attach(ac, s->root) != 0) {
        char why[300];
        snprintf(why, sizeof why, "%s", ac && ac->err ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        try_next(s, why);
        return;
    }
    s->ac = ac;
    ac->data = s;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    su_timer_set_interval(s->timer, on_timeout, (su_timer_arg_t *)s, (su_duration_t)s->timeout_ms);
    /* Queued now, sent once connected; a failed AUTH shows as an error on the question. */
    if (s->password) {
        const char *auth[] = {"AUTH", s->password};
        redisAsyncCommandArgv(ac, NULL, NULL, 2, auth, NULL);
    }
    const char *ask[] = {"SENTINEL", "get-master-addr-by-name", s->master_name};
    if (redisAsyncCommandArgv(ac, on_address, NULL, 3, ask, NULL) != REDIS_OK)
        try_next(s, "cannot queue the question");
}

/* Deferred start, so found never runs inside redis_sentinel_ask. */
static void on_start(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)m;
    (void)t;
    try_current((struct redis_sentinel *)arg);
}

int redis_sentinel_ask(struct redis_sentinel *s, redis_sentinel_found_f *found, void *arg)
{
    if (s->running)
        return -1;
    s->running = 1;
    s->tried = 0;
    s->found = found;
    s->arg = arg;
    if (su_timer_set_interval(s->timer, on_start, (su_timer_arg_t *)s, 0) != 0) {
        s->running = 0;
        return -1;
    }
    return 0;
}

struct redis_sentinel *redis_sentinel_create(su_root_t *root,
                                             const struct redis_sentinel_options *opt)
{
    struct redis_sentinel *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->root = root;
    s->n = opt->nsentinels;
    s->timeout_ms = opt->timeout_ms;
    s->sentinels =
        calloc((size_t)(opt->nsentinels > 0 ? opt->nsentinels : 1), sizeof *s->sentinels);
    s->master_name = strdup(opt->master_name);
    s->password = opt->password && *opt->password ? strdup(opt->password) : NULL;
    s->timer = su_timer_create(su_root_task(root), opt->timeout_ms);
    if (!s->sentinels || !s->master_name || (opt->password && *opt->password && !s->password) ||
        !s->timer || s->n < 1) {
        redis_sentinel_destroy(s);
        return NULL;
    }
    memcpy(s->sentinels, opt->sentinels, (size_t)s->n * sizeof *s->sentinels);
    return s;
}

void redis_sentinel_destroy(struct redis_sentinel *s)
{
    if (!s)
        return;
    if (s->timer)
        su_timer_destroy(s->timer);
    drop(s);
    free(s->sentinels);
    free(s->master_name);
    free(s->password);
    free(s);
}
