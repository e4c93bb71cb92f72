/* Unit tests for node/sip/nonce.c: lifetime, forgery, the shared secret and clock skew. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "sip/nonce.h"

static const char *secret = "a-secret-of-sixteen-or-more";

static void fresh_nonce_is_ok_until_its_lifetime(void **state)
{
    (void)state;
    char n[NONCE_LEN];
    assert_int_equal(nonce_create(secret, 1000000, n), 0);
    assert_int_equal(strlen(n), NONCE_LEN - 1);
    assert_int_equal(nonce_check(secret, n, 1000000, 300), NONCE_OK);
    assert_int_equal(nonce_check(secret, n, 1000300, 300), NONCE_OK);
    assert_int_equal(nonce_check(secret, n, 1000301, 300), NONCE_STALE);
}

static void two_nonces_differ(void **state)
{
    (void)state;
    char a[NONCE_LEN], b[NONCE_LEN];
    nonce_create(secret, 1000000, a);
    nonce_create(secret, 1000000, b);
    assert_string_not_equal(a, b);
}

static void tampered_or_foreign_nonce_is_invalid(void **state)
{
    (void)state;
    char n[NONCE_LEN];
    nonce_create(secret, 1000000, n);
    assert_int_equal(nonce_check("another-secret-entirely", n, 1000000, 300), NONCE_INVALID);
    n[3] = n[3] == '0' ? '1' : '0'; /* move the timestamp: the MAC no longer matches */
    assert_int_equal(nonce_check(secret, n, 1000000, 300), NONCE_INVALID);
    assert_int_equal(nonce_check(secret, "short", 1000000, 300), NONCE_INVALID);
    assert_int_equal(nonce_check(secret, NULL, 1000000, 300), NONCE_INVALID);
}

static void nonce_from_the_future_is_invalid_beyond_skew(void **state)
{
    (void)state;
    char n[NONCE_LEN];
    nonce_create(secret, 1000100, n);
    assert_int_equal(nonce_check(secret, n, 1000098, 300), NONCE_OK); /* 2 s skew tolerated */
    assert_int_equal(nonce_check(secret, n, 1000000, 300), NONCE_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fresh_nonce_is_ok_until_its_lifetime),
        cmocka_unit_test(two_nonces_differ),
        cmocka_unit_test(tampered_or_foreign_nonce_is_invalid),
        cmocka_unit_test(nonce_from_the_future_is_invalid_beyond_skew),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
