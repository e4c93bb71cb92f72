/* Call detail records: the record one call leaves behind, and the node's CDR writer, which
 * batches them into PostgreSQL from its own thread and spools them to a file while it cannot. */
#ifndef TANDEM_CDR_H
#define TANDEM_CDR_H

#include <stddef.h>

/* One row of the cdrs table (schema/003_cdrs.sql). Strings are NUL-terminated; "" is empty
 * (tenant_id "" and codecs "" are stored as NULL). Times are unix milliseconds, 0 = not reached. */
struct cdr {
    char call_uuid[40];
    char tenant_id[40];
    char a_call_id[256], b_call_id[256];
    char caller[128], callee_dialled[128];
    char callee_routed[512];
    char gateway[128];
    char node[64];
    long long start_ms, progress_ms, answer_ms, end_ms;
    int sip_status;
    int q850_cause;
    char hangup_by[16]; /* "caller", "callee" or "system" */
    char codec_a[32], codec_b[32];
    /* Per-leg media statistics as a JSON object (the jsonb columns media_a, media_b); "" is
     * NULL (the media was on another node, or there was none). */
    char media_a[512], media_b[512];
    int failover;
};

/* Counters since start, for SNMP and logs. */
struct cdr_writer_stats {
    unsigned long long submitted; /* taken by cdr_writer_submit */
    unsigned long long written;   /* inserted from the queue (a duplicate counts too) */
    unsigned long long spooled;   /* appended to the spool file */
    unsigned long long replayed;  /* inserted from the spool file */
    unsigned long long failed; /* rejected by PostgreSQL as invalid, or lost (spool unwritable) */
};

struct cdr_writer;

/* Starts the writer thread. conninfo: libpq conninfo (connect_timeout defaults to 5 s when it
 * has none); spool_path: the spool file, whose directory must be writable; a spool left from
 * before is replayed first. batch_max: rows per INSERT; flush_ms: longest a record waits.
 * NULL with err on failure. */
struct cdr_writer *cdr_writer_start(const char *conninfo, const char *spool_path, int batch_max,
                                    int flush_ms, char *err, size_t errlen);

/* Queues a copy of r (thread-safe; takes a mutex, never waits on I/O unless the queue is full,
 * when the record goes straight to the spool). Strings that are not UTF-8 are cleaned. Returns
 * 0, or -1 when even the spool could not take it (logged, with the record). */
int cdr_writer_submit(struct cdr_writer *w, const struct cdr *r);

void cdr_writer_stats(struct cdr_writer *w, struct cdr_writer_stats *out);

/* Writes what it can to PostgreSQL, spools the rest, joins the thread and frees w. */
void cdr_writer_stop(struct cdr_writer *w);

#endif
