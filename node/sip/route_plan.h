/* Outbound routing decisions, pure: which gateways a dialled number goes to, in which order,
 * with which number, and whether a gateway's answer moves the call on to the next one. */
#ifndef TANDEM_ROUTE_PLAN_H
#define TANDEM_ROUTE_PLAN_H

#include <stddef.h>

#include "store/routing_store.h"

#define ROUTE_PLAN_MAX 16

struct rt_attempt {
    struct rt_gateway gw;
    char number[64]; /* after strip and prepend */
    char route[65];
    int emergency;
};

/* strip digits off the front, then prepend; -1 when the result would not fit. */
int route_rewrite(const char *number, int strip, const char *prepend, char *out, size_t len);

/* Every gateway of every route whose pattern matches, routes in table order (priority), each
 * route's gateways in their order; at most max. Returns the count (0: no route). */
int route_plan(const struct rt_table *t, const char *number, struct rt_attempt *out, int max);

/* 1 when this final status from g means "try the next gateway" (timeouts are decided by the
 * caller: they always move on). */
int route_fails_over(const struct rt_gateway *g, int status);

#endif
