/* The tenant's set tandem:tcalls:<tenant> names its calls; each record is read and shaped for
 * operators (legs, parties, durations). Members whose record is gone (a crashed node's calls
 * that expired) are removed on the way. */
#include "store/call_query.h"

#include "common/clock.h"

#include "store/reg_query.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static json_t *leg(json_t *side)
{
    return json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?}", "call_id", json_object_get(side, "call_id"),
                     "party", json_object_get(side, "remote"), "contact",
                     json_object_get(side, "target"), "media_port",
                     json_object_get(side, "media_port"), "codec", json_object_get(side, "codec"));
}

static json_t *shape(json_t *r, long long now)
{
    json_int_t created = json_integer_value(json_object_get(r, "created_ms"));
    json_int_t answered = json_integer_value(json_object_get(r, "answered_ms"));
    return json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:I, s:o, s:I, s:I, s:o, s:o}",
                     "uuid", json_object_get(r, "uuid"), "caller", json_object_get(r, "caller"),
                     "callee", json_object_get(r, "callee"), "callee_routed",
                     json_object_get(r, "callee_routed"), "gateway", json_object_get(r, "gateway"),
                     "state", json_object_get(r, "state"), "node", json_object_get(r, "node"),
                     "started_ms", created, "answered_ms",
                     answered ? json_integer(answered) : json_null(), "duration_s",
                     (json_int_t)((now - created) / 1000), "billsec",
                     (json_int_t)(answered ? (now - answered) / 1000 : 0), "a",
                     leg(json_object_get(r, "a")), "b", leg(json_object_get(r, "b")));
}

json_t *call_query_tenant(struct reg_query *q, const char *tenant_id, char *err, size_t errlen)
{
    char set[96];
    snprintf(set, sizeof set, "tandem:tcalls:%s", tenant_id);
    const char *members[] = {"SMEMBERS", set};
    redisReply *m = reg_query_command(q, 2, members, err, errlen);
    if (!m)
        return NULL;
    json_t *out = json_array();
    long long now = clock_wall_ms();
    for (size_t i = 0; out && m->type == REDIS_REPLY_ARRAY && i < m->elements; i++) {
        const char *uuid = m->element[i]->str;
        char key[128];
        snprintf(key, sizeof key, "tandem:call:%s", uuid);
        const char *get[] = {"GET", key};
        redisReply *g = reg_query_command(q, 2, get, err, errlen);
        if (!g) {
            freeReplyObject(m);
            json_decref(out);
            return NULL;
        }
        json_t *rec = g->type == REDIS_REPLY_STRING ? json_loadb(g->str, g->len, 0, NULL) : NULL;
        if (rec) {
            json_t *item = shape(rec, now);
            if (item)
                json_array_append_new(out, item);
        } else if (g->type == REDIS_REPLY_NIL) {
            const char *rem[] = {"SREM", set, uuid};
            freeReplyObject(reg_query_command(q, 3, rem, err, errlen));
        }
        json_decref(rec);
        freeReplyObject(g);
    }
    freeReplyObject(m);
    return out;
}

int call_query_hangup(struct reg_query *q, const char *tenant_id, const char *uuid, char *err,
                      size_t errlen)
{
    char set[96], key[128], hangup[128];
    snprintf(set, sizeof set, "tandem:tcalls:%s", tenant_id);
    snprintf(key, sizeof key, "tandem:call:%s", uuid);
    snprintf(hangup, sizeof hangup, "tandem:hangup:%s", uuid);
    const char *member[] = {"SISMEMBER", set, uuid};
    redisReply *r = reg_query_command(q, 3, member, err, errlen);
    if (!r)
        return -1;
    int known = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    const char *exists[] = {"EXISTS", key};
    if (known) {
        if (!(r = reg_query_command(q, 2, exists, err, errlen)))
            return -1;
        known = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
        freeReplyObject(r);
    }
    if (!known)
        return 1;
    const char *set_hangup[] = {"SET", hangup, "1", "EX", "60"};
    if (!(r = reg_query_command(q, 5, set_hangup, err, errlen)))
        return -1;
    freeReplyObject(r);
    return 0;
}
