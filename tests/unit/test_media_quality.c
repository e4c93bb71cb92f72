/* Unit tests for media quality (node/media/media_quality.c, media_rtcp.c): RFC 3550 loss and
 * jitter from synthetic sequences (wrap-around, reordering, restarts), the MOS estimate, RTCP
 * report parsing on good, short and random input, and the generated receiver report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "media/media.h"
#include "media/media_quality.h"
#include "media/media_rtcp.h"

#include <stdlib.h>
#include <string.h>

#define PTIME 0.020 /* seconds per packet */
#define STEP 160    /* timestamp units per packet at 8000 Hz */

/* Feeds n packets of a 20 ms PCMU stream starting at seq0; a packet is skipped when
 * drop(i) says so. noise_ms moves each arrival by up to +-noise_ms (deterministic). */
static void stream(struct media_rtp_source *s, uint16_t seq0, int n, int (*drop)(int),
                   double noise_ms)
{
    unsigned int r = 12345;
    for (int i = 0; i < n; i++) {
        r = r * 1103515245u + 12345u;
        if (drop && drop(i))
            continue;
        double jitter = noise_ms ? ((double)(r >> 16 & 0x7fff) / 0x7fff * 2 - 1) * noise_ms : 0;
        double arrival = 1000.0 + i * PTIME + jitter / 1000.0;
        media_q_rtp(s, (uint16_t)(seq0 + i), 5000u + (uint32_t)i * STEP, 0x1234, 0, 8000, arrival);
    }
}

/* About 5 % of packets, spread pseudo-randomly (a fixed hash, so the test is repeatable). */
static int five_percent(int i)
{
    return ((unsigned int)i * 2654435761u >> 16) % 100 < 5;
}

static void clean_stream_has_no_loss_and_top_mos(void **state)
{
    (void)state;
    struct media_rtp_source s = {0};
    stream(&s, 1, 500, NULL, 0);
    assert_int_equal(media_q_expected(&s), 500);
    assert_int_equal(media_q_lost(&s), 0);
    assert_true(media_q_loss_pct(&s) == 0.0);
    assert_true(media_q_jitter_ms(&s) < 0.1);
    double mos = media_q_mos(media_q_loss_pct(&s), media_q_jitter_ms(&s), -1, 0);
    assert_true(mos > 4.35 && mos < 4.45);
}

static void five_percent_loss_lowers_mos(void **state)
{
    (void)state;
    struct media_rtp_source s = {0};
    stream(&s, 100, 2000, five_percent, 0);
    double loss = media_q_loss_pct(&s);
    assert_true(loss > 3.5 && loss < 6.5);
    double mos = media_q_mos(loss, media_q_jitter_ms(&s), -1, 0);
    assert_true(mos < 4.0 && mos > 3.0);
    /* Without concealment's help (G.729 table entry), the same loss rates lower still. */
    assert_true(media_q_mos(loss, 0, -1, 18) < mos);
}

static void sequence_wraps_at_65535(void **state)
{
    (void)state;
    struct media_rtp_source s = {0};
    stream(&s, 65500, 100, NULL, 0); /* 65500..65535, then 0..63 */
    assert_int_equal(media_q_expected(&s), 100);
    assert_int_equal(media_q_lost(&s), 0);
    assert_int_equal(media_q_ext_max_seq(&s), 65536u + 63u);
}

static int every_tenth(int i)
{
    return i % 10 == 5;
}

static void loss_across_the_wrap_is_counted(void **state)
{
    (void)state;
    struct media_rtp_source s = {0};
    stream(&s, 65000, 1000, every_tenth, 0);
    assert_int_equal(media_q_expected(&s), 1000);
    assert_int_equal(media_q_lost(&s), 100);
    assert_true(media_q_loss_pct(&s) > 9.99 && media_q_loss_pct(&s) < 10.01);
}

static void reordering_is_not_loss(void **state)
{
    (void)state;
    struct media_rtp_source s = {0};
    static const uint16_t order[] = {1, 2, 4, 3, 5, 7, 6, 8, 10, 9};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        media_q_rtp(&s, order[i], order[i] * STEP, 7, 0, 8000, 1.0 + i * PTIME);
    assert_int_equal(media_q_expected(&s), 10);
    assert_int_equal(media_q_lost(&s), 0);
    /* Duplicates make "lost" negative (RFC 3550); the percentage stays at 0. */
    media_q_rtp(&s, 10, 10 * STEP, 7, 0, 8000, 1.3);
    assert_int_equal(media_q_lost(&s), -1);
    assert_true(media_q_loss_pct(&s) == 0.0);
}

static void jitter_of_paced_and_noisy_streams(void **state)
{
    (void)state;
    struct media_rtp_source paced = {0}, noisy = {0};
    stream(&paced, 1, 500, NULL, 0);
    stream(&noisy, 1, 500, NULL, 20);
    assert_true(media_q_jitter_ms(&paced) < 0.1);
    /* Uniform +-20 ms arrival noise: mean |D| is about 13 ms. */
    assert_true(media_q_jitter_ms(&noisy) > 5 && media_q_jitter_ms(&noisy) < 25);
    double clean = media_q_mos(0, media_q_jitter_ms(&paced), 20, 0);
    assert_true(media_q_mos(0, media_q_jitter_ms(&noisy), 20, 0) < clean);
}

static void events_stay_out_of_jitter(void **state)
{
    (void)state;
    struct media_rtp_source s = {0};
    /* RFC 4733: one timestamp for the whole event, packets 50 ms apart. */
    for (int i = 0; i < 20; i++)
        media_q_rtp(&s, (uint16_t)(i + 1), 8000, 9, 101, 0, 1.0 + i * 0.05);
    assert_true(media_q_jitter_ms(&s) == 0.0);
    assert_int_equal(media_q_lost(&s), 0);
}

static void restart_and_new_ssrc_keep_the_legs_totals(void **state)
{
    (void)state;
    struct media_rtp_source s = {0};
    stream(&s, 10, 100, every_tenth, 0); /* 10 lost of 100 */
    /* A jump far ahead is believed once the next packet follows it; as in RFC 3550 A.1, the
     * packet that made the jump is not counted at all. */
    media_q_rtp(&s, 40000, 0, 0x1234, 0, 8000, 10.0);
    media_q_rtp(&s, 40001, 160, 0x1234, 0, 8000, 10.02);
    media_q_rtp(&s, 40002, 320, 0x1234, 0, 8000, 10.04);
    assert_int_equal(media_q_expected(&s), 102);
    assert_int_equal(media_q_lost(&s), 10);
    /* A new SSRC (another source behind the leg) starts over, totals carry on. */
    media_q_rtp(&s, 7, 0, 0x9999, 0, 8000, 11.0);
    media_q_rtp(&s, 9, 320, 0x9999, 0, 8000, 11.04);
    assert_int_equal(media_q_expected(&s), 105);
    assert_int_equal(media_q_lost(&s), 11);
}

static void interval_fraction_follows_rfc3550(void **state)
{
    (void)state;
    struct media_rtp_source s = {0};
    stream(&s, 1, 100, every_tenth, 0);
    assert_int_equal(media_q_interval_fraction(&s), 25); /* 10/100 * 256 = 25.6 */
    stream(&s, 101, 100, NULL, 0);
    assert_int_equal(media_q_interval_fraction(&s), 0);
}

static void mos_edges(void **state)
{
    (void)state;
    assert_true(media_q_mos(100, 500, 2000, 0) >= 1.0);
    assert_true(media_q_mos(0, 0, -1, 0) <= 4.5);
    /* Delay beyond 177 ms costs more than delay below it. */
    double d1 = media_q_r_factor(0, 0, 100, 0) - media_q_r_factor(0, 0, 200, 0);
    double d2 = media_q_r_factor(0, 0, 400, 0) - media_q_r_factor(0, 0, 500, 0);
    assert_true(d2 > d1);
    char buf[16];
    assert_string_equal(media_payload_name(0, buf, sizeof buf), "PCMU");
    assert_string_equal(media_payload_name(8, buf, sizeof buf), "PCMA");
    assert_string_equal(media_payload_name(9, buf, sizeof buf), "G722");
    assert_string_equal(media_payload_name(101, buf, sizeof buf), "telephone-event");
    assert_string_equal(media_payload_name(111, buf, sizeof buf), "pt111");
    assert_string_equal(media_payload_name(-1, buf, sizeof buf), "");
}

/* An SR from ssrc 0x11 with NTP 0x0000abcd.12340000 and one block, then an RR with two. */
static size_t compound(uint8_t *p)
{
    static const uint8_t sr[] = {0x81, 200,  0,    12,   0,    0,    0,    0x11, 0, 0, 0xab, 0xcd,
                                 0x12, 0x34, 0,    0,    0,    0,    0,    1,    0, 0, 0,    10,
                                 0,    0,    0x10, 0x00, /* block: ssrc 0x22, 25/256 lost, cum -2,
                                                            seq, jitter 80, lsr, dlsr */
                                 0,    0,    0,    0x22, 25,   0xff, 0xff, 0xfe, 0, 1, 0,    5,
                                 0,    0,    0,    80,   0xab, 0xcd, 0x12, 0x34, 0, 1, 0,    0};
    static const uint8_t rr[] = {0x82, 201, 0, 13, 0, 0, 0, 0x22, 0, 0, 0, 0x11,
                                 0,    0,   0, 3,  0, 0, 0, 0,    0, 0, 0, 0,
                                 0,    0,   0, 0,  0, 0, 0, 0,    0, 0, 0, 0x33};
    memcpy(p, sr, sizeof sr);
    memcpy(p + sizeof sr, rr, sizeof rr);
    memset(p + sizeof sr + sizeof rr, 0, 56 - sizeof rr);
    return sizeof sr + 56;
}

static void rtcp_reports_are_read(void **state)
{
    (void)state;
    uint8_t p[200];
    size_t len = compound(p);
    struct media_rtcp_info info;
    assert_int_equal(media_rtcp_parse(p, len, &info), 0);
    assert_int_equal(info.packets, 2);
    assert_true(info.has_sr && info.sr_ssrc == 0x11 && info.sr_ntp_mid == 0xabcd1234u);
    assert_int_equal(info.nblocks, 3);
    assert_true(info.block[0].ssrc == 0x22 && info.block[0].fraction == 25);
    assert_int_equal(info.block[0].cum_lost, -2);
    assert_true(info.block[0].jitter == 80 && info.block[0].lsr == 0xabcd1234u);
    assert_true(info.block[0].dlsr == 0x10000u);
    assert_true(info.block[1].ssrc == 0x11 && info.block[1].cum_lost == 3);
    assert_true(info.block[2].ssrc == 0x33);
}

static void rtcp_short_and_malformed_are_refused(void **state)
{
    (void)state;
    uint8_t p[200];
    size_t len = compound(p);
    struct media_rtcp_info info;
    /* Every truncation: never a crash, and a cut inside the second packet keeps the first. */
    for (size_t n = 0; n < len; n++) {
        int rc = media_rtcp_parse(p, n, &info);
        assert_true(rc == -1 || n == 0 || n == 52);
        if (n > 52)
            assert_true(info.has_sr && info.packets == 1);
    }
    assert_int_equal(media_rtcp_parse(NULL, 0, &info), 0);
    /* A report count the length cannot hold. */
    uint8_t bad[8] = {0x9f, 201, 0, 1, 0, 0, 0, 1};
    assert_int_equal(media_rtcp_parse(bad, sizeof bad, &info), -1);
    /* An SR too short for its sender info. */
    uint8_t sr[12] = {0x80, 200, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0};
    assert_int_equal(media_rtcp_parse(sr, sizeof sr, &info), -1);
    /* Version 1. */
    uint8_t v1[8] = {0x40, 201, 0, 1, 0, 0, 0, 1};
    assert_int_equal(media_rtcp_parse(v1, sizeof v1, &info), -1);
}

static void rtcp_random_input_never_crashes(void **state)
{
    (void)state;
    uint8_t p[200], base[200];
    size_t blen = compound(base);
    srand(7);
    struct media_rtcp_info info;
    for (int round = 0; round < 200000; round++) {
        size_t len = (size_t)rand() % (sizeof p + 1);
        if (round % 2) { /* mutate a good compound: reaches deeper than pure noise */
            memcpy(p, base, blen);
            len = len > blen ? blen : len;
            for (int k = 0; k < 3; k++)
                p[(size_t)rand() % blen] = (uint8_t)rand();
        } else {
            for (size_t i = 0; i < len; i++)
                p[i] = (uint8_t)rand();
        }
        /* Exactly len bytes on the heap, so ASan sees any read past the end. */
        uint8_t *copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, p, len);
        int rc = media_rtcp_parse(copy, len, &info);
        assert_true(rc == 0 || rc == -1);
        assert_true(info.nblocks >= 0 && info.nblocks <= MEDIA_RTCP_MAX_BLOCKS);
        free(copy);
    }
}

static void generated_rr_parses_back(void **state)
{
    (void)state;
    struct media_rtcp_block b = {.ssrc = 0xdeadbeef,
                                 .fraction = 26,
                                 .cum_lost = -5,
                                 .ext_seq = 0x10005,
                                 .jitter = 40,
                                 .lsr = 0x1234abcd,
                                 .dlsr = 0x8000};
    uint8_t buf[MEDIA_RTCP_RR_LEN];
    assert_int_equal(media_rtcp_build_rr(buf, sizeof buf - 1, 1, &b), 0);
    assert_int_equal(media_rtcp_build_rr(buf, sizeof buf, 0x51, &b), MEDIA_RTCP_RR_LEN);
    struct media_rtcp_info info;
    assert_int_equal(media_rtcp_parse(buf, sizeof buf, &info), 0);
    assert_int_equal(info.packets, 2);
    assert_int_equal(info.nblocks, 1);
    /* field by field: the struct has padding after fraction, which memcmp would compare */
    assert_int_equal(info.block[0].ssrc, b.ssrc);
    assert_int_equal(info.block[0].fraction, b.fraction);
    assert_int_equal(info.block[0].cum_lost, b.cum_lost);
    assert_int_equal(info.block[0].ext_seq, b.ext_seq);
    assert_int_equal(info.block[0].jitter, b.jitter);
    assert_int_equal(info.block[0].lsr, b.lsr);
    assert_int_equal(info.block[0].dlsr, b.dlsr);
    assert_memory_equal(buf + 42, "tandem", 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_stream_has_no_loss_and_top_mos),
        cmocka_unit_test(five_percent_loss_lowers_mos),
        cmocka_unit_test(sequence_wraps_at_65535),
        cmocka_unit_test(loss_across_the_wrap_is_counted),
        cmocka_unit_test(reordering_is_not_loss),
        cmocka_unit_test(jitter_of_paced_and_noisy_streams),
        cmocka_unit_test(events_stay_out_of_jitter),
        cmocka_unit_test(restart_and_new_ssrc_keep_the_legs_totals),
        cmocka_unit_test(interval_fraction_follows_rfc3550),
        cmocka_unit_test(mos_edges),
        cmocka_unit_test(rtcp_reports_are_read),
        cmocka_unit_test(rtcp_short_and_malformed_are_refused),
        cmocka_unit_test(rtcp_random_input_never_crashes),
        cmocka_unit_test(generated_rr_parses_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
