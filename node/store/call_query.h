/* Read view of a tenant's live calls for the REST API, from the call records in Redis
 * (schema/redis.md), and the hang-up request the owner node acts on. API threads only. */
#ifndef TANDEM_CALL_QUERY_H
#define TANDEM_CALL_QUERY_H

#include <jansson.h>
#include <stddef.h>

struct reg_query;

/* The tenant's live calls, newest first; NULL with err when Redis cannot be reached. */
json_t *call_query_tenant(struct reg_query *q, const char *tenant_id, char *err, size_t errlen);

/* Asks the node holding the call to hang it up (it does within a couple of seconds).
 * 0 when asked, 1 when the tenant has no such call, -1 with err when Redis is unreachable. */
int call_query_hangup(struct reg_query *q, const char *tenant_id, const char *uuid, char *err,
                      size_t errlen);

#endif
