/* Unit tests for node/sip/ratelimit.c: the token bucket, bans after failures, sweeping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sip/ratelimit.h"

static void bucket_allows_burst_then_refills(void **state)
{
    (void)state;
    struct ratelimit_config cfg = {
        .rate = 10, .burst = 5, .ban_failures = 0, .ban_window = 60, .ban_seconds = 600};
    struct ratelimit *rl = ratelimit_create(&cfg);
    for (int i = 0; i < 5; i++)
        assert_int_equal(ratelimit_check(rl, "10.0.0.1", 100.0), RATELIMIT_PASS);
    assert_int_equal(ratelimit_check(rl, "10.0.0.1", 100.0), RATELIMIT_LIMITED);
    assert_int_equal(ratelimit_check(rl, "10.0.0.2", 100.0), RATELIMIT_PASS);  /* per source */
    assert_int_equal(ratelimit_check(rl, "10.0.0.1", 100.15), RATELIMIT_PASS); /* 1.5 tokens */
    assert_int_equal(ratelimit_check(rl, "10.0.0.1", 100.15), RATELIMIT_LIMITED);
    ratelimit_destroy(rl);
}

static void ban_after_n_failures_within_window(void **state)
{
    (void)state;
    struct ratelimit_config cfg = {
        .rate = 0, .burst = 1, .ban_failures = 3, .ban_window = 60, .ban_seconds = 600};
    struct ratelimit *rl = ratelimit_create(&cfg);
    assert_int_equal(ratelimit_auth_failure(rl, "10.0.0.9", 0), 0);
    assert_int_equal(ratelimit_auth_failure(rl, "10.0.0.9", 1), 0);
    assert_int_equal(ratelimit_check(rl, "10.0.0.9", 2), RATELIMIT_PASS);
    assert_int_equal(ratelimit_auth_failure(rl, "10.0.0.9", 2), 1);
    assert_int_equal(ratelimit_check(rl, "10.0.0.9", 3), RATELIMIT_BANNED);
    assert_int_equal(ratelimit_check(rl, "10.0.0.8", 3), RATELIMIT_PASS);
    assert_int_equal(ratelimit_check(rl, "10.0.0.9", 603), RATELIMIT_PASS); /* ban over */
    ratelimit_destroy(rl);
}

static void failures_outside_window_do_not_add_up(void **state)
{
    (void)state;
    struct ratelimit_config cfg = {
        .rate = 0, .burst = 1, .ban_failures = 2, .ban_window = 10, .ban_seconds = 600};
    struct ratelimit *rl = ratelimit_create(&cfg);
    assert_int_equal(ratelimit_auth_failure(rl, "10.0.0.9", 0), 0);
    assert_int_equal(ratelimit_auth_failure(rl, "10.0.0.9", 20), 0);
    assert_int_equal(ratelimit_auth_failure(rl, "10.0.0.9", 21), 1);
    ratelimit_destroy(rl);
}

static void sweep_forgets_idle_sources_but_keeps_bans(void **state)
{
    (void)state;
    struct ratelimit_config cfg = {
        .rate = 10, .burst = 5, .ban_failures = 1, .ban_window = 10, .ban_seconds = 600};
    struct ratelimit *rl = ratelimit_create(&cfg);
    ratelimit_check(rl, "10.0.0.1", 0);
    ratelimit_auth_failure(rl, "10.0.0.2", 0);
    assert_int_equal(ratelimit_sources(rl), 2);
    ratelimit_sweep(rl, 100);
    assert_int_equal(ratelimit_sources(rl), 1);
    assert_int_equal(ratelimit_check(rl, "10.0.0.2", 100), RATELIMIT_BANNED);
    ratelimit_destroy(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bucket_allows_burst_then_refills),
        cmocka_unit_test(ban_after_n_failures_within_window),
        cmocka_unit_test(failures_outside_window_do_not_add_up),
        cmocka_unit_test(sweep_forgets_idle_sources_but_keeps_bans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
