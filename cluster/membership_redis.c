/* Reads the heartbeat registry once a second: the live names with their announcements become
 * the live set (redis mode), and every name it holds feeds the dead list (both modes). A ring id
 * here is the wall-clock millisecond of the change, so ids from different nodes still grow
 * together as long as their clocks agree (NTP), as the heartbeats already require. */
#include "membership_redis.h"

#include "common/clock.h"
#include "common/log.h"
#include "membership_internal.h"
#include "store/node_registry.h"

#include <stdlib.h>
#include <string.h>

struct membership_redis {
    struct membership *m;
    struct node_registry *nr;
    su_timer_t *timer;
    int is_source;
    uint64_t ring_id;
};

static void tick(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)magic;
    (void)t;
    struct membership_redis *r = (struct membership_redis *)arg;
    const char *const *live, *const *dead;
    size_t nlive = node_registry_live(r->nr, &live);
    size_t ndead = node_registry_dead(r->nr, &dead);
    const char **known = malloc((nlive + ndead + 1) * sizeof *known);
    if (!known)
        return; /* try again in a second */
    for (size_t i = 0; i < nlive; i++)
        known[i] = live[i];
    for (size_t i = 0; i < ndead; i++)
        known[nlive + i] = dead[i];
    if (r->is_source && node_registry_ready(r->nr)) {
        struct member *v = calloc(nlive ? nlive : 1, sizeof *v);
        if (!v) {
            free(known);
            return;
        }
        const char *const *names;
        size_t nold = membership_live(r->m, &names);
        int changed = nold != nlive;
        for (size_t i = 0; i < nlive; i++) {
            const char *a = node_registry_announcement(r->nr, live[i]);
            /* A node from before announcements (or whose HSET was lost) is still live. */
            if (!a || member_decode(a, &v[i]) != 0 || strcmp(v[i].name, live[i]) != 0) {
                memset(&v[i], 0, sizeof v[i]);
                snprintf(v[i].name, sizeof v[i].name, "%s", live[i]);
            }
            int found = 0;
            for (size_t j = 0; j < nold && !found; j++)
                found = strcmp(names[j], live[i]) == 0;
            changed |= !found;
        }
        if (changed) {
            uint64_t now = (uint64_t)clock_wall_ms();
            r->ring_id = now > r->ring_id ? now : r->ring_id + 1;
        }
        membership_update(r->m, v, nlive, r->ring_id);
        free(v);
    }
    membership_set_known(r->m, known, nlive + ndead);
    free(known);
}

struct membership_redis *membership_redis_start(struct membership *m, su_root_t *root,
                                                struct redis_conn *redis, const char *announcement,
                                                int is_source, int dead_after_ms)
{
    struct membership_redis *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->m = m;
    r->is_source = is_source;
    const struct member *self = membership_self(m);
    r->nr = node_registry_create(root, redis, self->name, announcement, dead_after_ms);
    r->timer = su_timer_create(su_root_task(root), 1000);
    if (!r->nr || !r->timer) {
        membership_redis_stop(r);
        return NULL;
    }
    su_timer_set_for_ever(r->timer, tick, (su_timer_arg_t *)r);
    return r;
}

void membership_redis_stop(struct membership_redis *r)
{
    if (!r)
        return;
    if (r->timer)
        su_timer_destroy(r->timer);
    node_registry_destroy(r->nr);
    free(r);
}
