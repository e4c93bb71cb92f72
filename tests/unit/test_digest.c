/* Unit tests for node/sip/digest.c: HA1, qop=auth responses (RFC 2617 example), comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sip/digest.h"

static void ha1_matches_rfc2617_example(void **state)
{
    (void)state;
    char ha1[DIGEST_HEX_LEN];
    /* RFC 2617 section 3.5: Mufasa / testrealm@host.com / "Circle Of Life" */
    digest_ha1("Mufasa", "testrealm@host.com", "Circle Of Life", ha1);
    assert_string_equal(ha1, "939e7578ed9e3c518a452acee763bce9");
}

static void response_matches_rfc2617_example(void **state)
{
    (void)state;
    char resp[DIGEST_HEX_LEN];
    digest_response("939e7578ed9e3c518a452acee763bce9", "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                    "00000001", "0a4f113b", "auth", "GET", "/dir/index.html", resp);
    assert_string_equal(resp, "6629fae49393a05397450978507c4ef1");
}

static void response_depends_on_method_and_nc(void **state)
{
    (void)state;
    char a[DIGEST_HEX_LEN], b[DIGEST_HEX_LEN], c[DIGEST_HEX_LEN];
    digest_response("939e7578ed9e3c518a452acee763bce9", "n", "00000001", "c", "auth", "REGISTER",
                    "sip:x", a);
    digest_response("939e7578ed9e3c518a452acee763bce9", "n", "00000001", "c", "auth", "INVITE",
                    "sip:x", b);
    digest_response("939e7578ed9e3c518a452acee763bce9", "n", "00000002", "c", "auth", "REGISTER",
                    "sip:x", c);
    assert_false(digest_equal(a, b));
    assert_false(digest_equal(a, c));
}

static void equal_ignores_case_and_rejects_bad_lengths(void **state)
{
    (void)state;
    assert_true(
        digest_equal("939e7578ed9e3c518a452acee763bce9", "939E7578ED9E3C518A452ACEE763BCE9"));
    assert_false(
        digest_equal("939e7578ed9e3c518a452acee763bce9", "939e7578ed9e3c518a452acee763bce"));
    assert_false(digest_equal("939e7578ed9e3c518a452acee763bce9", ""));
    assert_false(digest_equal(NULL, "939e7578ed9e3c518a452acee763bce9"));
}

static void nonce_count_parsing(void **state)
{
    (void)state;
    assert_int_equal(digest_parse_nc("00000001"), 1);
    assert_int_equal(digest_parse_nc("0000001f"), 31);
    assert_int_equal(digest_parse_nc("FFFFFFFF"), 4294967295L);
    assert_int_equal(digest_parse_nc("1"), -1);
    assert_int_equal(digest_parse_nc("0000000g"), -1);
    assert_int_equal(digest_parse_nc(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ha1_matches_rfc2617_example),
        cmocka_unit_test(response_matches_rfc2617_example),
        cmocka_unit_test(response_depends_on_method_and_nc),
        cmocka_unit_test(equal_ignores_case_and_rejects_bad_lengths),
        cmocka_unit_test(nonce_count_parsing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
