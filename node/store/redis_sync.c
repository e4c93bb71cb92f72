/* Sentinel discovery by blocking calls: fine on an API thread, never used on the signalling
 * loop (redis_sentinel.c does the same without blocking). Sentinels are asked from the first
 * each time: API connections are kept, so discovery runs only after one broke. */
#include "store/redis_sync.h"

#include "common/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static redisContext *open_one(const char *host, int port, const char *password, int timeout_ms,
                              char *err, size_t errlen)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *ctx = redisConnectWithTimeout(host, port, tv);
    if (!ctx || ctx->err) {
        snprintf(err, errlen, "%s:%d: %s", host, port, ctx ? ctx->errstr : "out of memory");
        goto fail;
    }
    if (redisSetTimeout(ctx, tv) != REDIS_OK) {
        snprintf(err, errlen, "%s:%d: cannot set timeout", host, port);
        goto fail;
    }
    if (password && *password) {
        const char *argv[] = {"AUTH", password};
        redisReply *r = redisCommandArgv(ctx, 2, argv, NULL);
        int ok = r && r->type == REDIS_REPLY_STATUS;
        if (!ok)
            snprintf(err, errlen, "%s:%d: AUTH: %s", host, port,
                     r && r->type == REDIS_REPLY_ERROR ? r->str : ctx->errstr);
        freeReplyObject(r);
        if (!ok)
            goto fail;
    }
    return ctx;
fail:
    if (ctx)
        redisFree(ctx);
    return NULL;
}

/* The master's address from the first sentinel that knows it; -1 with err when none does. */
static int ask_sentinels(const struct tandem_config *cfg, char *host, size_t hostlen, int *port,
                         char *err, size_t errlen)
{
    snprintf(err, errlen, "no sentinel configured");
    for (int i = 0; i < cfg->redis_nsentinels; i++) {
        const struct config_hostport *s = &cfg->redis_sentinels[i];
        char why[256];
        redisContext *ctx = open_one(s->host, s->port, cfg->redis_sentinel_password,
                                     cfg->redis_timeout_ms, why, sizeof why);
        if (!ctx) {
            snprintf(err, errlen, "sentinel %s", why);
            continue;
        }
        const char *argv[] = {"SENTINEL", "get-master-addr-by-name", cfg->redis_master_name};
        redisReply *r = redisCommandArgv(ctx, 3, argv, NULL);
        int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                 r->element[0]->type == REDIS_REPLY_STRING &&
                 r->element[1]->type == REDIS_REPLY_STRING && r->element[0]->len < hostlen;
        if (ok) {
            memcpy(host, r->element[0]->str, r->element[0]->len);
            host[r->element[0]->len] = '\0';
            *port = atoi(r->element[1]->str);
            ok = *port > 0 && *port < 65536;
        }
        if (!ok)
            snprintf(err, errlen, "sentinel %s:%d: %s", s->host, s->port,
                     !r                             ? ctx->errstr
                     : r->type == REDIS_REPLY_ERROR ? r->str
                                                    : "does not know the master");
        freeReplyObject(r);
        redisFree(ctx);
        if (ok)
            return 0;
    }
    return -1;
}

static int is_master(redisContext *ctx, char *err, size_t errlen)
{
    const char *argv[] = {"ROLE"};
    redisReply *r = redisCommandArgv(ctx, 1, argv, NULL);
    int master = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
                 r->element[0]->type == REDIS_REPLY_STRING &&
                 strcmp(r->element[0]->str, "master") == 0;
    if (!master)
        snprintf(err, errlen, "not the master (ROLE: %s)",
                 !r                             ? ctx->errstr
                 : r->type == REDIS_REPLY_ERROR ? r->str
                 : r->type == REDIS_REPLY_ARRAY && r->elements &&
                         r->element[0]->type == REDIS_REPLY_STRING
                     ? r->element[0]->str
                     : "unexpected reply");
    freeReplyObject(r);
    return master;
}

redisContext *redis_sync_connect(const struct tandem_config *cfg, char *err, size_t errlen)
{
    char why[512];
    if (!cfg->redis_nsentinels) {
        redisContext *ctx = open_one(cfg->redis_host, cfg->redis_port, cfg->redis_password,
                                     cfg->redis_timeout_ms, why, sizeof why);
        if (!ctx)
            snprintf(err, errlen, "redis %s", why);
        return ctx;
    }
    char host[256];
    int port = 0;
    if (ask_sentinels(cfg, host, sizeof host, &port, why, sizeof why) != 0) {
        snprintf(err, errlen, "redis master '%s': %s", cfg->redis_master_name, why);
        return NULL;
    }
    redisContext *ctx =
        open_one(host, port, cfg->redis_password, cfg->redis_timeout_ms, why, sizeof why);
    if (!ctx) {
        snprintf(err, errlen, "redis %s", why);
        return NULL;
    }
    /* A sentinel's answer can trail a failover; a replica would refuse writes. */
    if (!is_master(ctx, why, sizeof why)) {
        snprintf(err, errlen, "redis %s:%d: %s", host, port, why);
        redisFree(ctx);
        return NULL;
    }
    return ctx;
}

int redis_sync_demoted(const redisReply *reply)
{
    return reply && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "READONLY", 8) == 0;
}
