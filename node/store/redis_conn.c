/* hiredis async adapter for sofia-sip's su_root, plus what hiredis 0.14 lacks: timeouts.
 * Replies arrive in order, so the oldest unanswered request is the head of a FIFO; a watchdog
 * timer drops the connection when it is older than the timeout, failing every pending request. */
#include "store/redis_conn.h"

#include "common/clock.h"
#include "common/log.h"

#include <hiredis/async.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECONNECT_MS 500

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
    char *host, *password;
    redisAsyncContext *ac;
    int connected;
    double connect_started;
    int wait_index; /* su_root registration, -1 when none */
    int events;
    su_timer_t *watchdog, *reconnect;
    struct pending *head, *tail;
    struct redis_script *scripts;
};

static int redis_conn_wakeup(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg);

static void set_up(struct redis_conn *c, int up)
{
    if (c->connected != up)
        log_info(NULL, "redis %s:%d %s", c->host, c->opt.port, up ? "connected" : "disconnected");
    c->connected = up;
    if (c->opt.up)
        atomic_store(c->opt.up, up);
}

static void update_events(struct redis_conn *c, int events)
{
    if (!c->ac)
        return;
    if (c->wait_index < 0 && events) {
        su_wait_t w;
        if (su_wait_create(&w, c->ac->c.fd, events) != 0)
            return;
        c->wait_index = su_root_register(c->root, &w, redis_conn_wakeup, (su_wakeup_arg_t *)c, 0);
    } else if (c->wait_index >= 0) {
        su_root_eventmask(c->root, c->wait_index, c->ac->c.fd, events);
    }
    c->events = events;
}

static void ev_add_read(void *p)
{
    struct redis_conn *c = p;
    update_events(c, c->events | SU_WAIT_IN);
}
static void ev_del_read(void *p)
{
    struct redis_conn *c = p;
    update_events(c, c->events & ~SU_WAIT_IN);
}
static void ev_add_write(void *p)
{
    struct redis_conn *c = p;
    update_events(c, c->events | SU_WAIT_OUT);
}
static void ev_del_write(void *p)
{
    struct redis_conn *c = p;
    update_events(c, c->events & ~SU_WAIT_OUT);
}
static void ev_cleanup(void *p)
{
    struct redis_conn *c = p;
    if (c->wait_index >= 0)
        su_root_deregister(c->root, c->wait_index);
    c->wait_index = -1;
    c->events = 0;
}

static int redis_conn_wakeup(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    (void)magic;
    struct redis_conn *c = (struct redis_conn *)arg;
    if (!c->ac)
        return 0;
    int revents = su_wait_events(w, c->ac->c.fd);
    if (revents & (SU_WAIT_IN | SU_WAIT_HUP | SU_WAIT_ERR))
        redisAsyncHandleRead(c->ac);
    if (c->ac && (revents & SU_WAIT_OUT))
        redisAsyncHandleWrite(c->ac);
    return 0;
}

static void schedule_reconnect(struct redis_conn *c);

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct redis_conn *c = ac->data;
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
        log_debug(NULL, "redis connect to %s:%d failed: %s", c->host, c->opt.port, ac->errstr);
        c->ac = NULL; /* hiredis frees the context after this callback */
        set_up(c, 0);
        schedule_reconnect(c);
        return;
    }
    set_up(c, 1);
}

static void pop_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
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
    if (p->cb)
        p->cb(p->arg, reply);
    free(p);
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
    c->ac = redisAsyncConnect(c->host, c->opt.port);
    if (!c->ac || c->ac->err) {
        log_warn(NULL, "redis connect to %s:%d: %s", c->host, c->opt.port,
                 c->ac ? c->ac->errstr : "out of memory");
        if (c->ac)
            redisAsyncFree(c->ac);
        c->ac = NULL;
        schedule_reconnect(c);
        return;
    }
    c->ac->data = c;
    c->ac->ev.data = c;
    c->ac->ev.addRead = ev_add_read;
    c->ac->ev.delRead = ev_del_read;
    c->ac->ev.addWrite = ev_add_write;
    c->ac->ev.delWrite = ev_del_write;
    c->ac->ev.cleanup = ev_cleanup;
    c->connect_started = clock_mono();
    redisAsyncSetConnectCallback(c->ac, on_connect);
    redisAsyncSetDisconnectCallback(c->ac, on_disconnect);
    /* Commands queued before the connection completes go out in order once it does: the
     * password and the scripts therefore precede anything the node sends. */
    if (c->password) {
        const char *argv[] = {"AUTH", c->password};
        send_argv(c, NULL, NULL, 2, argv, NULL);
    }
    for (struct redis_script *s = c->scripts; s; s = s->next) {
        const char *argv[] = {"SCRIPT", "LOAD", s->source};
        send_argv(c, NULL, NULL, 3, argv, NULL);
    }
}

static void reconnect_fire(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)m;
    (void)t;
    struct redis_conn *c = (struct redis_conn *)arg;
    if (!c->ac)
        start_connect(c);
}

static void schedule_reconnect(struct redis_conn *c)
{
    if (c->reconnect) /* NULL while the connection is being destroyed */
        su_timer_set(c->reconnect, reconnect_fire, (su_timer_arg_t *)c);
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
        log_warn(NULL, "redis %s:%d %s within %d ms; dropping the connection", c->host, c->opt.port,
                 stuck_connect ? "did not accept" : "did not answer", c->opt.timeout_ms);
        redisAsyncContext *ac = c->ac;
        c->ac = NULL;
        /* Fails every pending request (callbacks see NULL), then the disconnect callback. */
        redisAsyncFree(ac);
        set_up(c, 0);
        schedule_reconnect(c);
    }
}

struct redis_conn *redis_conn_create(su_root_t *root, const struct redis_conn_options *opt)
{
    struct redis_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->root = root;
    c->opt = *opt;
    c->wait_index = -1;
    c->host = strdup(opt->host);
    c->password = opt->password && *opt->password ? strdup(opt->password) : NULL;
    int tick = opt->timeout_ms / 4 < 50 ? 50 : opt->timeout_ms / 4;
    c->watchdog = su_timer_create(su_root_task(root), tick);
    c->reconnect = su_timer_create(su_root_task(root), RECONNECT_MS);
    if (!c->host || !c->watchdog || !c->reconnect) {
        redis_conn_destroy(c);
        return NULL;
    }
    su_timer_set_for_ever(c->watchdog, watchdog_fire, (su_timer_arg_t *)c);
    if (c->opt.up)
        atomic_store(c->opt.up, 0);
    start_connect(c);
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
    c->watchdog = c->reconnect = NULL;
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
    free(c->host);
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
