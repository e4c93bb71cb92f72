/* Unit tests for node/media/media_dtmf.c: RFC 4733 event blocks and packets both ways, the
 * end-of-event dedupe, digit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "media/media_dtmf.h"

static void decode_reads_event_end_volume_duration(void **state)
{
    (void)state;
    const uint8_t block[] = {11, 0x80 | 10, 0x03, 0x20};
    struct media_dtmf_event ev;
    assert_int_equal(media_dtmf_decode(block, sizeof block, &ev), 0);
    assert_int_equal(ev.event, 11);
    assert_true(ev.end);
    assert_int_equal(ev.volume, 10);
    assert_int_equal(ev.duration, 800);
    assert_int_equal(media_dtmf_decode(block, 3, &ev), -1);
    assert_int_equal(media_dtmf_decode(NULL, 0, &ev), -1);
}

static void encode_round_trips_and_saturates(void **state)
{
    (void)state;
    struct media_dtmf_event ev = {.event = 5, .end = 0, .volume = 63, .duration = 400}, back;
    uint8_t block[MEDIA_DTMF_PAYLOAD];
    media_dtmf_encode(&ev, block);
    assert_int_equal(media_dtmf_decode(block, sizeof block, &back), 0);
    assert_memory_equal(&ev, &back, sizeof ev);
    ev.duration = 70000;
    media_dtmf_encode(&ev, block);
    media_dtmf_decode(block, sizeof block, &back);
    assert_int_equal(back.duration, 0xFFFF);
}

static void packet_has_header_and_block(void **state)
{
    (void)state;
    struct media_dtmf_event ev = {.event = 7, .end = 1, .volume = 10, .duration = 960};
    uint8_t pkt[16];
    assert_int_equal(media_dtmf_packet(pkt, 101, 1, 0xABCD, 0x01020304, 0xDEADBEEF, &ev), 16);
    const uint8_t want[] = {0x80, 0x80 | 101, 0xAB, 0xCD, 1, 2,         3,    4,
                            0xDE, 0xAD,       0xBE, 0xEF, 7, 0x80 | 10, 0x03, 0xC0};
    assert_memory_equal(pkt, want, sizeof want);
    media_dtmf_packet(pkt, 101, 0, 1, 2, 3, &ev);
    assert_int_equal(pkt[1], 101); /* no marker */
}

static void three_end_packets_report_once(void **state)
{
    (void)state;
    struct media_dtmf_dedupe d = {0};
    assert_int_equal(media_dtmf_first_end(&d, 42, 1000), 1);
    assert_int_equal(media_dtmf_first_end(&d, 42, 1000), 0);
    assert_int_equal(media_dtmf_first_end(&d, 42, 1000), 0);
    /* the next digit (a new timestamp), or the same timestamp of another source */
    assert_int_equal(media_dtmf_first_end(&d, 42, 2600), 1);
    assert_int_equal(media_dtmf_first_end(&d, 43, 2600), 1);
}

static void digit_codes(void **state)
{
    (void)state;
    assert_int_equal(media_dtmf_code('0'), 0);
    assert_int_equal(media_dtmf_code('9'), 9);
    assert_int_equal(media_dtmf_code('*'), 10);
    assert_int_equal(media_dtmf_code('#'), 11);
    assert_int_equal(media_dtmf_code('a'), 12);
    assert_int_equal(media_dtmf_code('D'), 15);
    assert_int_equal(media_dtmf_code('x'), -1);
    assert_int_equal(media_dtmf_digit(11), '#');
    assert_int_equal(media_dtmf_digit(16), '?');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode_reads_event_end_volume_duration),
        cmocka_unit_test(encode_round_trips_and_saturates),
        cmocka_unit_test(packet_has_header_and_block),
        cmocka_unit_test(three_end_packets_report_once),
        cmocka_unit_test(digit_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
