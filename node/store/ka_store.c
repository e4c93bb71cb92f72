/* Runs ka_due.lua and ka_remove.lua. A due batch is decoded into ka_target records that borrow
 * their strings from the reply and the decoded JSON for the length of the callback. */
#include "store/ka_store.h"

#include "common/log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern const char ka_due_lua[];
extern const char ka_remove_lua[];

struct ka_store {
    struct redis_conn *redis;
    struct redis_script *due, *remove;
};

struct due_call {
    ka_due_f *cb;
    void *arg;
};

struct ka_store *ka_store_create(struct redis_conn *redis)
{
    struct ka_store *ks = calloc(1, sizeof *ks);
    if (!ks)
        return NULL;
    ks->redis = redis;
    ks->due = redis_conn_add_script(redis, ka_due_lua);
    ks->remove = redis_conn_add_script(redis, ka_remove_lua);
    if (!ks->due || !ks->remove) {
        free(ks);
        return NULL;
    }
    return ks;
}

void ka_store_destroy(struct ka_store *ks)
{
    free(ks);
}

/* Splits "domain\nuser\nfield" in place. */
static int split_member(char *m, const char **domain, const char **user, const char **field)
{
    char *a = strchr(m, '\n'), *b = a ? strchr(a + 1, '\n') : NULL;
    if (!b)
        return -1;
    *a = *b = '\0';
    *domain = m;
    *user = a + 1;
    *field = b + 1;
    return 0;
}

static void on_due(void *arg, redisReply *reply)
{
    struct due_call *c = arg;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        if (reply && reply->type == REDIS_REPLY_ERROR)
            log_error(NULL, "keepalive script failed: %s", reply->str);
        c->cb(c->arg, NULL, 0);
        free(c);
        return;
    }
    size_t pairs = reply->elements / 2, n = 0;
    struct ka_target *t = calloc(pairs ? pairs : 1, sizeof *t);
    json_t **docs = calloc(pairs ? pairs : 1, sizeof *docs);
    char **members = calloc(pairs ? pairs : 1, sizeof *members);
    for (size_t i = 0; t && docs && members && i < pairs; i++) {
        redisReply *m = reply->element[2 * i], *raw = reply->element[2 * i + 1];
        if (m->type != REDIS_REPLY_STRING || raw->type != REDIS_REPLY_STRING)
            continue;
        json_t *b = json_loadb(raw->str, raw->len, 0, NULL);
        char *copy = strndup(m->str, m->len);
        struct ka_target *x = &t[n];
        if (!b || !copy || split_member(copy, &x->domain, &x->user, &x->field) != 0) {
            json_decref(b);
            free(copy);
            continue;
        }
        x->member = m->str;
        x->aor = json_string_value(json_object_get(b, "aor"));
        x->contact = json_string_value(json_object_get(b, "contact"));
        x->received = json_string_value(json_object_get(b, "received"));
        x->transport = json_string_value(json_object_get(b, "transport"));
        x->registered_at = json_integer_value(json_object_get(b, "registered_at"));
        if (!x->aor || !x->contact || !x->received || !x->transport) {
            json_decref(b);
            free(copy);
            continue;
        }
        docs[n] = b;
        members[n] = copy;
        n++;
    }
    c->cb(c->arg, t, n);
    for (size_t i = 0; i < n; i++) {
        json_decref(docs[i]);
        free(members[i]);
    }
    free(t);
    free(docs);
    free(members);
    free(c);
}

int ka_store_due(struct ka_store *ks, const char *node, int interval, int limit, ka_due_f *cb,
                 void *arg)
{
    struct due_call *c = malloc(sizeof *c);
    if (!c)
        return -1;
    c->cb = cb;
    c->arg = arg;
    char now_s[24], interval_s[16], limit_s[16], set_key[160];
    snprintf(set_key, sizeof set_key, "tandem:ka:%s", node);
    snprintf(now_s, sizeof now_s, "%ld", (long)time(NULL));
    snprintf(interval_s, sizeof interval_s, "%d", interval);
    snprintf(limit_s, sizeof limit_s, "%d", limit);
    const char *argv[] = {set_key, now_s, interval_s, limit_s, node};
    if (redis_conn_eval(ks->redis, ks->due, on_due, c, 1, 5, argv, NULL) != 0) {
        free(c);
        return -1;
    }
    return 0;
}

static void on_removed(void *arg, redisReply *reply)
{
    (void)arg;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        log_error(NULL, "keepalive removal failed: %s", reply->str);
}

int ka_store_remove(struct ka_store *ks, const char *node, const struct ka_target *t)
{
    char aor_key[600], idx_key[300], reg_at[24], set_key[160];
    snprintf(set_key, sizeof set_key, "tandem:ka:%s", node);
    snprintf(aor_key, sizeof aor_key, "tandem:reg:%s:%s", t->domain, t->user);
    snprintf(idx_key, sizeof idx_key, "tandem:regidx:%s", t->domain);
    snprintf(reg_at, sizeof reg_at, "%lld", t->registered_at);
    const char *argv[] = {aor_key, idx_key, set_key, t->field, reg_at, t->user, t->member};
    return redis_conn_eval(ks->redis, ks->remove, on_removed, NULL, 3, 7, argv, NULL);
}
