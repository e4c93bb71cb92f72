/* Heartbeat: ZADD tandem:nodes <now ms> <self> and HSET tandem:node_info <self> <announcement>,
 * then ZRANGE ... WITHSCORES and HGETALL tandem:node_info, once a second in one pipeline. Nodes
 * silent for a day are forgotten (and their announcements dropped). Scores are the writers'
 * clocks, so nodes must keep NTP time (a skew well under dead_after_ms is harmless). */
#include "store/node_registry.h"

#include "common/clock.h"

#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define FORGET_MS (24LL * 3600 * 1000)

struct names {
    char **v;
    size_t n;
};

struct node_registry {
    struct redis_conn *redis;
    su_timer_t *timer;
    su_timer_t *first; /* the first heartbeat, as soon as Redis is connected */
    int first_tries;
    char *self;
    char *announcement;
    int dead_after_ms;
    struct names live, dead;
    struct names info_names, info_values; /* parallel: the last HGETALL tandem:node_info */
    int reading, reading_info, ready;
};

static void names_clear(struct names *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int names_add(struct names *l, const char *name)
{
    char **v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (!v)
        return -1;
    l->v = v;
    if (!(v[l->n] = strdup(name)))
        return -1;
    l->n++;
    return 0;
}

static void on_members(void *arg, redisReply *reply)
{
    struct node_registry *nr = arg;
    nr->reading = 0;
    if (!reply || reply->type != REDIS_REPLY_ARRAY)
        return; /* keep the last snapshot: an outage is not everyone's death */
    struct names live = {0}, dead = {0};
    long long now = clock_wall_ms();
    int ok = names_add(&live, nr->self) == 0;
    for (size_t i = 0; ok && i + 1 < reply->elements; i += 2) {
        redisReply *name = reply->element[i], *score = reply->element[i + 1];
        if (name->type != REDIS_REPLY_STRING || score->type != REDIS_REPLY_STRING ||
            strcmp(name->str, nr->self) == 0)
            continue;
        long long beat = atoll(score->str);
        ok = names_add(now - beat > nr->dead_after_ms ? &dead : &live, name->str) == 0;
    }
    if (!ok) {
        names_clear(&live);
        names_clear(&dead);
        return;
    }
    names_clear(&nr->live);
    names_clear(&nr->dead);
    nr->live = live;
    nr->dead = dead;
    nr->ready = 1;
}

static int known(const struct node_registry *nr, const char *name)
{
    if (strcmp(name, nr->self) == 0)
        return 1;
    for (size_t i = 0; i < nr->live.n; i++)
        if (strcmp(nr->live.v[i], name) == 0)
            return 1;
    for (size_t i = 0; i < nr->dead.n; i++)
        if (strcmp(nr->dead.v[i], name) == 0)
            return 1;
    return 0;
}

/* Sent after the ZRANGE, so the names it answered are already in live and dead: an
 * announcement of a node no longer in tandem:nodes (forgotten after a day) is removed. */
static void on_info(void *arg, redisReply *reply)
{
    struct node_registry *nr = arg;
    nr->reading_info = 0;
    if (!reply || reply->type != REDIS_REPLY_ARRAY)
        return;
    struct names names = {0}, values = {0};
    int ok = 1;
    for (size_t i = 0; ok && i + 1 < reply->elements; i += 2) {
        redisReply *name = reply->element[i], *value = reply->element[i + 1];
        if (name->type != REDIS_REPLY_STRING || value->type != REDIS_REPLY_STRING)
            continue;
        if (nr->ready && !known(nr, name->str)) {
            const char *del[] = {"HDEL", "tandem:node_info", name->str};
            redis_conn_command(nr->redis, NULL, NULL, 3, del, NULL);
            continue;
        }
        ok = names_add(&names, name->str) == 0 && names_add(&values, value->str) == 0;
    }
    if (!ok || names.n != values.n) {
        names_clear(&names);
        names_clear(&values);
        return;
    }
    names_clear(&nr->info_names);
    names_clear(&nr->info_values);
    nr->info_names = names;
    nr->info_values = values;
}

static void beat(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)m;
    (void)t;
    struct node_registry *nr = (struct node_registry *)arg;
    char now_s[24], old_s[24];
    long long now = clock_wall_ms();
    snprintf(now_s, sizeof now_s, "%lld", now);
    snprintf(old_s, sizeof old_s, "%lld", now - FORGET_MS);
    const char *add[] = {"ZADD", "tandem:nodes", now_s, nr->self};
    const char *forget[] = {"ZREMRANGEBYSCORE", "tandem:nodes", "-inf", old_s};
    const char *read[] = {"ZRANGE", "tandem:nodes", "0", "-1", "WITHSCORES"};
    const char *info[] = {"HSET", "tandem:node_info", nr->self, nr->announcement};
    const char *read_info[] = {"HGETALL", "tandem:node_info"};
    if (redis_conn_command(nr->redis, NULL, NULL, 4, add, NULL) != 0)
        return;
    if (nr->announcement)
        redis_conn_command(nr->redis, NULL, NULL, 4, info, NULL);
    redis_conn_command(nr->redis, NULL, NULL, 4, forget, NULL);
    if (!nr->reading && redis_conn_command(nr->redis, on_members, nr, 5, read, NULL) == 0)
        nr->reading = 1;
    if (!nr->reading_info && redis_conn_command(nr->redis, on_info, nr, 2, read_info, NULL) == 0)
        nr->reading_info = 1;
}

/* A node must be known from its first moments: one that died within its first second would
 * leave calls nobody knew to claim. */
static void first_beat(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    struct node_registry *nr = (struct node_registry *)arg;
    if (redis_conn_connected(nr->redis))
        beat(m, t, arg);
    else if (++nr->first_tries < 50)
        su_timer_set(nr->first, first_beat, arg);
}

struct node_registry *node_registry_create(su_root_t *root, struct redis_conn *redis,
                                           const char *self, const char *announcement,
                                           int dead_after_ms)
{
    struct node_registry *nr = calloc(1, sizeof *nr);
    if (!nr)
        return NULL;
    nr->redis = redis;
    nr->dead_after_ms = dead_after_ms;
    nr->self = strdup(self);
    nr->announcement = announcement ? strdup(announcement) : NULL;
    nr->timer = su_timer_create(su_root_task(root), 1000);
    nr->first = su_timer_create(su_root_task(root), 20);
    if (!nr->self || (announcement && !nr->announcement) || !nr->timer || !nr->first ||
        names_add(&nr->live, self) != 0) {
        node_registry_destroy(nr);
        return NULL;
    }
    su_timer_set_for_ever(nr->timer, beat, (su_timer_arg_t *)nr);
    su_timer_set(nr->first, first_beat, (su_timer_arg_t *)nr);
    return nr;
}

void node_registry_destroy(struct node_registry *nr)
{
    if (!nr)
        return;
    if (nr->timer)
        su_timer_destroy(nr->timer);
    if (nr->first)
        su_timer_destroy(nr->first);
    names_clear(&nr->live);
    names_clear(&nr->dead);
    names_clear(&nr->info_names);
    names_clear(&nr->info_values);
    free(nr->self);
    free(nr->announcement);
    free(nr);
}

size_t node_registry_live(const struct node_registry *nr, const char *const **names)
{
    *names = (const char *const *)nr->live.v;
    return nr->live.n;
}

size_t node_registry_dead(const struct node_registry *nr, const char *const **names)
{
    *names = (const char *const *)nr->dead.v;
    return nr->dead.n;
}

const char *node_registry_announcement(const struct node_registry *nr, const char *name)
{
    if (strcmp(name, nr->self) == 0 && nr->announcement)
        return nr->announcement;
    for (size_t i = 0; i < nr->info_names.n; i++)
        if (strcmp(nr->info_names.v[i], name) == 0)
            return nr->info_values.v[i];
    return NULL;
}

int node_registry_ready(const struct node_registry *nr)
{
    return nr->ready;
}
