/* Unit tests for cluster/membership.c's announcement format: what one node multicasts (or
 * stores in Redis) reads back identically, and malformed or foreign text is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "membership.h"

static void announcement_round_trips(void **state)
{
    (void)state;
    struct member a = {.sip_port = 5060}, b;
    strcpy(a.name, "n1");
    strcpy(a.service_address, "10.77.0.101");
    strcpy(a.api_url, "http://10.77.0.101:8080");
    strcpy(a.role, "switch");
    char line[512];
    assert_int_equal(member_encode(&a, line, sizeof line), 0);
    assert_int_equal(member_decode(line, &b), 0);
    assert_memory_equal(&a, &b, sizeof a);
}

static void empty_api_url_survives(void **state)
{
    (void)state;
    struct member a = {.sip_port = 5070}, b;
    strcpy(a.name, "gw1");
    strcpy(a.service_address, "2001:db8::1");
    strcpy(a.role, "gateway");
    char line[512];
    assert_int_equal(member_encode(&a, line, sizeof line), 0);
    assert_int_equal(member_decode(line, &b), 0);
    assert_string_equal(b.api_url, "");
    assert_string_equal(b.role, "gateway");
    assert_int_equal(b.sip_port, 5070);
}

static void bad_text_is_refused(void **state)
{
    (void)state;
    struct member b;
    assert_int_equal(member_decode("", &b), -1);
    assert_int_equal(member_decode("hello", &b), -1);
    assert_int_equal(member_decode("tandem2\tn1\t10.0.0.1\t5060\t\tswitch", &b), -1);
    assert_int_equal(member_decode("tandem1\t\t10.0.0.1\t5060\t\tswitch", &b), -1);
    assert_int_equal(member_decode("tandem1\tn1\t10.0.0.1\tport\t\tswitch", &b), -1);
    assert_int_equal(member_decode("tandem1\tn1\t10.0.0.1\t99999\t\tswitch", &b), -1);
    char longname[200];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    char line[512];
    snprintf(line, sizeof line, "tandem1\t%s\t10.0.0.1\t5060\t\tswitch", longname);
    assert_int_equal(member_decode(line, &b), -1);
}

static void separators_cannot_be_announced(void **state)
{
    (void)state;
    struct member a = {.sip_port = 5060};
    strcpy(a.name, "n1\tforged");
    strcpy(a.role, "switch");
    char line[512];
    assert_int_equal(member_encode(&a, line, sizeof line), -1);
    strcpy(a.name, "n1");
    assert_int_equal(member_encode(&a, line, 8), -1); /* does not fit */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(announcement_round_trips),
        cmocka_unit_test(empty_api_url_survives),
        cmocka_unit_test(bad_text_is_refused),
        cmocka_unit_test(separators_cannot_be_announced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
