/* Unit tests for node/admin/api_validate.c: field tables (types, lengths, required, unknown
 * fields) and the DNS name, extension and UUID checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "admin/api_validate.h"

static const struct api_field fields[] = {
    {"name", API_F_STRING, 1, 1, 8, NULL, NULL},
    {"domain", API_F_STRING, 0, 1, 253, api_valid_domain, "must be a DNS name"},
    {"enabled", API_F_BOOL, 0, 0, 0, NULL, NULL},
    {"tenant_id", API_F_UUID_OR_NULL, 0, 0, 0, NULL, NULL},
};

static int validate(const char *text, int creating, struct api_verror *err)
{
    json_t *o = json_loads(text, 0, NULL);
    assert_non_null(o);
    int rc = api_validate_object(o, fields, 4, creating, err);
    json_decref(o);
    return rc;
}

static void test_valid_object(void **state)
{
    (void)state;
    struct api_verror err;
    assert_int_equal(validate("{\"name\":\"abc\",\"domain\":\"a.example\",\"enabled\":true,"
                              "\"tenant_id\":null}",
                              1, &err),
                     0);
    assert_int_equal(validate("{}", 0, &err), 0);
}

static void test_faults_name_the_field(void **state)
{
    (void)state;
    struct api_verror err;
    assert_int_equal(validate("{\"name\":\"abc\",\"colour\":1}", 1, &err), -1);
    assert_string_equal(err.field, "colour");
    assert_int_equal(validate("{}", 1, &err), -1);
    assert_string_equal(err.field, "name");
    assert_int_equal(validate("{\"name\":5}", 0, &err), -1);
    assert_string_equal(err.field, "name");
    assert_int_equal(validate("{\"name\":\"123456789\"}", 0, &err), -1);
    assert_string_equal(err.field, "name");
    assert_int_equal(validate("{\"name\":\"\"}", 0, &err), -1);
    assert_int_equal(validate("{\"enabled\":\"yes\"}", 0, &err), -1);
    assert_string_equal(err.field, "enabled");
    assert_int_equal(validate("{\"domain\":\"-bad.example\"}", 0, &err), -1);
    assert_string_equal(err.field, "domain");
    assert_string_equal(err.message, "must be a DNS name");
    assert_int_equal(validate("{\"tenant_id\":\"nope\"}", 0, &err), -1);
    assert_string_equal(err.field, "tenant_id");
    assert_int_equal(validate("{\"name\":null}", 0, &err), -1);
    assert_string_equal(err.field, "name");
}

static void test_lengths_count_characters(void **state)
{
    (void)state;
    struct api_verror err;
    /* 8 characters, 16 bytes */
    assert_int_equal(validate("{\"name\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
                              "\\u00e9\"}",
                              0, &err),
                     0);
    json_t *o = json_pack("{s:s#}", "name", "a\0b", (size_t)3); /* only with JSON_ALLOW_NUL */
    assert_int_equal(api_validate_object(o, fields, 4, 0, &err), -1);
    json_decref(o);
}

static void test_not_an_object(void **state)
{
    (void)state;
    struct api_verror err;
    json_t *a = json_array();
    assert_int_equal(api_validate_object(a, fields, 4, 0, &err), -1);
    json_decref(a);
}

static void test_domain(void **state)
{
    (void)state;
    assert_true(api_valid_domain("example.com"));
    assert_true(api_valid_domain("A-1.Example.COM"));
    assert_true(api_valid_domain("localhost"));
    assert_false(api_valid_domain(""));
    assert_false(api_valid_domain("example..com"));
    assert_false(api_valid_domain("example.com."));
    assert_false(api_valid_domain(".example.com"));
    assert_false(api_valid_domain("exa_mple.com"));
    assert_false(api_valid_domain("example-.com"));
    assert_false(api_valid_domain("a b.com"));
    char label[80];
    memset(label, 'a', 64);
    strcpy(label + 64, ".com");
    assert_false(api_valid_domain(label));
    memset(label, 'a', 63);
    strcpy(label + 63, ".com");
    assert_true(api_valid_domain(label));
    char longname[300];
    memset(longname, 'a', sizeof longname);
    for (int i = 50; i < 299; i += 51)
        longname[i] = '.';
    longname[299] = '\0';
    assert_false(api_valid_domain(longname));
}

static void test_extension(void **state)
{
    (void)state;
    assert_true(api_valid_extension("100"));
    assert_true(api_valid_extension("alice.smith+x_1-2"));
    assert_false(api_valid_extension(""));
    assert_false(api_valid_extension("a b"));
    assert_false(api_valid_extension("a@b"));
    assert_false(api_valid_extension("a:b"));
    char s[66];
    memset(s, '1', 65);
    s[65] = '\0';
    assert_false(api_valid_extension(s));
    s[64] = '\0';
    assert_true(api_valid_extension(s));
}

static void test_uuid_and_lowercase(void **state)
{
    (void)state;
    assert_true(api_valid_uuid("123e4567-e89b-12d3-a456-426614174000"));
    assert_true(api_valid_uuid("123E4567-E89B-12D3-A456-426614174000"));
    assert_false(api_valid_uuid("123e4567e89b12d3a456426614174000"));
    assert_false(api_valid_uuid("123e4567-e89b-12d3-a456-42661417400g"));
    assert_false(api_valid_uuid("123e4567-e89b-12d3-a456-4266141740001"));
    char s[] = "ABC.Example";
    api_lowercase(s);
    assert_string_equal(s, "abc.example");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_object),
        cmocka_unit_test(test_faults_name_the_field),
        cmocka_unit_test(test_lengths_count_characters),
        cmocka_unit_test(test_not_an_object),
        cmocka_unit_test(test_domain),
        cmocka_unit_test(test_extension),
        cmocka_unit_test(test_uuid_and_lowercase),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
