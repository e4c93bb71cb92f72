/* Blocking Redis connections for threads other than the signalling loop (the REST API): one
 * helper that finds the master (through redis.sentinels when set), connects, authenticates. */
#ifndef TANDEM_REDIS_SYNC_H
#define TANDEM_REDIS_SYNC_H

#include <hiredis/hiredis.h>
#include <stddef.h>

struct tandem_config;

/* A connection to the master with redis.timeout_ms on connect and on every command, or NULL
 * with the reason in err. With sentinels, each is asked in turn (the same timeout each) and the
 * server it names is kept only when ROLE says master. The caller owns the context (redisFree). */
redisContext *redis_sync_connect(const struct tandem_config *cfg, char *err, size_t errlen);

/* 1 when reply is the -READONLY error of a demoted master: drop the connection and reconnect. */
int redis_sync_demoted(const redisReply *reply);

#endif
