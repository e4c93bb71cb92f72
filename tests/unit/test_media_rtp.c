/* Unit tests for node/media/media_rtp.c: RTP and RTCP header checks on good, short and malformed
 * packets, the accessors, and the payload type rewrite (marker bit kept). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "media/media_rtp.h"

#include <string.h>

/* A 12-byte RTP header: version 2, the given payload type, SSRC 0x11223344. */
static void rtp_header(uint8_t *p, int pt, int marker)
{
    memset(p, 0, 12);
    p[0] = 0x80;
    p[1] = (uint8_t)((marker ? 0x80 : 0) | pt);
    p[2] = 0x12; /* sequence */
    p[3] = 0x34;
    p[8] = 0x11;
    p[9] = 0x22;
    p[10] = 0x33;
    p[11] = 0x44;
}

static void rtp_accepts_plain_header_and_payload(void **state)
{
    (void)state;
    uint8_t p[172];
    memset(p, 0xd5, sizeof p);
    rtp_header(p, 8, 0);
    assert_int_equal(media_rtp_check(p, 12), MEDIA_RTP_OK);
    assert_int_equal(media_rtp_check(p, sizeof p), MEDIA_RTP_OK);
    assert_int_equal(media_rtp_payload_type(p), 8);
    assert_true(media_rtp_ssrc(p) == 0x11223344u);
}

static void rtp_rejects_short_and_wrong_version(void **state)
{
    (void)state;
    uint8_t p[12];
    rtp_header(p, 0, 0);
    for (size_t len = 0; len < 12; len++)
        assert_int_equal(media_rtp_check(p, len), MEDIA_RTP_ESHORT);
    assert_int_equal(media_rtp_check(NULL, 0), MEDIA_RTP_ESHORT);
    for (int v = 0; v < 4; v++) {
        p[0] = (uint8_t)(v << 6);
        assert_int_equal(media_rtp_check(p, 12), v == 2 ? MEDIA_RTP_OK : MEDIA_RTP_EVERSION);
    }
}

static void rtp_checks_csrc_extension_and_padding(void **state)
{
    (void)state;
    uint8_t p[64] = {0};
    rtp_header(p, 0, 0);
    p[0] = 0x82; /* two CSRCs: header is 20 bytes */
    assert_int_equal(media_rtp_check(p, 19), MEDIA_RTP_ECSRC);
    assert_int_equal(media_rtp_check(p, 20), MEDIA_RTP_OK);

    rtp_header(p, 0, 0);
    p[0] = 0x90; /* extension at byte 12 */
    p[15] = 2;   /* two words: header is 12 + 4 + 8 = 24 bytes */
    assert_int_equal(media_rtp_check(p, 15), MEDIA_RTP_EEXT);
    assert_int_equal(media_rtp_check(p, 23), MEDIA_RTP_EEXT);
    assert_int_equal(media_rtp_check(p, 24), MEDIA_RTP_OK);
    p[14] = 0xff; /* an absurd length cannot read past the end */
    assert_int_equal(media_rtp_check(p, sizeof p), MEDIA_RTP_EEXT);

    rtp_header(p, 0, 0);
    p[0] = 0xa0; /* padding: last byte counts it */
    p[15] = 4;
    assert_int_equal(media_rtp_check(p, 16), MEDIA_RTP_OK);
    p[15] = 5;
    assert_int_equal(media_rtp_check(p, 16), MEDIA_RTP_EPADDING);
    p[15] = 0;
    assert_int_equal(media_rtp_check(p, 16), MEDIA_RTP_EPADDING);
}

static void rtp_rejects_muxed_rtcp(void **state)
{
    (void)state;
    uint8_t p[12];
    rtp_header(p, 72, 1); /* byte 1 = 200: an RTCP sender report */
    assert_int_equal(media_rtp_check(p, 12), MEDIA_RTP_ERTCP);
    rtp_header(p, 72, 0); /* without the marker it is a legal (if unwise) RTP type */
    assert_int_equal(media_rtp_check(p, 12), MEDIA_RTP_OK);
}

static void rtcp_checks(void **state)
{
    (void)state;
    /* An empty receiver report: 8 bytes, length field 1 (two words minus one). */
    uint8_t rr[8] = {0x80, 201, 0, 1, 0x11, 0x22, 0x33, 0x44};
    assert_int_equal(media_rtcp_check(rr, 8), MEDIA_RTP_OK);
    assert_int_equal(media_rtcp_check(rr, 7), MEDIA_RTP_ESHORT);
    rr[3] = 2; /* claims 12 bytes */
    assert_int_equal(media_rtcp_check(rr, 8), MEDIA_RTP_ELENGTH);
    rr[3] = 1;
    rr[1] = 0; /* an RTP-looking type */
    assert_int_equal(media_rtcp_check(rr, 8), MEDIA_RTP_ETYPE);
    rr[1] = 201;
    rr[0] = 0x40;
    assert_int_equal(media_rtcp_check(rr, 8), MEDIA_RTP_EVERSION);
    assert_int_equal(media_rtcp_check(NULL, 0), MEDIA_RTP_ESHORT);
}

static void map_rewrites_type_and_keeps_marker(void **state)
{
    (void)state;
    uint8_t map[128];
    for (int i = 0; i < 128; i++)
        map[i] = (uint8_t)i;
    map[96] = 101;
    uint8_t p[20];
    memset(p, 0x5a, sizeof p);
    rtp_header(p, 96, 1);
    uint8_t before[20];
    memcpy(before, p, sizeof p);
    media_rtp_map_payload_type(p, map);
    assert_int_equal(p[1], 0x80 | 101);
    p[1] = before[1];
    assert_memory_equal(p, before, sizeof p); /* nothing else changed */

    rtp_header(p, 0, 0);
    media_rtp_map_payload_type(p, map);
    assert_int_equal(p[1], 0); /* unmapped types pass unchanged */
}

static void every_input_is_safe(void **state)
{
    (void)state;
    /* Every first-two-byte combination over a short buffer: the checks must only return. */
    uint8_t p[16] = {0};
    for (int a = 0; a < 256; a++) {
        for (int b = 0; b < 256; b++) {
            p[0] = (uint8_t)a;
            p[1] = (uint8_t)b;
            p[15] = (uint8_t)(a ^ b);
            for (size_t len = 0; len <= sizeof p; len++) {
                int r1 = media_rtp_check(p, len);
                int r2 = media_rtcp_check(p, len);
                assert_true(r1 <= 0 && r1 >= MEDIA_RTP_ELENGTH);
                assert_true(r2 <= 0 && r2 >= MEDIA_RTP_ELENGTH);
            }
        }
    }
    assert_string_equal(media_rtp_strerror(MEDIA_RTP_EPADDING), "padding");
    assert_string_equal(media_rtp_strerror(42), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rtp_accepts_plain_header_and_payload),
        cmocka_unit_test(rtp_rejects_short_and_wrong_version),
        cmocka_unit_test(rtp_checks_csrc_extension_and_padding),
        cmocka_unit_test(rtp_rejects_muxed_rtcp),
        cmocka_unit_test(rtcp_checks),
        cmocka_unit_test(map_rewrites_type_and_keeps_marker),
        cmocka_unit_test(every_input_is_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
