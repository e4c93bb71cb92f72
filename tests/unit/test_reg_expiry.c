/* Unit tests for node/sip/reg_expiry.c: which expiry wins, the 423 case, clamping, parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sip/reg_expiry.h"

static const struct reg_expiry_limits lim = {60, 3600, 1800};

static void contact_param_beats_header_beats_default(void **state)
{
    (void)state;
    assert_int_equal(reg_expiry_grant(120, 600, &lim), 120);
    assert_int_equal(reg_expiry_grant(-1, 600, &lim), 600);
    assert_int_equal(reg_expiry_grant(-1, -1, &lim), 1800);
}

static void zero_removes_even_below_minimum(void **state)
{
    (void)state;
    assert_int_equal(reg_expiry_grant(0, 600, &lim), 0);
    assert_int_equal(reg_expiry_grant(-1, 0, &lim), 0);
}

static void too_brief_and_too_long(void **state)
{
    (void)state;
    assert_int_equal(reg_expiry_grant(59, -1, &lim), REG_EXPIRY_TOO_BRIEF);
    assert_int_equal(reg_expiry_grant(-1, 1, &lim), REG_EXPIRY_TOO_BRIEF);
    assert_int_equal(reg_expiry_grant(60, -1, &lim), 60);
    assert_int_equal(reg_expiry_grant(3601, -1, &lim), 3600);
    assert_int_equal(reg_expiry_grant(4294967295L, -1, &lim), 3600);
}

static void parse_delta_seconds(void **state)
{
    (void)state;
    assert_int_equal(reg_expiry_parse("3600"), 3600);
    assert_int_equal(reg_expiry_parse("0"), 0);
    assert_int_equal(reg_expiry_parse("99999999999999999999"), 4294967295L);
    assert_int_equal(reg_expiry_parse(""), -1);
    assert_int_equal(reg_expiry_parse("-5"), -1);
    assert_int_equal(reg_expiry_parse("12a"), -1);
    assert_int_equal(reg_expiry_parse(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(contact_param_beats_header_beats_default),
        cmocka_unit_test(zero_removes_even_below_minimum),
        cmocka_unit_test(too_brief_and_too_long),
        cmocka_unit_test(parse_delta_seconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
