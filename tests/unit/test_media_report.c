/* Unit tests for quality on the relay (node/media/media_report.c): a real engine on 127.0.0.1
 * with plain UDP sockets as phones. Loss, codec and MOS per leg from relayed RTP; reported loss
 * and round-trip time from RTCP passing through; receiver reports generated for a phone whose
 * peer sends none (one test waits out the 5 s report interval). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "udp_test_util.h"

#include "common/clock.h"
#include "media/media.h"
#include "media/media_rtcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Apart from test_media_relay's range, as ctest may run both at once. */
#define RANGE_MIN 21200
#define RANGE_MAX 21299
#define DEADLINE 2.0

static struct media_engine *eng;

static int setup(void **state)
{
    (void)state;
    struct media_config cfg = {.address = "127.0.0.1",
                               .port_min = RANGE_MIN,
                               .port_max = RANGE_MAX,
                               .max_sessions = 10,
                               .threads = 1};
    char err[256] = "";
    eng = media_engine_create(&cfg, err, sizeof err);
    return eng ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    media_engine_destroy(eng);
    return 0;
}

/* Next datagram on fd within DEADLINE, or -1. */
static ssize_t recv_within(int fd, uint8_t *buf, size_t cap)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, (int)(DEADLINE * 1000)) <= 0)
        return -1;
    return recv(fd, buf, cap, 0);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void send_rtp(int fd, int port, int pt, uint16_t seq, uint32_t ts, uint32_t ssrc)
{
    uint8_t p[12 + 160] = {0x80, (uint8_t)pt, (uint8_t)(seq >> 8), (uint8_t)seq};
    put32(p + 4, ts);
    put32(p + 8, ssrc);
    send_to(fd, port, p, sizeof p);
}

static void pause_ms(int ms)
{
    struct timespec t = {0, ms * 1000000L};
    nanosleep(&t, NULL);
}

/* Leg stats once the leg has received want packets, or at the deadline. */
static struct media_leg_stats stats_after(struct media_session *s, int leg, uint64_t want)
{
    struct media_leg_stats st;
    double end = clock_mono() + DEADLINE;
    do {
        media_leg_stats(s, leg, &st);
        if (st.packets_in >= want)
            break;
        pause_ms(1);
    } while (clock_mono() < end);
    return st;
}

static struct media_session *session(int a, int a_rtcp, int b, int b_rtcp)
{
    char err[256];
    struct media_session *s = media_session_create(eng, "quality-test", err, sizeof err);
    assert_non_null(s);
    assert_int_equal(media_leg_set_remote(s, MEDIA_LEG_A, "127.0.0.1", port_of(a), port_of(a_rtcp)),
                     0);
    assert_int_equal(media_leg_set_remote(s, MEDIA_LEG_B, "127.0.0.1", port_of(b), port_of(b_rtcp)),
                     0);
    return s;
}

static void loss_codec_rtt_and_reports_per_leg(void **state)
{
    (void)state;
    int a = phone(), b = phone(), a_rtcp = phone(), b_rtcp = phone();
    struct media_session *s = session(a, a_rtcp, b, b_rtcp);
    int pa = media_leg_local_port(s, MEDIA_LEG_A), pb = media_leg_local_port(s, MEDIA_LEG_B);

    /* A sends PCMU with every tenth packet missing, B sends clean PCMA; both 20 ms paced. */
    int sent_a = 0;
    for (int i = 0; i < 100; i++) {
        if (i % 10 != 5) {
            send_rtp(a, pa, 0, (uint16_t)(65500 + i), (uint32_t)i * 160, 0xa0a0a0a0);
            sent_a++;
        }
        send_rtp(b, pb, 8, (uint16_t)(10 + i), (uint32_t)i * 160, 0xb0b0b0b0);
        pause_ms(20);
    }
    struct media_leg_stats sa = stats_after(s, MEDIA_LEG_A, (uint64_t)sent_a);
    struct media_leg_stats sb = stats_after(s, MEDIA_LEG_B, 100);

    /* B's SR goes through to A; A answers 150 ms later claiming 50 ms of its own delay, so the
     * relay sees a round trip of about 100 ms to A. The RR also says A lost 10 % of B's. */
    uint8_t sr[28] = {0x80, 200, 0, 6};
    put32(sr + 4, 0xb0b0b0b0);
    put32(sr + 8, 0x00001234);  /* NTP seconds */
    put32(sr + 12, 0x56780000); /* NTP fraction */
    send_to(b_rtcp, pb + 1, sr, sizeof sr);
    uint8_t in[256];
    assert_int_equal(recv_within(a_rtcp, in, sizeof in), (ssize_t)sizeof sr);
    pause_ms(150);
    uint8_t rr[32] = {0x81, 201, 0, 7};
    put32(rr + 4, 0xa0a0a0a0);
    put32(rr + 8, 0xb0b0b0b0);
    rr[12] = 26;                       /* fraction lost: 26/256 */
    put32(rr + 24, 0x12345678);        /* LSR */
    put32(rr + 28, 65536 * 50 / 1000); /* DLSR: 50 ms */
    send_to(a_rtcp, pa + 1, rr, sizeof rr);
    assert_int_equal(recv_within(b_rtcp, in, sizeof in), (ssize_t)sizeof rr);
    sa = stats_after(s, MEDIA_LEG_A, (uint64_t)sent_a + 1);
    sb = stats_after(s, MEDIA_LEG_B, 101);

    assert_int_equal(sa.lost, 10);
    assert_true(sa.loss_pct > 9.9 && sa.loss_pct < 10.1);
    assert_int_equal(sa.payload_type, 0);
    assert_int_equal(sb.payload_type, 8);
    assert_int_equal(sb.lost, 0);
    assert_true(sb.loss_pct == 0.0);
    assert_true(sb.mos > 4.0 && sa.mos < sb.mos - 0.5);
    assert_true(sa.jitter_ms >= 0 && sa.jitter_ms < 20);
    assert_true(sa.rtt_ms > 80 && sa.rtt_ms < 400);
    assert_true(sb.rtt_ms == -1.0);
    assert_true(sa.rtcp_packets_in == 1 && sb.rtcp_packets_in == 1);
    assert_true(sa.reported_loss_pct > 10.0 && sa.reported_loss_pct < 10.3);
    assert_true(sb.reported_loss_pct == -1.0);
    /* packets_in still counts every datagram, RTP and RTCP. */
    assert_int_equal(sa.packets_in, (uint64_t)sent_a + 1);
    assert_int_equal(sb.packets_in, 101);
    /* Garbage RTCP is dropped before it is read. */
    uint8_t junk[6] = {0x80, 201, 0, 9, 0, 0};
    send_to(a_rtcp, pa + 1, junk, sizeof junk);
    sa = stats_after(s, MEDIA_LEG_A, (uint64_t)sent_a + 2);
    assert_int_equal(sa.rtcp_packets_in, 1);

    media_session_destroy(s);
    close(a), close(b), close(a_rtcp), close(b_rtcp);
}

/* Both phones send RTP for just over one report interval; B also sends RTCP, A does not. */
static void reports_are_generated_only_for_a_phone_whose_peer_is_silent(void **state)
{
    (void)state;
    int a = phone(), b = phone(), a_rtcp = phone(), b_rtcp = phone();
    struct media_session *s = session(a, a_rtcp, b, b_rtcp);
    int pa = media_leg_local_port(s, MEDIA_LEG_A), pb = media_leg_local_port(s, MEDIA_LEG_B);
    uint8_t empty_rr[8] = {0x80, 201, 0, 1};
    put32(empty_rr + 4, 0xb1b1b1b1);
    int lost_b = 0;
    double end = clock_mono() + 5.4;
    for (int i = 0; clock_mono() < end; i++) {
        send_rtp(a, pa, 0, (uint16_t)i, (uint32_t)i * 160, 0xa1a1a1a1);
        if (i % 20 == 7)
            lost_b++;
        else
            send_rtp(b, pb, 0, (uint16_t)(1000 + i), (uint32_t)i * 160, 0xb1b1b1b1);
        if (i % 25 == 0)
            send_to(b_rtcp, pb + 1, empty_rr, sizeof empty_rr);
        pause_ms(20);
    }
    struct media_leg_stats sa, sb;
    media_leg_stats(s, MEDIA_LEG_A, &sa);
    media_leg_stats(s, MEDIA_LEG_B, &sb);
    assert_int_equal(sa.rtcp_generated, 0); /* B's own reports reach A */
    assert_int_equal(sb.rtcp_generated, 1); /* nothing from A: the node reports to B */

    /* b_rtcp got exactly the generated RR: about B's stream, from another SSRC. */
    uint8_t in[256];
    ssize_t n = recv_within(b_rtcp, in, sizeof in);
    assert_int_equal(n, MEDIA_RTCP_RR_LEN);
    struct media_rtcp_info info;
    assert_int_equal(media_rtcp_parse(in, (size_t)n, &info), 0);
    assert_int_equal(info.nblocks, 1);
    assert_true(info.block[0].ssrc == 0xb1b1b1b1);
    assert_true(info.block[0].cum_lost > 0 && info.block[0].cum_lost <= lost_b);
    assert_true(info.block[0].fraction > 0);
    struct pollfd p = {.fd = b_rtcp, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 0), 0);

    media_session_destroy(s);
    close(a), close(b), close(a_rtcp), close(b_rtcp);
}

static void clock_setter_checks_its_arguments(void **state)
{
    (void)state;
    char err[256];
    struct media_session *s = media_session_create(eng, "clock-test", err, sizeof err);
    assert_non_null(s);
    assert_int_equal(media_leg_set_clock(s, MEDIA_LEG_A, 111, 48000), 0);
    assert_int_equal(media_leg_set_clock(s, MEDIA_LEG_B, 101, 0), 0);
    assert_int_equal(media_leg_set_clock(s, 2, 0, 8000), -1);
    assert_int_equal(media_leg_set_clock(s, MEDIA_LEG_A, 128, 8000), -1);
    assert_int_equal(media_leg_set_clock(s, MEDIA_LEG_A, 0, -1), -1);
    struct media_leg_stats st;
    media_leg_stats(s, MEDIA_LEG_A, &st);
    assert_true(st.payload_type == -1 && st.mos == 0.0 && st.rtt_ms == -1.0);
    media_session_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loss_codec_rtt_and_reports_per_leg),
        cmocka_unit_test(reports_are_generated_only_for_a_phone_whose_peer_is_silent),
        cmocka_unit_test(clock_setter_checks_its_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
