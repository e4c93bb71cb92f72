/* Patterns are POSIX EREs compiled by routing_store and matched unanchored, as docs/routing.md
 * says: an operator writes ^...$ for whole numbers. */
#include "sip/route_plan.h"

#include <stdio.h>
#include <string.h>

int route_rewrite(const char *number, int strip, const char *prepend, char *out, size_t len)
{
    size_t n = strlen(number);
    const char *rest = (size_t)strip < n ? number + strip : number + n;
    int w = snprintf(out, len, "%s%s", prepend ? prepend : "", rest);
    return w < 0 || (size_t)w >= len ? -1 : 0;
}

int route_plan(const struct rt_table *t, const char *number, struct rt_attempt *out, int max)
{
    int n = 0;
    for (int i = 0; t && i < t->nroutes && n < max; i++) {
        const struct rt_route *r = &t->routes[i];
        if (regexec(&r->re, number, 0, NULL, 0) != 0)
            continue;
        char rewritten[64];
        if (route_rewrite(number, r->strip, r->prepend, rewritten, sizeof rewritten) != 0)
            continue;
        for (int g = 0; g < r->ngateways && n < max; g++) {
            struct rt_attempt *a = &out[n++];
            a->gw = r->gateways[g];
            memcpy(a->number, rewritten, sizeof a->number);
            snprintf(a->route, sizeof a->route, "%s", r->name);
            a->emergency = r->emergency;
        }
    }
    return n;
}

int route_fails_over(const struct rt_gateway *g, int status)
{
    for (int i = 0; i < g->nfailover; i++)
        if (g->failover[i] == status)
            return 1;
    return 0;
}
