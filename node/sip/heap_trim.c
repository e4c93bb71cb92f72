/* glibc returns memory from the top of the heap only; one chunk in use near the top keeps all
 * the free pages below it resident (docs/performance.md, "Memory": 334 MB free but resident
 * after 12,000 calls). malloc_trim(0) also releases free pages inside the heap, but it holds
 * the arena's lock while it does, ~1 ms per MB released (300 ms for 230 MB here): so it runs
 * only when nta is nearly idle (a burst's transactions have lingered out) and RSS has grown. */
#include "sip/heap_trim.h"

#include "common/clock.h"
#include "common/log.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <sofia-sip/nta_tag.h>
#include <sofia-sip/su_tagarg.h>

struct heap_trim {
    su_timer_t *timer;
    nta_agent_t *agent;
    long baseline; /* RSS in bytes after the last trim (or at the start) */
};

/* Resident bytes from /proc/self/statm (procfs: no disk behind it); -1 if unreadable. */
static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size, resident;
    int ok = f && fscanf(f, "%ld %ld", &size, &resident) == 2;
    if (f)
        fclose(f);
    return ok ? resident * sysconf(_SC_PAGESIZE) : -1;
}

static void check(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)m;
    (void)t;
    struct heap_trim *h = (struct heap_trim *)arg;
    usize_t irqs = 0, orqs = 0;
    if (nta_agent_get_stats(h->agent, NTATAG_S_IRQ_HASH_USED_REF(irqs),
                            NTATAG_S_ORQ_HASH_USED_REF(orqs), TAG_END()) < 2 ||
        irqs + orqs > HEAP_TRIM_IDLE_TRANSACTIONS)
        return; /* busy: what is free now is reused by the next transactions */
    long before = rss_bytes();
    if (before < 0 || before < h->baseline + HEAP_TRIM_GROWTH_BYTES) {
        if (before >= 0 && before < h->baseline)
            h->baseline = before;
        return;
    }
    double start = clock_mono();
    malloc_trim(0);
    double took = clock_mono() - start;
    long after = rss_bytes();
    h->baseline = after >= 0 ? after : before;
    log_info(NULL, "heap trimmed: RSS %ld MB -> %ld MB in %.1f ms (%zu transactions)", before >> 20,
             h->baseline >> 20, took * 1000, (size_t)(irqs + orqs));
}

struct heap_trim *heap_trim_start(su_root_t *root, nta_agent_t *agent)
{
    struct heap_trim *h = agent ? calloc(1, sizeof *h) : NULL;
    if (!h)
        return NULL;
    h->agent = agent;
    h->baseline = rss_bytes();
    h->timer = su_timer_create(su_root_task(root), HEAP_TRIM_CHECK_MS);
    if (!h->timer || su_timer_set_for_ever(h->timer, check, (su_timer_arg_t *)h) != 0) {
        heap_trim_stop(h);
        return NULL;
    }
    return h;
}

void heap_trim_stop(struct heap_trim *h)
{
    if (!h)
        return;
    if (h->timer)
        su_timer_destroy(h->timer);
    free(h);
}
