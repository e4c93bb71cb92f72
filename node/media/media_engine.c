/* Media engine: configuration checks, the media threads and their epoll loops, and the
 * graveyard through which a destroyed session's memory is freed by the thread that used it.
 * Each thread owns one epoll set; a session's four sockets all live in its thread's set. */
#include "media/media_internal.h"

#include "common/log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MEDIA_EVENTS 64

static void wake(struct media_thread *t)
{
    uint64_t one = 1;
    /* Fails only when the counter is saturated, and then the thread is already awake. */
    if (write(t->wakefd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_error(NULL, "media: waking thread %d: %s", t->index, strerror(errno));
}

static void reap(struct media_thread *t)
{
    pthread_mutex_lock(&t->lock);
    struct media_session *s = t->graveyard;
    t->graveyard = NULL;
    pthread_mutex_unlock(&t->lock);
    while (s) {
        struct media_session *next = s->grave_next;
        media_session_free(s);
        s = next;
    }
}

static void *thread_main(void *arg)
{
    struct media_thread *t = arg;
    struct epoll_event ev[MEDIA_EVENTS];
    while (!atomic_load(&t->eng->stop)) {
        int n = epoll_wait(t->epfd, ev, MEDIA_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            /* Only a bug (bad fd, bad pointer) gets here; relaying cannot go on. */
            log_error(NULL, "media: thread %d: epoll_wait: %s", t->index, strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            if (ev[i].data.ptr) {
                media_relay_batch(t, ev[i].data.ptr);
                continue;
            }
            uint64_t count;
            if (read(t->wakefd, &count, sizeof count) < 0 && errno != EAGAIN)
                log_error(NULL, "media: thread %d: eventfd: %s", t->index, strerror(errno));
        }
        /* After the whole event array: no event this thread still holds can name a buried
         * session, and its fds left epoll before it was buried. */
        reap(t);
    }
    return NULL;
}

struct media_thread *media_engine_pick_thread(struct media_engine *eng)
{
    struct media_thread *best = &eng->threads[0];
    for (int i = 1; i < eng->nthreads; i++) {
        if (eng->threads[i].nsessions < best->nsessions)
            best = &eng->threads[i];
    }
    return best;
}

void media_engine_bury(struct media_session *s)
{
    struct media_thread *t = s->thr;
    if (!t) {
        media_session_free(s);
        return;
    }
    pthread_mutex_lock(&t->lock);
    s->grave_next = t->graveyard;
    t->graveyard = s;
    pthread_mutex_unlock(&t->lock);
    wake(t);
}

static int check_config(const struct media_config *cfg, char *err, size_t errlen)
{
    if (memchr(cfg->address, '\0', sizeof cfg->address) == NULL) {
        snprintf(err, errlen, "media.address is not terminated");
        return -1;
    }
    if (cfg->threads < 1 || cfg->threads > MEDIA_MAX_THREADS) {
        snprintf(err, errlen, "media.threads %d is outside 1..%d", cfg->threads, MEDIA_MAX_THREADS);
        return -1;
    }
    if (cfg->max_sessions < 1) {
        snprintf(err, errlen, "media.max_sessions %d must be at least 1", cfg->max_sessions);
        return -1;
    }
    return 0;
}

/* Creates thread i's epoll set and eventfd and starts it. */
static int start_thread(struct media_engine *eng, int i, char *err, size_t errlen)
{
    struct media_thread *t = &eng->threads[i];
    t->eng = eng;
    t->index = i;
    t->epfd = epoll_create1(EPOLL_CLOEXEC);
    t->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (t->epfd < 0 || t->wakefd < 0) {
        snprintf(err, errlen, "media: thread %d: %s", i, strerror(errno));
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->wakefd, &ev) != 0) {
        snprintf(err, errlen, "media: thread %d: epoll_ctl: %s", i, strerror(errno));
        return -1;
    }
    /* Media threads take no signals: the main thread's handlers stay where they are. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&t->tid, NULL, thread_main, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "media: cannot start thread %d: %s", i, strerror(rc));
        return -1;
    }
    t->started = 1;
    char name[16]; /* the kernel's limit for a thread name, NUL included */
    snprintf(name, sizeof name, "media-%d", i % 1000);
    pthread_setname_np(t->tid, name); /* cosmetic (top, gdb); failure changes nothing */
    return 0;
}

struct media_engine *media_engine_create(const struct media_config *cfg, char *err, size_t errlen)
{
    if (check_config(cfg, err, errlen) != 0)
        return NULL;
    if (media_srtp_global_init() != 0) {
        snprintf(err, errlen, "media: libsrtp2 failed to initialise");
        return NULL;
    }
    struct media_engine *eng = calloc(1, sizeof *eng);
    if (!eng) {
        snprintf(err, errlen, "media: out of memory");
        return NULL;
    }
    eng->cfg = *cfg;
    atomic_init(&eng->stop, 0);
    if (pthread_mutex_init(&eng->lock, NULL) != 0) {
        snprintf(err, errlen, "media: cannot create the engine lock");
        free(eng);
        return NULL;
    }
    if (media_ports_init(&eng->ports, cfg, err, errlen) != 0) {
        pthread_mutex_destroy(&eng->lock);
        free(eng);
        return NULL;
    }
    eng->threads = calloc((size_t)cfg->threads, sizeof *eng->threads);
    if (!eng->threads) {
        snprintf(err, errlen, "media: out of memory");
        media_engine_destroy(eng);
        return NULL;
    }
    /* Every thread's state is initialised before any starts, so destroy can undo a partial
     * start by looking at the fields alone. */
    for (int i = 0; i < cfg->threads; i++) {
        eng->threads[i].epfd = eng->threads[i].wakefd = -1;
        pthread_mutex_init(&eng->threads[i].lock, NULL); /* default attributes: cannot fail */
    }
    eng->nthreads = cfg->threads;
    for (int i = 0; i < cfg->threads; i++) {
        if (start_thread(eng, i, err, errlen) != 0) {
            media_engine_destroy(eng);
            return NULL;
        }
    }
    log_info(NULL, "media: %d thread(s) relaying on %s ports %d-%d", cfg->threads, cfg->address,
             cfg->port_min, cfg->port_max);
    return eng;
}

void media_engine_destroy(struct media_engine *eng)
{
    if (!eng)
        return;
    atomic_store(&eng->stop, 1);
    for (int i = 0; i < eng->nthreads; i++) {
        struct media_thread *t = &eng->threads[i];
        if (t->started) {
            wake(t);
            pthread_join(t->tid, NULL);
        }
    }
    /* The threads are gone: what they did not reap, and sessions never destroyed, go now. */
    for (int i = 0; i < eng->nthreads; i++)
        reap(&eng->threads[i]);
    while (eng->sessions) {
        struct media_session *s = eng->sessions;
        eng->sessions = s->next;
        media_session_free(s);
    }
    for (int i = 0; i < eng->nthreads; i++) {
        struct media_thread *t = &eng->threads[i];
        if (t->epfd >= 0)
            close(t->epfd);
        if (t->wakefd >= 0)
            close(t->wakefd);
        pthread_mutex_destroy(&t->lock);
    }
    free(eng->threads);
    media_ports_free(&eng->ports);
    pthread_mutex_destroy(&eng->lock);
    free(eng);
}
