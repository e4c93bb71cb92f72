/* Lists a domain's bindings: ZRANGEBYSCORE tandem:regidx:<domain> <now> +inf, then one pipelined
 * HGETALL tandem:reg:<domain>:<user> per member. Values go as argv, never into a format string. */
#include "store/reg_query.h"

#include "common/config.h"
#include "common/log.h"
#include "store/redis_sync.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct reg_query {
    redisContext *ctx;
    const struct tandem_config *cfg; /* outlives the API threads */
};

struct reg_query *reg_query_new(const struct tandem_config *cfg)
{
    struct reg_query *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->cfg = cfg;
    return q;
}

void reg_query_free(struct reg_query *q)
{
    if (!q)
        return;
    if (q->ctx)
        redisFree(q->ctx);
    free(q);
}

static void drop(struct reg_query *q)
{
    if (q->ctx) {
        redisFree(q->ctx);
        q->ctx = NULL;
    }
}

/* 0 with a usable connection; a broken one is dropped and replaced. */
static int ensure(struct reg_query *q, char *err, size_t errlen)
{
    if (q->ctx && !q->ctx->err)
        return 0;
    drop(q);
    q->ctx = redis_sync_connect(q->cfg, err, errlen);
    return q->ctx ? 0 : -1;
}

/* One command with one reconnect if the kept connection turned out to be broken. */
static redisReply *command(struct reg_query *q, int argc, const char **argv, char *err,
                           size_t errlen)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        int fresh = !q->ctx;
        if (ensure(q, err, errlen) != 0)
            return NULL;
        redisReply *r = redisCommandArgv(q->ctx, argc, argv, NULL);
        if (r && redis_sync_demoted(r)) {
            /* A failover made our server a replica: find the new master and ask it. */
            snprintf(err, errlen, "redis: %s", r->str);
            freeReplyObject(r);
            drop(q);
            continue;
        }
        if (r)
            return r;
        snprintf(err, errlen, "redis: %s", q->ctx->errstr);
        drop(q);
        if (fresh)
            break;
    }
    return NULL;
}

redisReply *reg_query_command(struct reg_query *q, int argc, const char **argv, char *err,
                              size_t errlen)
{
    return command(q, argc, argv, err, errlen);
}

int reg_query_ping(struct reg_query *q)
{
    char err[256];
    const char *argv[] = {"PING"};
    redisReply *r = command(q, 1, argv, err, sizeof err);
    int ok = r && r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    return ok ? 0 : -1;
}

/* Adds the bindings in one HGETALL reply (field, value, field, value...) to out. */
static int add_bindings(json_t *out, const redisReply *h, long long now)
{
    if (h->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 1; i < h->elements; i += 2) {
        const redisReply *v = h->element[i];
        if (v->type != REDIS_REPLY_STRING)
            continue;
        json_t *b = json_loadb(v->str, v->len, 0, NULL);
        json_t *at = json_is_object(b) ? json_object_get(b, "expires_at") : NULL;
        long long expires_at = json_is_integer(at)  ? json_integer_value(at)
                               : json_is_real(at)   ? (long long)json_real_value(at)
                               : json_is_string(at) ? atoll(json_string_value(at))
                                                    : 0;
        if (expires_at <= now) {
            json_decref(b); /* past its end, or not a binding object: readers ignore it */
            continue;
        }
        if (json_object_set_new(b, "expires", json_integer(expires_at - now)) != 0 ||
            json_array_append_new(out, b) != 0)
            return -1;
    }
    return 0;
}

json_t *reg_query_domain(struct reg_query *q, const char *domain, char *err, size_t errlen)
{
    long long now = (long long)time(NULL);
    char key[600], min[32];
    snprintf(key, sizeof key, "tandem:regidx:%s", domain);
    snprintf(min, sizeof min, "(%lld", now); /* score = expiry; exclusive: <= now is over */
    const char *zargv[] = {"ZRANGEBYSCORE", key, min, "+inf"};
    redisReply *users = command(q, 4, zargv, err, errlen);
    if (!users)
        return NULL;
    json_t *out = json_array();
    if (!out || users->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errlen, "redis: %s",
                 users->type == REDIS_REPLY_ERROR ? users->str : "unexpected reply");
        goto fail;
    }
    /* Pipelined: one round trip for all AoRs of the tenant instead of one per user. */
    for (size_t i = 0; i < users->elements; i++) {
        const redisReply *u = users->element[i];
        char aor[1200];
        snprintf(aor, sizeof aor, "tandem:reg:%s:%.*s", domain, (int)u->len, u->str);
        const char *hargv[] = {"HGETALL", aor};
        if (redisAppendCommandArgv(q->ctx, 2, hargv, NULL) != REDIS_OK) {
            snprintf(err, errlen, "redis: %s", q->ctx->errstr);
            drop(q);
            goto fail;
        }
    }
    for (size_t i = 0; i < users->elements; i++) {
        void *reply = NULL;
        if (redisGetReply(q->ctx, &reply) != REDIS_OK) {
            snprintf(err, errlen, "redis: %s", q->ctx->errstr);
            drop(q);
            goto fail;
        }
        int bad = add_bindings(out, reply, now);
        freeReplyObject(reply);
        if (bad) {
            snprintf(err, errlen, "out of memory");
            drop(q); /* replies still pending: the connection's stream is no longer in step */
            goto fail;
        }
    }
    freeReplyObject(users);
    return out;
fail:
    json_decref(out);
    freeReplyObject(users);
    return NULL;
}
