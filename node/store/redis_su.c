/* The adapter's state is allocated per context, not embedded in its owner: an owner may start
 * a new connection from a callback of the old one, before hiredis has released the old one. */
#include "store/redis_su.h"

#include <stdlib.h>

struct redis_su {
    su_root_t *root;
    redisAsyncContext *ac; /* NULL once hiredis released the context */
    int wait_index;        /* su_root registration, -1 when none */
    int events;
    int in_wakeup; /* hiredis may free the context under redis_su_wakeup: free later */
};

static int redis_su_wakeup(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    (void)magic;
    struct redis_su *a = (struct redis_su *)arg;
    if (!a->ac)
        return 0;
    int revents = su_wait_events(w, a->ac->c.fd);
    a->in_wakeup = 1;
    if (revents & (SU_WAIT_IN | SU_WAIT_HUP | SU_WAIT_ERR))
        redisAsyncHandleRead(a->ac);
    if (a->ac && (revents & SU_WAIT_OUT))
        redisAsyncHandleWrite(a->ac);
    a->in_wakeup = 0;
    if (!a->ac) /* released during this wakeup; cleanup left the memory to us */
        free(a);
    return 0;
}

static void update_events(struct redis_su *a, int events)
{
    if (!a->ac)
        return;
    if (a->wait_index < 0 && events) {
        su_wait_t w;
        if (su_wait_create(&w, a->ac->c.fd, events) != 0)
            return;
        a->wait_index = su_root_register(a->root, &w, redis_su_wakeup, (su_wakeup_arg_t *)a, 0);
    } else if (a->wait_index >= 0) {
        su_root_eventmask(a->root, a->wait_index, a->ac->c.fd, events);
    }
    a->events = events;
}

static void add_read(void *p)
{
    struct redis_su *a = p;
    update_events(a, a->events | SU_WAIT_IN);
}

static void del_read(void *p)
{
    struct redis_su *a = p;
    update_events(a, a->events & ~SU_WAIT_IN);
}

static void add_write(void *p)
{
    struct redis_su *a = p;
    update_events(a, a->events | SU_WAIT_OUT);
}

static void del_write(void *p)
{
    struct redis_su *a = p;
    update_events(a, a->events & ~SU_WAIT_OUT);
}

static void cleanup(void *p)
{
    struct redis_su *a = p;
    if (a->wait_index >= 0)
        su_root_deregister(a->root, a->wait_index);
    a->wait_index = -1;
    a->events = 0;
    a->ac = NULL;
    if (!a->in_wakeup)
        free(a);
}

int redis_su_attach(redisAsyncContext *ac, su_root_t *root)
{
    struct redis_su *a = calloc(1, sizeof *a);
    if (!a)
        return -1;
    a->root = root;
    a->ac = ac;
    a->wait_index = -1;
    ac->ev.data = a;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    return 0;
}
