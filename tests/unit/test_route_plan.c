/* Unit tests for node/sip/route_plan.c: number rewriting, route order and matching, failover. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "sip/route_plan.h"

static void rewrite_strips_then_prepends(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(route_rewrite("0049301234", 2, "+", out, sizeof out), 0);
    assert_string_equal(out, "+49301234");
    assert_int_equal(route_rewrite("12", 5, "9", out, sizeof out), 0);
    assert_string_equal(out, "9");
    assert_int_equal(route_rewrite("123", 0, "", out, sizeof out), 0);
    assert_string_equal(out, "123");
    assert_int_equal(route_rewrite("123456", 0, "99", out, 4), -1);
}

static void add_route(struct rt_table *t, const char *name, const char *pattern, int strip,
                      const char *prepend, const char *const *gateways)
{
    struct rt_route *r = &t->routes[t->nroutes++];
    memset(r, 0, sizeof *r);
    strcpy(r->name, name);
    assert_int_equal(regcomp(&r->re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    r->strip = strip;
    strcpy(r->prepend, prepend);
    for (; *gateways; gateways++) {
        struct rt_gateway *g = &r->gateways[r->ngateways++];
        strcpy(g->name, *gateways);
        g->failover[0] = 503;
        g->failover[1] = 408;
        g->nfailover = 2;
    }
}

static void plan_follows_route_order_and_gateway_order(void **state)
{
    (void)state;
    struct rt_route routes[3];
    struct rt_table t = {.routes = routes};
    const char *const intl[] = {"carrier-a", "carrier-b", NULL};
    const char *const local[] = {"local", NULL};
    const char *const any[] = {"fallback", NULL};
    add_route(&t, "emergency-like", "^11[02]$", 0, "", local);
    add_route(&t, "international", "^00[1-9]", 2, "+", intl);
    add_route(&t, "anything", ".", 0, "", any);
    struct rt_attempt a[ROUTE_PLAN_MAX];
    int n = route_plan(&t, "00493012345", a, ROUTE_PLAN_MAX);
    assert_int_equal(n, 3);
    assert_string_equal(a[0].gw.name, "carrier-a");
    assert_string_equal(a[0].number, "+493012345");
    assert_string_equal(a[1].gw.name, "carrier-b");
    assert_string_equal(a[2].gw.name, "fallback");
    assert_string_equal(a[2].number, "00493012345");
    assert_string_equal(a[2].route, "anything");
    n = route_plan(&t, "112", a, ROUTE_PLAN_MAX);
    assert_int_equal(n, 2);
    assert_string_equal(a[0].gw.name, "local");
    assert_int_equal(route_plan(&t, "", a, ROUTE_PLAN_MAX), 0); /* "." needs a character */
    assert_int_equal(route_plan(&t, "00493012345", a, 1), 1);
    for (int i = 0; i < t.nroutes; i++)
        regfree(&routes[i].re);
}

static void failover_statuses_are_the_gateways_own(void **state)
{
    (void)state;
    struct rt_gateway g = {.failover = {408, 503}, .nfailover = 2};
    assert_true(route_fails_over(&g, 503));
    assert_true(route_fails_over(&g, 408));
    assert_false(route_fails_over(&g, 486)); /* busy is the callee's answer, not the carrier's */
    assert_false(route_fails_over(&g, 404));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rewrite_strips_then_prepends),
        cmocka_unit_test(plan_follows_route_order_and_gateway_order),
        cmocka_unit_test(failover_statuses_are_the_gateways_own),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
