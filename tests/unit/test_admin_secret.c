/* Unit tests for node/store/admin_secret.c: HA1 against RFC 2617's example, key hashing and
 * the shape of generated API keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "store/admin_secret.h"

static void test_ha1(void **state)
{
    (void)state;
    char out[ADMIN_SECRET_HA1_LEN];
    /* RFC 2617 section 3.5: Mufasa / testrealm@host.com / Circle Of Life */
    assert_int_equal(admin_secret_ha1("Mufasa", "testrealm@host.com", "Circle Of Life", out), 0);
    assert_string_equal(out, "939e7578ed9e3c518a452acee763bce9");
}

static void test_key_hash(void **state)
{
    (void)state;
    char out[ADMIN_SECRET_SHA256_LEN];
    assert_int_equal(admin_secret_key_hash("abc", out), 0);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_new_key(void **state)
{
    (void)state;
    char k1[ADMIN_SECRET_KEY_LEN], h1[ADMIN_SECRET_SHA256_LEN];
    char k2[ADMIN_SECRET_KEY_LEN], h2[ADMIN_SECRET_SHA256_LEN], check[ADMIN_SECRET_SHA256_LEN];
    assert_int_equal(admin_secret_new_key(k1, h1), 0);
    assert_int_equal(admin_secret_new_key(k2, h2), 0);
    assert_int_equal(strncmp(k1, "tdm_", 4), 0);
    assert_int_equal(strlen(k1), 47);
    assert_int_equal(
        strspn(k1 + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
    assert_string_not_equal(k1, k2);
    assert_int_equal(admin_secret_key_hash(k1, check), 0);
    assert_string_equal(check, h1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ha1),
        cmocka_unit_test(test_key_hash),
        cmocka_unit_test(test_new_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
