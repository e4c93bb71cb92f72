/* The signalling loop's Redis connection (events through redis_su), plus what hiredis 0.14 lacks:
 * timeouts, and the master's address from Sentinel when redis.sentinels is set.
 * Replies arrive in order, so the oldest unanswered request is the head of a FIFO; a watchdog
 * timer drops the connection when it is older than the timeout, failing every pending request. */
#include "store/redis_conn.h"

#include "common/clock.h"
#include "common/log.h"
#include "store/redis_sentinel.h"
#include "store/redis_su.h"

#include <hiredis/async.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECONNECT_MS 500
/* While connected, the sentinels are asked this often whether the master moved. Sentinel
 * demotes a live old master only when its next INFO (every 10 s) shows it still a master, and
 * kills our connection then; until that, our writes there would be lost at its resync. Asking
 * costs one short TCP connection to a sentinel per interval and per node. */
#define SENTINEL_POLL_MS 1000

struct redis_script {
    struct redis_script *next;
    char *source;
    char sha[41];
};

struct pending {
    struct pending *next;
    struct redis_conn *conn;
    redis_reply_f *cb;
    void *arg;
    double sent_at;
};

struct redis_conn {
    su_root_t *root;
    struct redis_conn_options opt;
    char host[256]; /* where we connect: redis.host, or the master a sentinel named */
    int port;
    char *password;
    struct redis_sentinel *sentinel; /* NULL without redis.sentinels */
    redisAsyncContext *ac;
    int connected;
    double connect_started;
    su_timer_t *watchdog, *reconnect, *poll;
    struct pending *head, *tail;
    struct redis_script *scripts;
};

static void set_up(struct redis_conn *c, int up)
{
    if (c->connected != up)
        log_info(NULL, "redis %s:%d %s", c->host, c->port, up ? "connected" : "disconnected");
    c->connected = up;
    if (c->opt.up)
        atomic_store(c->opt.up, up);
}

static void schedule_reconnect(struct redis_conn *c);

/* Drops the connection on purpose; pending requests fail (their callbacks see NULL). Inside a
 * reply callback hiredis frees the context once the callback returns. */
static void drop_connection(struct redis_conn *c)
{
    redisAsyncContext *ac = c->ac;
    c->ac = NULL;
    if (ac)
        redisAsyncFree(ac);
    set_up(c, 0);
    schedule_reconnect(c);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct redis_conn *c = ac->data;
    if (c->ac && c->ac != ac)
        return; /* an old context, dropped on purpose, being freed */
    if (status != REDIS_OK)
        log_warn(NULL, "redis connection lost: %s", ac->errstr[0] ? ac->errstr : "closed");
    c->ac = NULL;
    set_up(c, 0);
    schedule_reconnect(c);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct redis_conn *c = ac->data;
    if (status != REDIS_OK) {
        log_debug(NULL, "redis connect to %s:%d failed: %s", c->host, c->port, ac->errstr);
        c->ac = NULL; /* hiredis frees the context after this callback */
        set_up(c, 0);
        schedule_reconnect(c);
        return;
    }
    if (!c->sentinel) /* with sentinels, only once ROLE says this is the master */
        set_up(c, 1);
}

/* A sentinel's answer may be stale (the failover it reports is not done yet, or another one
 * followed): writes to a replica would fail, so anything but a master is dropped and the
 * sentinels are asked again. */
static void on_role(void *arg, redisReply *reply)
{
    struct redis_conn *c = arg;
    if (!c->ac)
        return; /* dropped meanwhile */
    int master = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                 reply->element[0]->type == REDIS_REPLY_STRING &&
                 strcmp(reply->element[0]->str, "master") == 0;
    if (master) {
        set_up(c, 1);
        return;
    }
    const char *role = !reply                             ? "no answer"
                       : reply->type == REDIS_REPLY_ERROR ? reply->str
                       : reply->type == REDIS_REPLY_ARRAY && reply->elements &&
                               reply->element[0]->type == REDIS_REPLY_STRING
                           ? reply->element[0]->str
                           : "unexpected reply";
    log_warn(NULL, "redis %s:%d is not the master (ROLE: %s); asking the sentinels again", c->host,
             c->port, role);
    drop_connection(c);
}

static void pop_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct pending *p = privdata;
    struct redis_conn *c = p->conn;
    /* Pending requests are answered in order; unlink this one from the FIFO. */
    struct pending **pp = &c->head, *prev = NULL;
    while (*pp && *pp != p) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp) {
        *pp = p->next;
        if (c->tail == p)
            c->tail = prev;
    }
    redisReply *reply = r;
    if (reply && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOSCRIPT", 8) == 0)
        log_error(NULL, "redis lost our scripts (SCRIPT FLUSH?); reconnecting reloads them");
    int demoted = c->sentinel && ac == c->ac && reply && reply->type == REDIS_REPLY_ERROR &&
                  strncmp(reply->str, "READONLY", 8) == 0;
    if (p->cb)
        p->cb(p->arg, reply);
    free(p);
    /* Our master became a replica: a failover happened. Its address is asked again rather
     * than writing on into a server that refuses (or, worse, later accepts) our writes. */
    if (demoted && ac == c->ac) {
        log_warn(NULL, "redis %s:%d answers READONLY: it was demoted; asking the sentinels",
                 c->host, c->port);
        drop_connection(c);
    }
}

/* Queues a command on the context whether or not the connection has completed yet. */
static int send_argv(struct redis_conn *c, redis_reply_f *cb, void *arg, int argc,
                     const char **argv, const size_t *lens)
{
    if (!c->ac)
        return -1;
    struct pending *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    p->conn = c;
    p->cb = cb;
    p->arg = arg;
    p->sent_at = clock_mono();
    if (redisAsyncCommandArgv(c->ac, pop_reply, p, argc, argv, lens) != REDIS_OK) {
        free(p);
        return -1;
    }
    if (c->tail)
        c->tail->next = p;
    else
        c->head = p;
    c->tail = p;
    return 0;
}

static void start_connect(struct redis_conn *c)
{
    c->ac = redisAsyncConnect(c->host, c->port);
    if (!c->ac || c->ac->err || redis_su_attach(c->ac, c->root) != 0) {
        log_warn(NULL, "redis connect to %s:%d: %s", c->host, c->port,
                 c->ac && c->ac->err ? c->ac->errstr : "out of memory");
        if (c->ac)
            redisAsyncFree(c->ac);
        c->ac = NULL;
        schedule_reconnect(c);
        return;
    }
    c->ac->data = c;
    c->connect_started = clock_mono();
    redisAsyncSetConnectCallback(c->ac, on_connect);
    redisAsyncSetDisconnectCallback(c->ac, on_disconnect);
    /* Commands queued before the connection completes go out in order once it does: the
     * password, the role check and the scripts therefore precede anything the node sends. */
    if (c->password) {
        const char *argv[] = {"AUTH", c->password};
        send_argv(c, NULL, NULL, 2, argv, NULL);
    }
    if (c->sentinel) {
        const char *argv[] = {"ROLE"};
        send_argv(c, on_role, c, 1, argv, NULL);
    }
    for (struct redis_script *s = c->scripts; s; s = s->next) {
        const char *argv[] = {"SCRIPT", "LOAD", s->source};
        send_argv(c, NULL, NULL, 3, argv, NULL);
    }
}

static void on_master(void *arg, const char *host, int port)
{
    struct redis_conn *c = arg;
    if (!host) {
        log_warn(NULL, "redis: no sentinel named a master for '%s'; retrying", c->opt.master_name);
        schedule_reconnect(c);
        return;
    }
    if (strcmp(host, c->host) != 0 || port != c->port) {
        log_info(NULL, "redis sentinel names %s:%d as master '%s'", host, port, c->opt.master_name);
        snprintf(c->host, sizeof c->host, "%s", host);
        c->port = port;
    }
    if (!c->ac)
        start_connect(c);
}

static void reconnect_fire(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)m;
    (void)t;
    struct redis_conn *c = (struct redis_conn *)arg;
    if (c->ac)
        return;
    if (!c->sentinel)
        start_connect(c);
    else if (redis_sentinel_ask(c->sentinel, on_master, c) != 0)
        schedule_reconnect(c); /* a round is still running (it reconnects) or no memory */
}

static void schedule_reconnect(struct redis_conn *c)
{
    if (c->reconnect) /* NULL while the connection is being destroyed */
        su_timer_set(c->reconnect, reconnect_fire, (su_timer_arg_t *)c);
}

static void on_poll_answer(void *arg, const char *host, int port)
{
    struct redis_conn *c = arg;
    /* No answer says nothing about the master: keep a working connection. */
    if (!host || !c->connected || (strcmp(host, c->host) == 0 && port == c->port))
        return;
    log_warn(NULL, "redis sentinel now names %s:%d as master '%s'; leaving %s:%d", host, port,
             c->opt.master_name, c->host, c->port);
    drop_connection(c);
}

static void poll_fire(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)m;
    (void)t;
    struct redis_conn *c = (struct redis_conn *)arg;
    if (c->connected)
        redis_sentinel_ask(c->sentinel, on_poll_answer, c); /* -1: a round runs already */
}

static void watchdog_fire(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)m;
    (void)t;
    struct redis_conn *c = (struct redis_conn *)arg;
    if (!c->ac)
        return;
    double now = clock_mono(), limit = c->opt.timeout_ms / 1000.0;
    int stuck_connect = !c->connected && now - c->connect_started > limit;
    int stuck_reply = c->head && now - c->head->sent_at > limit;
    if (stuck_connect || stuck_reply) {
        log_warn(NULL, "redis %s:%d %s within %d ms; dropping the connection", c->host, c->port,
                 stuck_connect ? "did not accept" : "did not answer", c->opt.timeout_ms);
        /* Fails every pending request (callbacks see NULL), then the disconnect callback. */
        drop_connection(c);
    }
}

struct redis_conn *redis_conn_create(su_root_t *root, const struct redis_conn_options *opt)
{
    struct redis_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->root = root;
    c->opt = *opt;
    snprintf(c->host, sizeof c->host, "%s", opt->host ? opt->host : "");
    c->port = opt->port;
    c->password = opt->password && *opt->password ? strdup(opt->password) : NULL;
    int tick = opt->timeout_ms / 4 < 50 ? 50 : opt->timeout_ms / 4;
    c->watchdog = su_timer_create(su_root_task(root), tick);
    c->reconnect = su_timer_create(su_root_task(root), RECONNECT_MS);
    int no_password = opt->password && *opt->password && !c->password;
    if (opt->nsentinels > 0) {
        struct redis_sentinel_options so = {.sentinels = opt->sentinels,
                                            .nsentinels = opt->nsentinels,
                                            .master_name = opt->master_name,
                                            .password = opt->sentinel_password,
                                            .timeout_ms = opt->timeout_ms};
        c->sentinel = redis_sentinel_create(root, &so);
        c->poll = su_timer_create(su_root_task(root), SENTINEL_POLL_MS);
    }
    if (no_password || !c->watchdog || !c->reconnect ||
        (opt->nsentinels > 0 && (!c->sentinel || !c->poll))) {
        redis_conn_destroy(c);
        return NULL;
    }
    su_timer_set_for_ever(c->watchdog, watchdog_fire, (su_timer_arg_t *)c);
    if (c->opt.up)
        atomic_store(c->opt.up, 0);
    if (c->sentinel) {
        su_timer_set_for_ever(c->poll, poll_fire, (su_timer_arg_t *)c);
        c->host[0] = '\0'; /* unknown until a sentinel names it */
        c->port = 0;
        reconnect_fire(NULL, NULL, (su_timer_arg_t *)c);
    } else {
        start_connect(c);
    }
    return c;
}

void redis_conn_destroy(struct redis_conn *c)
{
    if (!c)
        return;
    if (c->watchdog)
        su_timer_destroy(c->watchdog);
    if (c->reconnect)
        su_timer_destroy(c->reconnect);
    if (c->poll)
        su_timer_destroy(c->poll);
    c->watchdog = c->reconnect = c->poll = NULL;
    redis_sentinel_destroy(c->sentinel); /* a question in flight is dropped unanswered */
    if (c->ac) {
        redisAsyncContext *ac = c->ac;
        ac->onDisconnect = NULL; /* the setter in hiredis 0.14 refuses to clear it */
        c->ac = NULL;
        redisAsyncFree(ac);
    }
    while (c->scripts) {
        struct redis_script *s = c->scripts;
        c->scripts = s->next;
        free(s->source);
        free(s);
    }
    free(c->password);
    free(c);
}

int redis_conn_connected(const struct redis_conn *c)
{
    return c->connected;
}

struct redis_script *redis_conn_add_script(struct redis_conn *c, const char *source)
{
    struct redis_script *s = calloc(1, sizeof *s);
    if (!s || !(s->source = strdup(source))) {
        free(s);
        return NULL;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(source, strlen(source), md, &len, EVP_sha1(), NULL);
    for (unsigned i = 0; i < 20 && i < len; i++)
        snprintf(s->sha + 2 * i, 3, "%02x", md[i]);
    s->next = c->scripts;
    c->scripts = s;
    if (c->ac) { /* connecting or connected: queue it behind what is already sent */
        const char *argv[] = {"SCRIPT", "LOAD", s->source};
        send_argv(c, NULL, NULL, 3, argv, NULL);
    }
    return s;
}

int redis_conn_command(struct redis_conn *c, redis_reply_f *cb, void *arg, int argc,
                       const char **argv, const size_t *lens)
{
    if (!c->connected)
        return -1;
    return send_argv(c, cb, arg, argc, argv, lens);
}

int redis_conn_eval(struct redis_conn *c, const struct redis_script *s, redis_reply_f *cb,
                    void *arg, int nkeys, int argc, const char **argv, const size_t *lens)
{
    enum { MAX_ARGS = 256 };
    if (argc + 3 > MAX_ARGS || !c->connected)
        return -1;
    const char *v[MAX_ARGS];
    size_t l[MAX_ARGS];
    char nk[16];
    snprintf(nk, sizeof nk, "%d", nkeys);
    v[0] = "EVALSHA";
    l[0] = 7;
    v[1] = s->sha;
    l[1] = 40;
    v[2] = nk;
    l[2] = strlen(nk);
    for (int i = 0; i < argc; i++) {
        v[3 + i] = argv[i];
        l[3 + i] = lens ? lens[i] : strlen(argv[i]);
    }
    return send_argv(c, cb, arg, argc + 3, v, l);
}
