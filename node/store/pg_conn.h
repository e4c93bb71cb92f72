/* The signalling loop's asynchronous PostgreSQL connection: libpq in non-blocking mode on the
 * su_root, one query in flight at a time from a FIFO, with timeouts, reconnection and LISTEN. */
#ifndef TANDEM_PG_CONN_H
#define TANDEM_PG_CONN_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <sofia-sip/su_wait.h>

struct pg_conn;

/* res is NULL when the database was unreachable or did not answer in time; it is freed after
 * the callback returns. */
typedef void pg_result_f(void *arg, const PGresult *res);
typedef void pg_notify_f(void *arg, const char *channel, const char *payload);
typedef void pg_connected_f(void *arg);

/* A statement prepared on every (re)connect, then run by name: PostgreSQL parses and plans it
 * once per connection instead of once per query. */
struct pg_statement {
    const char *name, *sql;
    int nparams;
};

struct pg_conn_options {
    const char *conninfo;
    int timeout_ms;
    atomic_int *up;             /* 1 while connected; may be NULL */
    const char *listen_channel; /* LISTENed on every connect ("a,b" for several); may be NULL */
    pg_notify_f *on_notify;
    pg_connected_f *on_connected; /* after every (re)connect: notifications may have been missed */
    void *arg;                    /* for on_notify and on_connected */
    const struct pg_statement *statements;
    int nstatements;
};

struct pg_conn *pg_conn_create(su_root_t *root, const struct pg_conn_options *opt);
void pg_conn_destroy(struct pg_conn *c);
int pg_conn_connected(const struct pg_conn *c);
/* Queries waiting or in flight: lets a caller with several connections pick the least busy. */
int pg_conn_queued(const struct pg_conn *c);

/* Queues a parameterised query (text parameters, copied). Returns 0 when queued (cb is called
 * exactly once), -1 when not connected or the queue is full (cb is not called). */
int pg_conn_query(struct pg_conn *c, const char *sql, int nparams, const char *const *params,
                  pg_result_f *cb, void *arg);

/* Like pg_conn_query, for a statement given in the options, by name. */
int pg_conn_query_prepared(struct pg_conn *c, const char *name, int nparams,
                           const char *const *params, pg_result_f *cb, void *arg);

#endif
