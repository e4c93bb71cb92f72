/* Keys: tandem:call:<uuid> (JSON record) and tandem:dlg:<call-id> (the uuid), see schema/redis.md.
 * Writes are pipelined without waiting: the signalling loop goes on and the next write or the
 * call's end supersedes a lost one. */
#include "store/call_store.h"

#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char call_find_lua[];
extern const char call_check_lua[];
extern const char call_claim_lua[];
extern const char call_release_lua[];

struct call_store {
    struct redis_conn *redis;
    struct redis_script *find, *check, *claim, *release;
};

struct call_store *call_store_create(struct redis_conn *redis)
{
    struct call_store *cs = calloc(1, sizeof *cs);
    if (!cs)
        return NULL;
    cs->redis = redis;
    if (!(cs->find = redis_conn_add_script(redis, call_find_lua)) ||
        !(cs->check = redis_conn_add_script(redis, call_check_lua)) ||
        !(cs->claim = redis_conn_add_script(redis, call_claim_lua)) ||
        !(cs->release = redis_conn_add_script(redis, call_release_lua))) {
        free(cs);
        return NULL;
    }
    return cs;
}

void call_store_destroy(struct call_store *cs)
{
    free(cs);
}

static void on_written(void *arg, redisReply *reply)
{
    (void)arg;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        log_error(NULL, "call record write failed: %s", reply->str);
}

int call_store_save(struct call_store *cs, const char *uuid, const char *call_id_a,
                    const char *call_id_b, json_t *record, int ttl)
{
    char *text = json_dumps(record, JSON_COMPACT);
    if (!text)
        return -1;
    char key[128], ttl_s[16];
    snprintf(key, sizeof key, "tandem:call:%s", uuid);
    snprintf(ttl_s, sizeof ttl_s, "%d", ttl);
    const char *set[] = {"SET", key, text, "EX", ttl_s};
    int rc = redis_conn_command(cs->redis, on_written, NULL, 5, set, NULL);
    const char *ids[] = {call_id_a, call_id_b};
    for (int i = 0; rc == 0 && i < 2; i++) {
        if (!ids[i] || !ids[i][0])
            continue;
        char idx[600];
        snprintf(idx, sizeof idx, "tandem:dlg:%s", ids[i]);
        const char *argv[] = {"SET", idx, uuid, "EX", ttl_s};
        rc = redis_conn_command(cs->redis, on_written, NULL, 5, argv, NULL);
    }
    const char *node = json_string_value(json_object_get(record, "node"));
    if (rc == 0 && node && node[0]) {
        /* The node's calls, for the successor that claims them if it dies (call_claim.lua). */
        char set[96];
        snprintf(set, sizeof set, "tandem:ncalls:%s", node);
        const char *add[] = {"SADD", set, uuid};
        rc = redis_conn_command(cs->redis, on_written, NULL, 3, add, NULL);
    }
    const char *tenant = json_string_value(json_object_get(record, "tenant_id"));
    if (rc == 0 && tenant && tenant[0]) {
        char set[96];
        snprintf(set, sizeof set, "tandem:tcalls:%s", tenant);
        const char *add[] = {"SADD", set, uuid};
        rc = redis_conn_command(cs->redis, on_written, NULL, 3, add, NULL);
    }
    free(text);
    return rc;
}

struct find_call {
    call_find_f *cb;
    void *arg;
};

static void on_found(void *arg, redisReply *reply)
{
    struct find_call *c = arg;
    json_t *record = NULL;
    if (reply && reply->type == REDIS_REPLY_STRING)
        record = json_loadb(reply->str, reply->len, 0, NULL);
    c->cb(c->arg, record, !reply || reply->type == REDIS_REPLY_ERROR);
    json_decref(record);
    free(c);
}

int call_store_find(struct call_store *cs, const char *call_id, call_find_f *cb, void *arg)
{
    struct find_call *c = malloc(sizeof *c);
    if (!c)
        return -1;
    c->cb = cb;
    c->arg = arg;
    char idx[600];
    snprintf(idx, sizeof idx, "tandem:dlg:%s", call_id);
    const char *argv[] = {idx};
    if (redis_conn_eval(cs->redis, cs->find, on_found, c, 1, 1, argv, NULL) != 0) {
        free(c);
        return -1;
    }
    return 0;
}

int call_store_delete(struct call_store *cs, const char *uuid, const char *call_id_a,
                      const char *call_id_b, const char *tenant_id, const char *node)
{
    if (node && node[0]) {
        char set[96];
        snprintf(set, sizeof set, "tandem:ncalls:%s", node);
        const char *rem[] = {"SREM", set, uuid};
        redis_conn_command(cs->redis, on_written, NULL, 3, rem, NULL);
    }
    if (tenant_id && tenant_id[0]) {
        char set[96];
        snprintf(set, sizeof set, "tandem:tcalls:%s", tenant_id);
        const char *rem[] = {"SREM", set, uuid};
        redis_conn_command(cs->redis, on_written, NULL, 3, rem, NULL);
    }
    char key[128], a[600], b[600];
    snprintf(key, sizeof key, "tandem:call:%s", uuid);
    snprintf(a, sizeof a, "tandem:dlg:%s", call_id_a ? call_id_a : "");
    snprintf(b, sizeof b, "tandem:dlg:%s", call_id_b ? call_id_b : "");
    const char *argv[] = {"DEL", key, a, b};
    return redis_conn_command(cs->redis, on_written, NULL, 4, argv, NULL);
}

struct check_call {
    call_check_f *cb;
    void *arg;
};

static void on_checked(void *arg, redisReply *reply)
{
    struct check_call *c = arg;
    int ok = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
             reply->element[0]->type == REDIS_REPLY_INTEGER &&
             reply->element[1]->type == REDIS_REPLY_INTEGER;
    c->cb(c->arg, ok && reply->element[0]->integer, ok && reply->element[1]->integer, !ok);
    free(c);
}

int call_store_check(struct call_store *cs, const char *uuid, call_check_f *cb, void *arg)
{
    struct check_call *c = malloc(sizeof *c);
    if (!c)
        return -1;
    c->cb = cb;
    c->arg = arg;
    char key[128], hangup[128];
    snprintf(key, sizeof key, "tandem:call:%s", uuid);
    snprintf(hangup, sizeof hangup, "tandem:hangup:%s", uuid);
    const char *argv[] = {key, hangup};
    if (redis_conn_eval(cs->redis, cs->check, on_checked, c, 2, 2, argv, NULL) != 0) {
        free(c);
        return -1;
    }
    return 0;
}

struct claim_call {
    call_claim_f *cb;
    void *arg;
};

static void on_claimed(void *arg, redisReply *reply)
{
    struct claim_call *c = arg;
    int ok = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
             reply->element[0]->type == REDIS_REPLY_INTEGER;
    if (!ok) {
        c->cb(c->arg, -1, NULL);
    } else if (reply->element[0]->integer != 1) {
        c->cb(c->arg, (int)reply->element[0]->integer, NULL);
    } else {
        json_t *records = json_array();
        for (size_t i = 1; records && i < reply->elements; i++) {
            redisReply *r = reply->element[i];
            json_t *j = r->type == REDIS_REPLY_STRING ? json_loadb(r->str, r->len, 0, NULL) : NULL;
            if (j)
                json_array_append_new(records, j);
            else
                log_warn(NULL, "claim: an unreadable call record skipped");
        }
        c->cb(c->arg, records ? 1 : -1, records);
        json_decref(records);
    }
    free(c);
}

int call_store_claim(struct call_store *cs, const char *dead, const char *self,
                     unsigned long long token, long long now_ms, call_claim_f *cb, void *arg)
{
    struct claim_call *c = malloc(sizeof *c);
    if (!c)
        return -1;
    c->cb = cb;
    c->arg = arg;
    char claim[96], from[96], to[96], stfrom[96], stto[96], tok[24], now[24];
    snprintf(stfrom, sizeof stfrom, "tandem:stexp:%s", dead);
    snprintf(stto, sizeof stto, "tandem:stexp:%s", self);
    snprintf(claim, sizeof claim, "tandem:claim:%s", dead);
    snprintf(from, sizeof from, "tandem:ncalls:%s", dead);
    snprintf(to, sizeof to, "tandem:ncalls:%s", self);
    snprintf(tok, sizeof tok, "%llu", token);
    snprintf(now, sizeof now, "%lld", now_ms);
    const char *argv[] = {claim, from, to, stfrom, stto, self, tok, now};
    if (redis_conn_eval(cs->redis, cs->claim, on_claimed, c, 5, 8, argv, NULL) != 0) {
        free(c);
        return -1;
    }
    return 0;
}

/* ---- session-timer deadlines ---- */

/* Takes the due members and removes them in one step, so a slow reply cannot hand the same
 * call to two sweeps. Sent with EVAL (not a registered script): it runs once a second. */
static const char expiry_pop_lua[] =
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2]) "
    "if #ids > 0 then redis.call('ZREM', KEYS[1], unpack(ids)) end return ids";

int call_store_expiry_set(struct call_store *cs, const char *node, const char *call_id,
                          long long deadline_ms)
{
    char key[128], score[32];
    snprintf(key, sizeof key, "tandem:stexp:%s", node);
    snprintf(score, sizeof score, "%lld", deadline_ms);
    const char *argv[] = {"ZADD", key, score, call_id};
    return redis_conn_command(cs->redis, on_written, NULL, 4, argv, NULL);
}

struct due_call {
    call_due_f *cb;
    void *arg;
};

static void on_due(void *arg, redisReply *reply)
{
    struct due_call *d = arg;
    const char *ids[256];
    size_t n = 0;
    if (reply && reply->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < reply->elements && n < 256; i++)
            if (reply->element[i]->type == REDIS_REPLY_STRING)
                ids[n++] = reply->element[i]->str;
    d->cb(d->arg, ids, n);
    free(d);
}

int call_store_expiry_due(struct call_store *cs, const char *node, long long now_ms, int max,
                          call_due_f *cb, void *arg)
{
    struct due_call *d = malloc(sizeof *d);
    if (!d)
        return -1;
    d->cb = cb;
    d->arg = arg;
    char key[128], now[32], limit[16];
    snprintf(key, sizeof key, "tandem:stexp:%s", node);
    snprintf(now, sizeof now, "%lld", now_ms);
    snprintf(limit, sizeof limit, "%d", max > 256 ? 256 : max);
    const char *argv[] = {"EVAL", expiry_pop_lua, "1", key, now, limit};
    if (redis_conn_command(cs->redis, on_due, d, 6, argv, NULL) != 0) {
        free(d);
        return -1;
    }
    return 0;
}

struct holder_call {
    call_holder_f *cb;
    void *arg;
};

static void on_holder(void *arg, redisReply *reply)
{
    struct holder_call *h = arg;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
        h->cb(h->arg, NULL, 0, 1);
    } else {
        redisReply *by = reply->element[0], *at = reply->element[1];
        h->cb(h->arg, by->type == REDIS_REPLY_STRING ? by->str : NULL,
              at->type == REDIS_REPLY_STRING ? strtoll(at->str, NULL, 10) : 0, 0);
    }
    free(h);
}

int call_store_claim_holder(struct call_store *cs, const char *node, call_holder_f *cb, void *arg)
{
    struct holder_call *h = malloc(sizeof *h);
    if (!h)
        return -1;
    h->cb = cb;
    h->arg = arg;
    char key[96];
    snprintf(key, sizeof key, "tandem:claim:%s", node);
    const char *argv[] = {"HMGET", key, "by", "at"};
    if (redis_conn_command(cs->redis, on_holder, h, 4, argv, NULL) != 0) {
        free(h);
        return -1;
    }
    return 0;
}

int call_store_claim_release(struct call_store *cs, const char *dead, const char *self)
{
    char key[96];
    snprintf(key, sizeof key, "tandem:claim:%s", dead);
    const char *argv[] = {key, self};
    return redis_conn_eval(cs->redis, cs->release, on_written, NULL, 1, 2, argv, NULL);
}
