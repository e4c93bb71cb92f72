/* Heartbeat: ZADD tandem:nodes <now ms> <self>, then ZRANGE ... WITHSCORES, once a second in one
 * pipeline. Nodes silent for a day are forgotten. Scores are the writers' clocks, so nodes must
 * keep NTP time (a skew well under dead_after_ms is harmless). */
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
    char *self;
    int dead_after_ms;
    struct names live, dead;
    int reading;
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
    if (redis_conn_command(nr->redis, NULL, NULL, 4, add, NULL) != 0)
        return;
    redis_conn_command(nr->redis, NULL, NULL, 4, forget, NULL);
    if (!nr->reading && redis_conn_command(nr->redis, on_members, nr, 5, read, NULL) == 0)
        nr->reading = 1;
}

struct node_registry *node_registry_create(su_root_t *root, struct redis_conn *redis,
                                           const char *self, int dead_after_ms)
{
    struct node_registry *nr = calloc(1, sizeof *nr);
    if (!nr)
        return NULL;
    nr->redis = redis;
    nr->dead_after_ms = dead_after_ms;
    nr->self = strdup(self);
    nr->timer = su_timer_create(su_root_task(root), 1000);
    if (!nr->self || !nr->timer || names_add(&nr->live, self) != 0) {
        node_registry_destroy(nr);
        return NULL;
    }
    su_timer_set_for_ever(nr->timer, beat, (su_timer_arg_t *)nr);
    return nr;
}

void node_registry_destroy(struct node_registry *nr)
{
    if (!nr)
        return;
    if (nr->timer)
        su_timer_destroy(nr->timer);
    names_clear(&nr->live);
    names_clear(&nr->dead);
    free(nr->self);
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
