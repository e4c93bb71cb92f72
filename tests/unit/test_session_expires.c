/* Unit tests for node/sip/session_expires.c: 422, the interval asked of the callee, who
 * refreshes after the callee's answer, and when an unrefreshed session ends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sip/session_expires.h"

static void too_small_session_expires_gets_422_with_the_larger_min_se(void **state)
{
    (void)state;
    int min = 0;
    struct st_params a = {.expires = 60, .timer = 1};
    assert_int_equal(st_request_interval(&a, 90, 1800, &min), -1);
    assert_int_equal(min, 90);
    a.min_se = 120; /* the caller's own floor is above ours: the 422 names the larger */
    assert_int_equal(st_request_interval(&a, 90, 1800, &min), -1);
    assert_int_equal(min, 120);
    a = (struct st_params){.expires = 90};
    assert_int_equal(st_request_interval(&a, 90, 1800, &min), 90);
}

static void default_applies_without_session_expires_and_respects_min_se(void **state)
{
    (void)state;
    int min = 0;
    struct st_params a = {0};
    assert_int_equal(st_request_interval(&a, 90, 1800, &min), 1800);
    a.min_se = 3600;
    assert_int_equal(st_request_interval(&a, 90, 1800, &min), 3600);
    assert_int_equal(st_request_interval(&(struct st_params){0}, 90, 0, &min), 0);
}

static void the_refresher_asked_of_the_callee(void **state)
{
    (void)state;
    assert_int_equal(st_ask_refresher(&(struct st_params){.timer = 1}), ST_UAC);
    assert_int_equal(st_ask_refresher(&(struct st_params){.timer = 1, .refresher = ST_UAS}),
                     ST_UAS);
    assert_int_equal(st_ask_refresher(&(struct st_params){0}), ST_UAS);
}

static void callee_answer_settles_interval_and_refresher(void **state)
{
    (void)state;
    int party = -1;
    struct st_params a = {.expires = 1800, .timer = 1};
    struct st_params b = {.expires = 900, .refresher = ST_UAC};
    assert_int_equal(st_answer(&a, 1800, &b, &party), 900);
    assert_int_equal(party, ST_PARTY_A);
    b.refresher = ST_UAS;
    assert_int_equal(st_answer(&a, 1800, &b, &party), 900);
    assert_int_equal(party, ST_PARTY_B);
    b.refresher = ST_NONE; /* absent: what we asked for */
    assert_int_equal(st_answer(&a, 1800, &b, &party), 900);
    assert_int_equal(party, ST_PARTY_A);
}

static void callee_without_timers(void **state)
{
    (void)state;
    int party = -1;
    struct st_params none = {0};
    struct st_params a = {.expires = 300, .timer = 1};
    assert_int_equal(st_answer(&a, 300, &none, &party), 300);
    assert_int_equal(party, ST_PARTY_A);
    /* The caller wants the node to refresh, and the node only passes refreshes on. */
    a.refresher = ST_UAS;
    assert_int_equal(st_answer(&a, 300, &none, &party), 0);
    assert_int_equal(party, ST_NOBODY);
    /* Neither party knows timers. */
    assert_int_equal(st_answer(&none, 1800, &none, &party), 0);
    assert_int_equal(party, ST_NOBODY);
    /* A caller without timers with a callee that refreshes. */
    struct st_params b = {.expires = 1800, .refresher = ST_UAS};
    assert_int_equal(st_answer(&none, 1800, &b, &party), 1800);
    assert_int_equal(party, ST_PARTY_B);
    b.refresher = ST_UAC; /* the callee leaves it to a caller that cannot */
    assert_int_equal(st_answer(&none, 1800, &b, &party), 0);
    assert_int_equal(st_answer(&a, 0, &b, &party), 0);
}

static void deadline_is_a_third_or_32_seconds_early(void **state)
{
    (void)state;
    assert_int_equal(st_deadline_ms(1000, 90), 1000 + 60000);
    assert_int_equal(st_deadline_ms(0, 1800), 1800000 - 32000);
    assert_int_equal(st_deadline_ms(0, 3), 2000);
}

static void refresher_names(void **state)
{
    (void)state;
    assert_int_equal(st_parse_refresher("UAC"), ST_UAC);
    assert_int_equal(st_parse_refresher("uas"), ST_UAS);
    assert_int_equal(st_parse_refresher("proxy"), ST_NONE);
    assert_int_equal(st_parse_refresher(NULL), ST_NONE);
    assert_string_equal(st_refresher_name(ST_PARTY_A), "uac");
    assert_string_equal(st_refresher_name(ST_PARTY_B), "uas");
}

static void retry_after_422_asks_the_callees_min_se(void **state)
{
    (void)state;
    assert_int_equal(st_retry_interval(1800, 3600, ST_MAX_INTERVAL, 0), 3600);
    assert_int_equal(st_retry_interval(0, 90, ST_MAX_INTERVAL, 0), 90); /* asked for none */
    assert_int_equal(st_retry_interval(3600, 7200, ST_MAX_INTERVAL, 1), 7200);
}

static void retry_after_422_is_bounded(void **state)
{
    (void)state;
    /* no Min-SE, or none above what was asked: the same INVITE would get the same 422 */
    assert_int_equal(st_retry_interval(1800, 0, ST_MAX_INTERVAL, 0), -1);
    assert_int_equal(st_retry_interval(1800, 1800, ST_MAX_INTERVAL, 0), -1);
    assert_int_equal(st_retry_interval(1800, 900, ST_MAX_INTERVAL, 0), -1);
    assert_int_equal(st_retry_interval(1800, 3600, ST_MAX_INTERVAL, ST_MAX_422_RETRIES), -1);
    assert_int_equal(st_retry_interval(1800, ST_MAX_INTERVAL + 1L, ST_MAX_INTERVAL, 0), -2);
    assert_int_equal(st_retry_interval(1800, ST_MAX_INTERVAL, ST_MAX_INTERVAL, 0), ST_MAX_INTERVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(too_small_session_expires_gets_422_with_the_larger_min_se),
        cmocka_unit_test(default_applies_without_session_expires_and_respects_min_se),
        cmocka_unit_test(the_refresher_asked_of_the_callee),
        cmocka_unit_test(callee_answer_settles_interval_and_refresher),
        cmocka_unit_test(callee_without_timers),
        cmocka_unit_test(deadline_is_a_third_or_32_seconds_early),
        cmocka_unit_test(refresher_names),
        cmocka_unit_test(retry_after_422_asks_the_callees_min_se),
        cmocka_unit_test(retry_after_422_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
