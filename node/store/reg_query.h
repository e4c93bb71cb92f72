/* Read-only view of live registrations in Redis for the REST API (layout: schema/redis.md).
 * Synchronous hiredis with timeouts; one struct reg_query per API thread. */
#ifndef TANDEM_REG_QUERY_H
#define TANDEM_REG_QUERY_H

#include <jansson.h>
#include <stddef.h>

struct tandem_config;
struct reg_query;

/* Keeps cfg (it must outlive the query); connects lazily through redis_sync, so through
 * redis.sentinels when set. NULL only when out of memory. */
struct reg_query *reg_query_new(const struct tandem_config *cfg);
void reg_query_free(struct reg_query *q);

/* PING; 0 when Redis answers. */
int reg_query_ping(struct reg_query *q);

/* The bindings of every user of domain still valid at now: an array of the binding objects,
 * each with "expires" (seconds left) added. NULL with err when Redis cannot be reached. */
json_t *reg_query_domain(struct reg_query *q, const char *domain, char *err, size_t errlen);

/* One command on the API thread's Redis connection (reconnecting once if it broke), for the
 * other read views of live state (call_query.c). NULL with err when Redis cannot be reached. */
struct redisReply *reg_query_command(struct reg_query *q, int argc, const char **argv, char *err,
                                     size_t errlen);

#endif
