/* Unit test for the CDR spool format (node/store/cdr_spool.c): records survive the round trip,
 * order is kept across appends and batched reads, a torn last line is never replayed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/cdr_spool.h"

static char dir[64], path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_cdr_spool.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/cdr.spool", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char rejected[160];
    snprintf(rejected, sizeof rejected, "%s.rejected", path);
    unlink(path);
    unlink(rejected);
    rmdir(dir);
    return 0;
}

static struct cdr sample(int i)
{
    struct cdr r = {0};
    snprintf(r.call_uuid, sizeof r.call_uuid, "0b9e3f3c-4a7e-4c9a-9d55-2f0d1c7e%04d", i);
    strcpy(r.tenant_id, "5c1b3c2a-1111-4222-8333-944455556666");
    strcpy(r.a_call_id, "abc@phone");
    strcpy(r.b_call_id, "uuid-0@tandem");
    strcpy(r.caller, "1001");
    strcpy(r.callee_dialled, "1002");
    strcpy(r.callee_routed, "sip:1002@192.0.2.7:5060;transport=tcp");
    strcpy(r.gateway, "carrier \"a\"");
    strcpy(r.node, "node3");
    r.start_ms = 1700000000000LL + i;
    r.progress_ms = 1700000000500LL;
    r.answer_ms = i % 2 ? 0 : 1700000001000LL;
    r.end_ms = 1700000061000LL;
    r.sip_status = i % 2 ? 486 : 200;
    r.q850_cause = i % 2 ? 17 : 16;
    strcpy(r.hangup_by, "caller");
    strcpy(r.codec_a, "PCMU");
    r.failover = i % 3 == 0;
    return r;
}

static void append(const struct cdr *recs, size_t n)
{
    char err[256];
    assert_int_equal(cdr_spool_append(path, recs, n, err, sizeof err), 0);
}

static void round_trip_keeps_every_field(void **state)
{
    (void)state;
    struct cdr in[2] = {sample(0), sample(1)}, out[4];
    append(in, 2);
    long next;
    int bad;
    char err[256];
    assert_int_equal(cdr_spool_read(path, 0, out, 4, &next, &bad, err, sizeof err), 2);
    assert_int_equal(bad, 0);
    assert_memory_equal(&in[0], &out[0], sizeof in[0]);
    assert_memory_equal(&in[1], &out[1], sizeof in[1]);
    /* Nothing left after the last line. */
    assert_int_equal(cdr_spool_read(path, next, out, 4, &next, &bad, err, sizeof err), 0);
}

static void order_is_kept_across_appends_and_batches(void **state)
{
    (void)state;
    for (int i = 0; i < 7; i++) {
        struct cdr r = sample(i);
        append(&r, 1);
    }
    struct cdr out[3];
    long offset = 0, next;
    int bad, seen = 0, n;
    char err[256];
    while ((n = cdr_spool_read(path, offset, out, 3, &next, &bad, err, sizeof err)) > 0) {
        assert_true(n <= 3);
        for (int k = 0; k < n; k++) {
            struct cdr want = sample(seen++);
            assert_string_equal(out[k].call_uuid, want.call_uuid);
        }
        offset = next;
    }
    assert_int_equal(n, 0);
    assert_int_equal(seen, 7);
}

static void torn_last_line_is_ignored_then_cut(void **state)
{
    (void)state;
    struct cdr r = sample(1);
    append(&r, 1);
    /* A crash in the middle of the next batch's write. */
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    const char torn[] = "{\"call_uuid\":\"0b9e3f3c-4a7e-4c9a-9d55-2f0d1c7e0002\",\"cal";
    assert_int_equal(write(fd, torn, sizeof torn - 1), (ssize_t)(sizeof torn - 1));
    close(fd);
    struct cdr out[4];
    long next;
    int bad;
    char err[256];
    assert_int_equal(cdr_spool_read(path, 0, out, 4, &next, &bad, err, sizeof err), 1);
    assert_int_equal(bad, 0);
    long complete = next;
    assert_int_equal(cdr_spool_read(path, next, out, 4, &next, &bad, err, sizeof err), 0);
    assert_int_equal(next, complete); /* the torn tail is not consumed */
    /* The next append cuts the torn tail rather than gluing a record onto it. */
    struct cdr r3 = sample(3);
    append(&r3, 1);
    assert_int_equal(cdr_spool_read(path, 0, out, 4, &next, &bad, err, sizeof err), 2);
    assert_int_equal(bad, 0);
    assert_string_equal(out[0].call_uuid, r.call_uuid);
    assert_string_equal(out[1].call_uuid, r3.call_uuid);
}

static void garbage_lines_are_skipped_and_counted(void **state)
{
    (void)state;
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("not json\n{\"caller\":\"no uuid\"}\n", f);
    fclose(f);
    struct cdr r = sample(4);
    append(&r, 1);
    struct cdr out[4];
    long next;
    int bad;
    char err[256];
    assert_int_equal(cdr_spool_read(path, 0, out, 4, &next, &bad, err, sizeof err), 1);
    assert_int_equal(bad, 2);
    assert_string_equal(out[0].call_uuid, r.call_uuid);
}

static void missing_file_reads_as_empty(void **state)
{
    (void)state;
    struct cdr out[1];
    long next;
    int bad;
    char err[256];
    assert_int_equal(cdr_spool_read(path, 0, out, 1, &next, &bad, err, sizeof err), 0);
    assert_int_equal(next, 0);
}

static void bytes_that_are_not_utf8_are_cleaned(void **state)
{
    (void)state;
    struct cdr r = sample(5);
    strcpy(r.caller, "b\xc3\xa9"
                     "a\xff\xc0\xafz"); /* é is fine; 0xff and an overlong '/' are not */
    append(&r, 1);
    struct cdr out[1];
    long next;
    int bad;
    char err[256];
    assert_int_equal(cdr_spool_read(path, 0, out, 1, &next, &bad, err, sizeof err), 1);
    assert_string_equal(out[0].caller, "b\xc3\xa9"
                                       "a???z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(round_trip_keeps_every_field, setup, teardown),
        cmocka_unit_test_setup_teardown(order_is_kept_across_appends_and_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(torn_last_line_is_ignored_then_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(garbage_lines_are_skipped_and_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_file_reads_as_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(bytes_that_are_not_utf8_are_cleaned, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
