/* Encodes bindings as JSON and runs reg_store.lua; decodes its answer for the registrar.
 * The binding's expiry is absolute (expires_at) so any node reads it the same way. */
#include "store/reg_store.h"

#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern const char reg_store_lua[];

#define MAX_CONTACTS_PER_REQUEST 64

struct reg_store {
    struct redis_conn *redis;
    struct redis_script *script;
};

struct call {
    reg_update_f *cb;
    void *arg;
};

struct reg_store *reg_store_create(struct redis_conn *redis)
{
    struct reg_store *rs = calloc(1, sizeof *rs);
    if (!rs)
        return NULL;
    rs->redis = redis;
    rs->script = redis_conn_add_script(redis, reg_store_lua);
    if (!rs->script) {
        free(rs);
        return NULL;
    }
    return rs;
}

void reg_store_destroy(struct reg_store *rs)
{
    free(rs); /* the script belongs to the connection */
}

static void on_reply(void *arg, redisReply *reply)
{
    struct call *c = arg;
    enum reg_result result = REG_STORE_DOWN;
    json_t *bindings = NULL;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
        reply->element[0]->type == REDIS_REPLY_STRING) {
        const char *status = reply->element[0]->str;
        if (!strcmp(status, "ok")) {
            result = REG_OK;
            bindings = json_array();
            for (size_t i = 1; bindings && i < reply->elements; i++) {
                redisReply *e = reply->element[i];
                json_t *b =
                    e->type == REDIS_REPLY_STRING ? json_loadb(e->str, e->len, 0, NULL) : NULL;
                if (b)
                    json_array_append_new(bindings, b);
            }
        } else if (!strcmp(status, "replay")) {
            result = REG_REPLAY;
        } else if (!strcmp(status, "order")) {
            result = REG_OUT_OF_ORDER;
        } else if (!strcmp(status, "toomany")) {
            result = REG_TOO_MANY;
        }
    } else if (reply && reply->type == REDIS_REPLY_ERROR) {
        log_error(NULL, "registration script failed: %s", reply->str);
    }
    c->cb(c->arg, result, bindings);
    json_decref(bindings);
    free(c);
}

static char *encode_binding(const struct reg_update *u, const struct reg_binding *b, long now)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    char aor[512];
    snprintf(aor, sizeof aor, "sip:%s@%s", u->user, u->domain);
    json_object_set_new(o, "aor", json_string(aor));
    json_object_set_new(o, "contact", json_string(b->contact));
    json_object_set_new(o, "expires_at", json_integer(now + b->expires));
    if (b->q)
        json_object_set_new(o, "q", json_string(b->q));
    json_object_set_new(o, "received", json_string(u->received));
    json_object_set_new(o, "transport", json_string(u->transport));
    json_object_set_new(o, "node", json_string(u->node));
    json_object_set_new(o, "socket", json_string(u->socket));
    json_object_set_new(o, "user_agent", json_string(u->user_agent ? u->user_agent : ""));
    json_object_set_new(o, "call_id", json_string(u->call_id));
    json_object_set_new(o, "cseq", json_integer((json_int_t)u->cseq));
    json_t *path = json_array();
    for (int i = 0; path && i < u->npath; i++)
        json_array_append_new(path, json_string(u->path[i]));
    json_object_set_new(o, "path", path ? path : json_null());
    if (b->instance)
        json_object_set_new(o, "instance", json_string(b->instance));
    if (b->reg_id >= 0)
        json_object_set_new(o, "reg_id", json_integer(b->reg_id));
    json_object_set_new(o, "registered_at", json_integer(now));
    /* json_string returns NULL for invalid UTF-8; such values are simply left out. */
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

int reg_store_update(struct reg_store *rs, const struct reg_update *u, reg_update_f *cb, void *arg)
{
    if (u->ncontacts > MAX_CONTACTS_PER_REQUEST || !redis_conn_connected(rs->redis))
        return -1;
    long now = (long)time(NULL);
    char aor_key[600], idx_key[300], nonce_key[128] = "", ka_key[128];
    snprintf(aor_key, sizeof aor_key, "tandem:reg:%s:%s", u->domain, u->user);
    snprintf(idx_key, sizeof idx_key, "tandem:regidx:%s", u->domain);
    snprintf(ka_key, sizeof ka_key, "tandem:ka:%s", u->node);
    if (u->nonce)
        snprintf(nonce_key, sizeof nonce_key, "tandem:nonce:%s", u->nonce);

    char now_s[24], nc_s[24], ttl_s[24], cseq_s[24], max_s[24], ka_s[24];
    snprintf(now_s, sizeof now_s, "%ld", now);
    snprintf(nc_s, sizeof nc_s, "%ld", u->nc);
    snprintf(ttl_s, sizeof ttl_s, "%d", u->nonce_ttl);
    snprintf(cseq_s, sizeof cseq_s, "%lu", u->cseq);
    snprintf(max_s, sizeof max_s, "%d", u->max_contacts);
    snprintf(ka_s, sizeof ka_s, "%d", u->keepalive_interval);

    const char *argv[14 + 3 * MAX_CONTACTS_PER_REQUEST];
    char exp_s[MAX_CONTACTS_PER_REQUEST][24];
    char *json[MAX_CONTACTS_PER_REQUEST] = {0};
    int n = 0, rc = -1;
    argv[n++] = aor_key;
    argv[n++] = idx_key;
    argv[n++] = nonce_key;
    argv[n++] = ka_key;
    argv[n++] = now_s;
    argv[n++] = u->user;
    argv[n++] = nc_s;
    argv[n++] = ttl_s;
    argv[n++] = u->call_id;
    argv[n++] = cseq_s;
    argv[n++] = u->wildcard ? "1" : "0";
    argv[n++] = max_s;
    argv[n++] = u->domain;
    argv[n++] = ka_s;
    for (int i = 0; i < u->ncontacts; i++) {
        const struct reg_binding *b = &u->contacts[i];
        snprintf(exp_s[i], sizeof exp_s[i], "%ld", b->expires ? now + b->expires : 0);
        json[i] = b->expires ? encode_binding(u, b, now) : strdup("{}");
        if (!json[i])
            goto out;
        argv[n++] = b->field;
        argv[n++] = exp_s[i];
        argv[n++] = json[i];
    }
    struct call *c = malloc(sizeof *c);
    if (!c)
        goto out;
    c->cb = cb;
    c->arg = arg;
    rc = redis_conn_eval(rs->redis, rs->script, on_reply, c, 4, n, argv, NULL);
    if (rc != 0)
        free(c);
out:
    for (int i = 0; i < u->ncontacts; i++)
        free(json[i]);
    return rc;
}

struct lookup_call {
    reg_lookup_f *cb;
    void *arg;
};

static void on_lookup(void *arg, redisReply *reply)
{
    struct lookup_call *c = arg;
    json_t *bindings = NULL;
    if (reply && reply->type == REDIS_REPLY_ARRAY && (bindings = json_array())) {
        json_int_t now = (json_int_t)time(NULL);
        for (size_t i = 1; i < reply->elements; i += 2) {
            redisReply *v = reply->element[i];
            json_t *b = v->type == REDIS_REPLY_STRING ? json_loadb(v->str, v->len, 0, NULL) : NULL;
            if (b && json_integer_value(json_object_get(b, "expires_at")) > now)
                json_array_append_new(bindings, b);
            else
                json_decref(b);
        }
    }
    c->cb(c->arg, bindings);
    json_decref(bindings);
    free(c);
}

int reg_store_lookup(struct reg_store *rs, const char *domain, const char *user, reg_lookup_f *cb,
                     void *arg)
{
    char key[600];
    snprintf(key, sizeof key, "tandem:reg:%s:%s", domain, user);
    struct lookup_call *c = malloc(sizeof *c);
    if (!c)
        return -1;
    c->cb = cb;
    c->arg = arg;
    const char *argv[] = {"HGETALL", key};
    if (redis_conn_command(rs->redis, on_lookup, c, 2, argv, NULL) != 0) {
        free(c);
        return -1;
    }
    return 0;
}
