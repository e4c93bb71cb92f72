/* The CDR writer: one thread with its own blocking libpq connection (never the signalling loop),
 * fed by a mutex-guarded queue. It inserts batches with ON CONFLICT (call_uuid) DO NOTHING, so a
 * row sent twice (a crash between commit and spool truncation) is stored once. While PostgreSQL
 * is unreachable, batches go to the spool file; on reconnect the spool is replayed in order
 * before anything newer, and removed only once every row in it is committed. */
#include "store/cdr.h"
#include "store/cdr_insert.h"
#include "store/cdr_spool.h"

#include "common/log.h"

#include <errno.h>
#include <libgen.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Records waiting beyond this go straight to the spool from cdr_writer_submit (blocking the
 * caller on a file write): only when the thread is stuck, and better than dropping them. */
#define CDR_QUEUE_MAX 10000
#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000

struct cdr_writer {
    pthread_t thread;
    pthread_mutex_t lock; /* queue, stop and stats */
    pthread_cond_t wake;
    struct cdr *queue; /* ring */
    size_t head, count, cap;
    long long oldest_ms; /* monotonic arrival of the oldest queued record */
    int stop;
    struct cdr_writer_stats stats;

    pthread_mutex_t spool_lock; /* the spool file: the thread, and submit when the queue is full */
    atomic_int spool_pending;   /* the spool holds rows not yet committed */

    /* The thread's own state. */
    PGconn *conn;
    int down_logged;
    long long retry_at_ms;
    int backoff_ms;
    long spool_offset; /* rows before it are committed (this replay) */
    struct cdr *batch, *replay_buf;
    struct cdr_insert *ins;
    int batch_max, flush_ms;
    char *conninfo, *spool_path, *reject_path;
};

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void count(struct cdr_writer *w, unsigned long long *field, unsigned long long n)
{
    pthread_mutex_lock(&w->lock);
    *field += n;
    pthread_mutex_unlock(&w->lock);
}

/* Puts each record in the log as its spool line: the last place it survives. */
static void log_lost(const struct cdr *recs, size_t n, const char *why)
{
    for (size_t i = 0; i < n; i++) {
        json_t *j = cdr_to_json(&recs[i]);
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        log_error(NULL, "cdr: LOST (%s): %s", why, text ? text : recs[i].call_uuid);
        free(text);
        json_decref(j);
    }
}

/* ---- spool ---- */

static int spool(struct cdr_writer *w, const struct cdr *recs, size_t n)
{
    char err[512];
    pthread_mutex_lock(&w->spool_lock);
    int rc = cdr_spool_append(w->spool_path, recs, n, err, sizeof err);
    if (rc == 0)
        atomic_store(&w->spool_pending, 1);
    pthread_mutex_unlock(&w->spool_lock);
    if (rc == 0) {
        count(w, &w->stats.spooled, n);
        return 0;
    }
    log_error(NULL, "cdr: cannot spool %zu records: %s", n, err);
    log_lost(recs, n, err);
    count(w, &w->stats.failed, n);
    return -1;
}

/* A row PostgreSQL refuses as invalid would block the spool forever: it is set aside in
 * <spool>.rejected for an operator, and counted as failed. */
static void reject(struct cdr_writer *w, const struct cdr *r, const char *why)
{
    char err[512];
    log_error(NULL, "cdr: call %s rejected by PostgreSQL: %s", r->call_uuid, why);
    if (cdr_spool_append(w->reject_path, r, 1, err, sizeof err) != 0)
        log_lost(r, 1, err);
    count(w, &w->stats.failed, 1);
}

/* ---- PostgreSQL ---- */

static void drop_connection(struct cdr_writer *w)
{
    PQfinish(w->conn);
    w->conn = NULL;
    w->retry_at_ms = mono_ms() + w->backoff_ms;
    w->backoff_ms = w->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff_ms * 2;
}

/* 0 when connected. Blocks for at most connect_timeout; attempts are spaced by the backoff. */
static int db_connect(struct cdr_writer *w, int now)
{
    if (w->conn)
        return 0;
    if (!now && mono_ms() < w->retry_at_ms)
        return -1;
    char err[512];
    w->conn = cdr_insert_connect(w->conninfo, err, sizeof err);
    if (!w->conn) {
        if (!w->down_logged)
            log_warn(NULL, "cdr: PostgreSQL unreachable, spooling CDRs to %s: %s", w->spool_path,
                     err);
        w->down_logged = 1;
        drop_connection(w);
        return -1;
    }
    if (w->down_logged)
        log_info(NULL, "cdr: PostgreSQL reachable again");
    w->down_logged = 0;
    w->backoff_ms = BACKOFF_MIN_MS;
    return 0;
}

/* Inserts recs; on a connection failure reconnects at once and tries again, because a
 * connection that broke while idle (PostgreSQL restarted) is not an outage. A batch refused for
 * its data is split into rows and the bad ones rejected. Returns the number rejected once every
 * row is committed or rejected, -1 (connection dropped) when PostgreSQL is not taking rows. */
static int insert_all(struct cdr_writer *w, const struct cdr *recs, int n)
{
    char why[512];
    int rejected = 0;
    enum cdr_ins_rc rc = cdr_insert_rows(w->ins, w->conn, recs, n, why, sizeof why);
    if (rc == CDR_INS_RETRY && PQstatus(w->conn) == CONNECTION_BAD) {
        PQfinish(w->conn);
        w->conn = NULL;
        if (db_connect(w, 1) != 0)
            return -1;
        rc = cdr_insert_rows(w->ins, w->conn, recs, n, why, sizeof why);
    }
    if (rc == CDR_INS_DATA) {
        for (int i = 0; i < n && rc != CDR_INS_RETRY; i++)
            if ((rc = cdr_insert_rows(w->ins, w->conn, &recs[i], 1, why, sizeof why)) ==
                CDR_INS_DATA) {
                reject(w, &recs[i], why);
                rejected++;
            }
    }
    if (rc == CDR_INS_RETRY) {
        log_warn(NULL, "cdr: insert failed, will retry: %s", why);
        w->down_logged = 1;
        drop_connection(w);
        return -1;
    }
    return rejected;
}

/* ---- the thread ---- */

/* Replays the spool from spool_offset, a batch at a time, and removes it once all is in. */
static void replay(struct cdr_writer *w)
{
    char err[512];
    unsigned long long done = 0;
    log_info(NULL, "cdr: replaying spool %s from offset %ld", w->spool_path, w->spool_offset);
    for (;;) {
        long next;
        int bad;
        pthread_mutex_lock(&w->spool_lock);
        int n = cdr_spool_read(w->spool_path, w->spool_offset, w->replay_buf, w->batch_max, &next,
                               &bad, err, sizeof err);
        if (n == 0 && next == w->spool_offset) {
            /* Everything complete is committed; appends take this lock, so none is missed. A
             * torn tail is a batch whose spooling never finished (and was logged as lost). */
            struct stat st;
            if (stat(w->spool_path, &st) == 0 && st.st_size > next)
                log_warn(NULL, "cdr: dropping a torn last line (%lld bytes) from %s",
                         (long long)(st.st_size - next), w->spool_path);
            if (unlink(w->spool_path) != 0 && errno != ENOENT) {
                log_error(NULL,
                          "cdr: cannot remove replayed spool %s: %s (it will be replayed "
                          "again; duplicates are ignored)",
                          w->spool_path, strerror(errno));
            }
            atomic_store(&w->spool_pending, 0);
            w->spool_offset = 0;
            pthread_mutex_unlock(&w->spool_lock);
            log_info(NULL, "cdr: spool replayed: %llu records", done);
            return;
        }
        pthread_mutex_unlock(&w->spool_lock);
        if (n < 0) {
            log_error(NULL, "cdr: cannot read the spool: %s", err);
            drop_connection(w); /* try again after the backoff */
            return;
        }
        if (bad) {
            log_error(NULL, "cdr: skipped %d unreadable lines in %s", bad, w->spool_path);
            count(w, &w->stats.failed, (unsigned long long)bad);
        }
        int rejected = n > 0 ? insert_all(w, w->replay_buf, n) : 0;
        if (rejected < 0) {
            log_warn(NULL, "cdr: spool replay interrupted at offset %ld", w->spool_offset);
            return;
        }
        count(w, &w->stats.replayed, (unsigned long long)(n - rejected));
        done += (unsigned long long)(n - rejected);
        w->spool_offset = next;
    }
}

/* Newer rows wait behind the spool, so rows reach the table in the order they ended. */
static void deliver(struct cdr_writer *w, const struct cdr *recs, int n)
{
    int rejected = -1;
    if (!atomic_load(&w->spool_pending) && db_connect(w, 0) == 0)
        rejected = insert_all(w, recs, n);
    if (rejected >= 0)
        count(w, &w->stats.written, (unsigned long long)(n - rejected));
    else
        spool(w, recs, n);
}

/* Moves up to max queued records into out; the caller holds the lock. */
static int take(struct cdr_writer *w, struct cdr *out, int max)
{
    int n = 0;
    while (w->count && n < max) {
        out[n++] = w->queue[w->head];
        w->head = (w->head + 1) % w->cap;
        w->count--;
    }
    if (w->count)
        w->oldest_ms = mono_ms();
    return n;
}

/* Waits until a batch is full, the oldest record has waited flush_ms, a reconnect is due
 * with work to do, or stop. The caller holds the lock. */
static void wait_for_work(struct cdr_writer *w)
{
    for (;;) {
        if (w->stop || w->count >= (size_t)w->batch_max)
            return;
        long long now = mono_ms(), due = LLONG_MAX;
        if (w->count)
            due = w->oldest_ms + w->flush_ms;
        if (atomic_load(&w->spool_pending))
            due = w->conn ? now : (w->retry_at_ms < due ? w->retry_at_ms : due);
        if (due <= now)
            return;
        if (due == LLONG_MAX) {
            pthread_cond_wait(&w->wake, &w->lock);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        long long ns = ts.tv_nsec + (due - now) * 1000000LL;
        ts.tv_sec += (time_t)(ns / 1000000000LL);
        ts.tv_nsec = (long)(ns % 1000000000LL);
        pthread_cond_timedwait(&w->wake, &w->lock, &ts);
    }
}

static void *run(void *arg)
{
    struct cdr_writer *w = arg;
    db_connect(w, 1);
    for (;;) {
        pthread_mutex_lock(&w->lock);
        wait_for_work(w);
        int stopping = w->stop;
        int n = take(w, w->batch, w->batch_max);
        size_t left = w->count;
        pthread_mutex_unlock(&w->lock);
        /* At stop the spool is not replayed: that could take long, and the next start does it. */
        if (!stopping && atomic_load(&w->spool_pending) && db_connect(w, 0) == 0)
            replay(w);
        if (n)
            deliver(w, w->batch, n);
        if (stopping && !left)
            break;
    }
    PQfinish(w->conn);
    w->conn = NULL;
    return NULL;
}

/* ---- the interface ---- */

static void writer_free(struct cdr_writer *w)
{
    free(w->queue);
    free(w->batch);
    free(w->replay_buf);
    cdr_insert_free(w->ins);
    free(w->conninfo);
    free(w->spool_path);
    free(w->reject_path);
    free(w);
}

/* The spool's directory must take files now, not first when PostgreSQL fails. */
static int check_spool_dir(const char *path, char *err, size_t errlen)
{
    char *copy = strdup(path);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *dir = dirname(copy);
    int rc = access(dir, W_OK | X_OK);
    if (rc != 0)
        snprintf(err, errlen, "cdr.spool_path: directory %s is not writable: %s", dir,
                 strerror(errno));
    free(copy);
    return rc;
}

struct cdr_writer *cdr_writer_start(const char *conninfo, const char *spool_path, int batch_max,
                                    int flush_ms, char *err, size_t errlen)
{
    if (batch_max < 1 || flush_ms < 1 || !spool_path[0]) {
        snprintf(err, errlen, "cdr: bad batch size, flush interval or spool path");
        return NULL;
    }
    if (check_spool_dir(spool_path, err, errlen) != 0)
        return NULL;
    struct cdr_writer *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->batch_max = batch_max;
    w->flush_ms = flush_ms;
    w->backoff_ms = BACKOFF_MIN_MS;
    w->cap = 256;
    w->queue = calloc(w->cap, sizeof *w->queue);
    w->batch = calloc((size_t)batch_max, sizeof *w->batch);
    w->replay_buf = calloc((size_t)batch_max, sizeof *w->replay_buf);
    w->ins = cdr_insert_new(batch_max);
    w->conninfo = strdup(conninfo);
    w->spool_path = strdup(spool_path);
    size_t rl = strlen(spool_path) + sizeof ".rejected";
    w->reject_path = malloc(rl);
    if (!w->queue || !w->batch || !w->replay_buf || !w->ins || !w->conninfo || !w->spool_path ||
        !w->reject_path) {
        writer_free(w);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(w->reject_path, rl, "%s.rejected", spool_path);
    struct stat st;
    if (stat(spool_path, &st) == 0 && st.st_size > 0) {
        log_info(NULL, "cdr: spool %s holds %lld bytes from before; replaying it first", spool_path,
                 (long long)st.st_size);
        atomic_store(&w->spool_pending, 1);
    }
    pthread_condattr_t ca;
    int ok = pthread_condattr_init(&ca) == 0;
    if (ok && (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
               pthread_cond_init(&w->wake, &ca) != 0)) {
        pthread_condattr_destroy(&ca);
        ok = 0;
    } else if (ok) {
        pthread_condattr_destroy(&ca);
    }
    if (!ok) {
        writer_free(w);
        snprintf(err, errlen, "cdr: cannot create the condition variable");
        return NULL;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_mutex_init(&w->spool_lock, NULL);
    if (pthread_create(&w->thread, NULL, run, w) != 0) {
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        pthread_mutex_destroy(&w->spool_lock);
        writer_free(w);
        snprintf(err, errlen, "cdr: cannot start the writer thread");
        return NULL;
    }
    return w;
}

/* Doubles the ring (unwrapping it); the caller holds the lock. */
static int grow(struct cdr_writer *w)
{
    if (w->cap >= CDR_QUEUE_MAX)
        return -1;
    size_t cap = w->cap * 2 > CDR_QUEUE_MAX ? CDR_QUEUE_MAX : w->cap * 2;
    struct cdr *q = malloc(cap * sizeof *q);
    if (!q)
        return -1;
    for (size_t i = 0; i < w->count; i++)
        q[i] = w->queue[(w->head + i) % w->cap];
    free(w->queue);
    w->queue = q;
    w->head = 0;
    w->cap = cap;
    return 0;
}

int cdr_writer_submit(struct cdr_writer *w, const struct cdr *r)
{
    struct cdr c = *r;
    cdr_clean(&c);
    if (strcmp(c.hangup_by, "caller") && strcmp(c.hangup_by, "callee"))
        snprintf(c.hangup_by, sizeof c.hangup_by, "system");
    pthread_mutex_lock(&w->lock);
    w->stats.submitted++;
    if (w->count == w->cap && grow(w) != 0) {
        pthread_mutex_unlock(&w->lock);
        log_warn(NULL, "cdr: queue full (%zu); spooling call %s directly", w->cap, c.call_uuid);
        return spool(w, &c, 1);
    }
    w->queue[(w->head + w->count) % w->cap] = c;
    if (w->count++ == 0)
        w->oldest_ms = mono_ms();
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

void cdr_writer_stats(struct cdr_writer *w, struct cdr_writer_stats *out)
{
    pthread_mutex_lock(&w->lock);
    *out = w->stats;
    pthread_mutex_unlock(&w->lock);
}

void cdr_writer_stop(struct cdr_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    struct cdr_writer_stats s = w->stats;
    log_info(NULL,
             "cdr: writer stopped: %llu submitted, %llu written, %llu spooled, %llu replayed, "
             "%llu failed",
             s.submitted, s.written, s.spooled, s.replayed, s.failed);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->spool_lock);
    writer_free(w);
}
