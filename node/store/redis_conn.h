/* The signalling loop's asynchronous Redis connection: hiredis attached to the su_root,
 * with a per-request timeout, automatic reconnection (to the master Sentinel names, when
 * configured) and Lua scripts loaded on every connect. */
#ifndef TANDEM_REDIS_CONN_H
#define TANDEM_REDIS_CONN_H

#include "common/config.h"

#include <hiredis/hiredis.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sofia-sip/su_wait.h>

struct redis_conn;
struct redis_script;

/* reply is NULL when Redis could not be reached or did not answer within the timeout. */
typedef void redis_reply_f(void *arg, redisReply *reply);

struct redis_conn_options {
    const char *host; /* used when there are no sentinels */
    int port;
    const char *password; /* NULL or "" for none */
    int timeout_ms;
    atomic_int *up; /* set to 1 while connected (to the master), 0 otherwise; may be NULL */
    /* With sentinels, every (re)connect asks them for master_name's address and keeps the
     * connection only if ROLE says master; READONLY (a demoted master) reconnects. */
    const struct config_hostport *sentinels;
    int nsentinels;
    const char *master_name;
    const char *sentinel_password; /* NULL or "" for none */
};

struct redis_conn *redis_conn_create(su_root_t *root, const struct redis_conn_options *opt);
void redis_conn_destroy(struct redis_conn *c);
int redis_conn_connected(const struct redis_conn *c);

/* Registers a Lua script; it is SCRIPT LOADed on every (re)connect. Owned by the connection. */
struct redis_script *redis_conn_add_script(struct redis_conn *c, const char *source);

/* Sends a command; argv values are binary-safe arguments, never parsed as a format.
 * Returns 0 when sent (cb will be called exactly once), -1 when not connected (cb not called). */
int redis_conn_command(struct redis_conn *c, redis_reply_f *cb, void *arg, int argc,
                       const char **argv, const size_t *lens);

/* EVALSHA of a registered script with nkeys keys followed by arguments, same contract. */
int redis_conn_eval(struct redis_conn *c, const struct redis_script *s, redis_reply_f *cb,
                    void *arg, int nkeys, int argc, const char **argv, const size_t *lens);

#endif
