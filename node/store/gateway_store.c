/* Runs gateway_ping.lua and gateway_acquire.lua and the plain commands around them. Times sent
 * to Redis are this node's wall clock (nodes keep NTP time, like the node registry). */
#include "store/gateway_store.h"

#include "common/clock.h"

#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

extern const char gateway_ping_lua[];
extern const char gateway_acquire_lua[];

struct gateway_store {
    struct redis_conn *redis;
    struct redis_script *ping, *acquire;
};

struct reply_ctx {
    gateway_ping_f *ping_cb;
    gateway_up_f *up_cb;
    gateway_slot_f *slot_cb;
    void *arg;
};

struct gateway_store *gateway_store_create(struct redis_conn *redis)
{
    struct gateway_store *gs = calloc(1, sizeof *gs);
    if (!gs)
        return NULL;
    gs->redis = redis;
    gs->ping = redis_conn_add_script(redis, gateway_ping_lua);
    gs->acquire = redis_conn_add_script(redis, gateway_acquire_lua);
    if (!gs->ping || !gs->acquire) {
        free(gs);
        return NULL;
    }
    return gs;
}

void gateway_store_destroy(struct gateway_store *gs)
{
    free(gs);
}

static struct reply_ctx *ctx_new(void *arg)
{
    struct reply_ctx *r = calloc(1, sizeof *r);
    if (r)
        r->arg = arg;
    return r;
}

static void key(char *out, size_t len, const char *kind, const char *id)
{
    snprintf(out, len, "tandem:%s:%s", kind, id);
}

static void log_error_reply(const char *what, redisReply *reply)
{
    if (reply && reply->type == REDIS_REPLY_ERROR)
        log_error(NULL, "gateway %s failed: %s", what, reply->str);
}

/* ---- health ---- */

static void on_ping(void *arg, redisReply *reply)
{
    struct reply_ctx *r = arg;
    int up = -1, changed = 0;
    log_error_reply("ping record", reply);
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[0]->type == REDIS_REPLY_INTEGER &&
        reply->element[1]->type == REDIS_REPLY_INTEGER) {
        up = (int)reply->element[0]->integer;
        changed = (int)reply->element[1]->integer;
    }
    r->ping_cb(r->arg, up, changed);
    free(r);
}

int gateway_store_ping(struct gateway_store *gs, const char *id, const char *node, int answered,
                       int status, int down_after, int ttl, gateway_ping_f *cb, void *arg)
{
    struct reply_ctx *r = ctx_new(arg);
    if (!r)
        return -1;
    r->ping_cb = cb;
    char k[80], status_s[16], now_s[24], down_s[16], ttl_s[16];
    key(k, sizeof k, "gw", id);
    snprintf(status_s, sizeof status_s, "%d", status);
    snprintf(now_s, sizeof now_s, "%lld", clock_wall_ms() / 1000);
    snprintf(down_s, sizeof down_s, "%d", down_after);
    snprintf(ttl_s, sizeof ttl_s, "%d", ttl);
    const char *argv[] = {k, answered ? "1" : "0", status_s, now_s, down_s, ttl_s, node};
    if (redis_conn_eval(gs->redis, gs->ping, on_ping, r, 1, 7, argv, NULL) != 0) {
        free(r);
        return -1;
    }
    return 0;
}

static void on_written(void *arg, redisReply *reply)
{
    log_error_reply(arg, reply);
}

int gateway_store_registration(struct gateway_store *gs, const char *id, int registered,
                               long long expires_at, int status, int ttl)
{
    char k[80], exp_s[24], status_s[16], ttl_s[16];
    key(k, sizeof k, "gw", id);
    snprintf(exp_s, sizeof exp_s, "%lld", expires_at);
    snprintf(status_s, sizeof status_s, "%d", status);
    snprintf(ttl_s, sizeof ttl_s, "%d", ttl);
    const char *hset[] = {"HSET",       k,     "registered",      registered ? "1" : "0",
                          "expires_at", exp_s, "register_status", status_s};
    const char *expire[] = {"EXPIRE", k, ttl_s};
    if (redis_conn_command(gs->redis, on_written, "registration record", 8, hset, NULL) != 0)
        return -1;
    return redis_conn_command(gs->redis, on_written, "registration record", 3, expire, NULL);
}

static void on_up(void *arg, redisReply *reply)
{
    struct reply_ctx *r = arg;
    int up = -1;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
        reply->element[0]->type == REDIS_REPLY_STRING)
        up = reply->element[0]->str[0] == '1' ? 1 : reply->element[0]->str[0] == '0' ? 0 : -1;
    r->up_cb(r->arg, up);
    free(r);
}

int gateway_store_read_up(struct gateway_store *gs, const char *id, gateway_up_f *cb, void *arg)
{
    struct reply_ctx *r = ctx_new(arg);
    if (!r)
        return -1;
    r->up_cb = cb;
    char k[80];
    key(k, sizeof k, "gw", id);
    const char *argv[] = {"HMGET", k, "up"};
    if (redis_conn_command(gs->redis, on_up, r, 3, argv, NULL) != 0) {
        free(r);
        return -1;
    }
    return 0;
}

/* ---- limits ---- */

static void on_slot(void *arg, redisReply *reply)
{
    struct reply_ctx *r = arg;
    enum gateway_slot result = GATEWAY_SLOT_UNKNOWN;
    log_error_reply("limit check", reply);
    if (reply && reply->type == REDIS_REPLY_INTEGER)
        result = reply->integer == 1   ? GATEWAY_SLOT_TAKEN
                 : reply->integer == 0 ? GATEWAY_SLOT_FULL
                                       : GATEWAY_SLOT_RATE;
    r->slot_cb(r->arg, result);
    free(r);
}

/* kind is "gw" (tandem:gwcalls:<id>, tandem:gwcps:<id>) or "t" (tandem:tcalllim:<tenant id>,
 * tandem:tcps:<tenant id>): the same script and lease rules for both. */
static const char *calls_prefix(const char *kind)
{
    return kind[0] == 't' ? "tcalllim" : "gwcalls";
}

static int acquire(struct gateway_store *gs, const char *kind, const char *id, const char *uuid,
                   int max_calls, const char *max_cps, int lease_ms, gateway_slot_f *cb, void *arg)
{
    struct reply_ctx *r = ctx_new(arg);
    if (!r)
        return -1;
    r->slot_cb = cb;
    char calls_k[80], cps_k[80], now_s[24], lease_s[16], max_s[16];
    key(calls_k, sizeof calls_k, calls_prefix(kind), id);
    key(cps_k, sizeof cps_k, kind[0] == 't' ? "tcps" : "gwcps", id);
    snprintf(now_s, sizeof now_s, "%lld", clock_wall_ms());
    snprintf(lease_s, sizeof lease_s, "%d", lease_ms);
    snprintf(max_s, sizeof max_s, "%d", max_calls > 0 ? max_calls : 0);
    const char *argv[] = {
        calls_k, cps_k, uuid, now_s, lease_s, max_s, max_cps && max_cps[0] ? max_cps : "0"};
    if (redis_conn_eval(gs->redis, gs->acquire, on_slot, r, 2, 7, argv, NULL) != 0) {
        free(r);
        return -1;
    }
    return 0;
}

static int release(struct gateway_store *gs, const char *kind, const char *id, const char *uuid)
{
    char k[80];
    key(k, sizeof k, calls_prefix(kind), id);
    const char *argv[] = {"ZREM", k, uuid};
    return redis_conn_command(gs->redis, on_written, "slot release", 3, argv, NULL);
}

/* add: the slot is (re)added even when it lapsed, else only an existing one is extended. */
static int renew(struct gateway_store *gs, const char *kind, const char *id, const char *uuid,
                 int lease_ms, int add)
{
    char k[80], until_s[24], pexpire_s[24];
    key(k, sizeof k, calls_prefix(kind), id);
    snprintf(until_s, sizeof until_s, "%lld", clock_wall_ms() + lease_ms);
    snprintf(pexpire_s, sizeof pexpire_s, "%d", lease_ms + 1000);
    const char *zadd[] = {"ZADD", k, "XX", until_s, uuid};
    const char *zadd_any[] = {"ZADD", k, until_s, uuid};
    const char *pexpire[] = {"PEXPIRE", k, pexpire_s};
    if ((add ? redis_conn_command(gs->redis, on_written, "slot hold", 4, zadd_any, NULL)
             : redis_conn_command(gs->redis, on_written, "slot renewal", 5, zadd, NULL)) != 0)
        return -1;
    return redis_conn_command(gs->redis, on_written, "slot renewal", 3, pexpire, NULL);
}

int gateway_store_acquire(struct gateway_store *gs, const char *id, const char *uuid, int max_calls,
                          const char *max_cps, int lease_ms, gateway_slot_f *cb, void *arg)
{
    return acquire(gs, "gw", id, uuid, max_calls, max_cps, lease_ms, cb, arg);
}

int gateway_store_release(struct gateway_store *gs, const char *id, const char *uuid)
{
    return release(gs, "gw", id, uuid);
}

int gateway_store_renew(struct gateway_store *gs, const char *id, const char *uuid, int lease_ms)
{
    return renew(gs, "gw", id, uuid, lease_ms, 0);
}

int gateway_store_hold(struct gateway_store *gs, const char *id, const char *uuid, int lease_ms)
{
    return renew(gs, "gw", id, uuid, lease_ms, 1);
}

int tenant_store_acquire(struct gateway_store *gs, const char *tenant_id, const char *uuid,
                         int max_calls, const char *max_cps, int lease_ms, gateway_slot_f *cb,
                         void *arg)
{
    return acquire(gs, "t", tenant_id, uuid, max_calls, max_cps, lease_ms, cb, arg);
}

int tenant_store_release(struct gateway_store *gs, const char *tenant_id, const char *uuid)
{
    return release(gs, "t", tenant_id, uuid);
}

int tenant_store_renew(struct gateway_store *gs, const char *tenant_id, const char *uuid,
                       int lease_ms)
{
    return renew(gs, "t", tenant_id, uuid, lease_ms, 0);
}

int tenant_store_hold(struct gateway_store *gs, const char *tenant_id, const char *uuid,
                      int lease_ms)
{
    return renew(gs, "t", tenant_id, uuid, lease_ms, 1);
}
