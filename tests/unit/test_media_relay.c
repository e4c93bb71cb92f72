/* Unit tests for the media relay (node/media): a real engine on 127.0.0.1 with two plain UDP
 * sockets as the phones. Covers forwarding both ways, RTCP, payload type mapping, latching and
 * re-latching, hold, drops, stats, port exhaustion and port reuse. Every wait has a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "udp_test_util.h"

#include "common/clock.h"
#include "common/log.h"
#include "media/media.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Below the kernel's ephemeral range, so no client socket of another test is likely to hold
 * them; a port someone does hold is skipped by the allocator anyway. */
#define RANGE_MIN 21000
#define RANGE_MAX 21099
#define DEADLINE 2.0 /* seconds; only ever reached when something is broken */

static struct media_engine *engine(int port_min, int port_max, int max_sessions, int threads)
{
    struct media_config cfg = {.address = "127.0.0.1",
                               .port_min = port_min,
                               .port_max = port_max,
                               .max_sessions = max_sessions,
                               .threads = threads};
    char err[256] = "";
    struct media_engine *eng = media_engine_create(&cfg, err, sizeof err);
    if (!eng)
        print_error("media_engine_create: %s\n", err);
    assert_non_null(eng);
    return eng;
}

static struct media_session *session(struct media_engine *eng)
{
    char err[256] = "";
    struct media_session *s = media_session_create(eng, "test-call", err, sizeof err);
    if (!s)
        print_error("media_session_create: %s\n", err);
    assert_non_null(s);
    return s;
}

/* Length of the next datagram on fd within DEADLINE (its source port in *from), or -1. */
static ssize_t recv_within(int fd, uint8_t *buf, size_t cap, int *from)
{
    double end = clock_mono() + DEADLINE;
    for (;;) {
        int left = (int)((end - clock_mono()) * 1000);
        if (left < 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        struct sockaddr_in a;
        socklen_t len = sizeof a;
        ssize_t n = recvfrom(fd, buf, cap, 0, (struct sockaddr *)&a, &len);
        if (from)
            *from = ntohs(a.sin_port);
        return n;
    }
}

/* 1 when a datagram is already queued on fd (no waiting). */
static int has_pending(int fd)
{
    uint8_t b[1];
    return recv(fd, b, sizeof b, MSG_DONTWAIT | MSG_PEEK) >= 0;
}

/* An RTP packet: header with pt, seq and ssrc, then payload_len bytes of `fill`. */
static size_t rtp(uint8_t *p, int pt, int marker, uint16_t seq, uint32_t ssrc, size_t payload_len,
                  uint8_t fill)
{
    p[0] = 0x80;
    p[1] = (uint8_t)((marker ? 0x80 : 0) | pt);
    p[2] = (uint8_t)(seq >> 8);
    p[3] = (uint8_t)seq;
    memset(p + 4, 0, 4);
    p[8] = (uint8_t)(ssrc >> 24);
    p[9] = (uint8_t)(ssrc >> 16);
    p[10] = (uint8_t)(ssrc >> 8);
    p[11] = (uint8_t)ssrc;
    for (size_t i = 0; i < payload_len; i++)
        p[12 + i] = (uint8_t)(fill + i);
    return 12 + payload_len;
}

static uint16_t seq_of(const uint8_t *p)
{
    return (uint16_t)((p[2] << 8) | p[3]);
}

/* Stats of a leg once packets_in reaches want (the relay has finished that batch), or at the
 * deadline; the caller asserts on what it got. */
static struct media_leg_stats stats_after(struct media_session *s, int leg, uint64_t want_in,
                                          uint64_t want_out)
{
    struct media_leg_stats st;
    double end = clock_mono() + DEADLINE;
    for (;;) {
        media_leg_stats(s, leg, &st);
        if ((st.packets_in >= want_in && st.packets_out >= want_out) || clock_mono() > end)
            return st;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
}

/* Sends one RTP packet from `from` to relay port `to` and expects it, unchanged, at `at` from
 * the relay port `via`. */
static void expect_relayed(int from, int to, int at, int via, uint16_t seq)
{
    uint8_t out[200], in[300];
    size_t len = rtp(out, 0, 0, seq, 0xa1b2c3d4, 160, (uint8_t)seq);
    send_to(from, to, out, len);
    int src = 0;
    ssize_t n = recv_within(at, in, sizeof in, &src);
    assert_int_equal(n, (ssize_t)len);
    assert_memory_equal(in, out, len);
    assert_int_equal(src, via);
}

static void relays_rtp_and_rtcp_both_ways(void **state)
{
    (void)state;
    struct media_engine *eng = engine(RANGE_MIN, RANGE_MAX, 10, 2);
    struct media_session *s = session(eng);
    int pa = media_leg_local_port(s, MEDIA_LEG_A), pb = media_leg_local_port(s, MEDIA_LEG_B);
    assert_true(pa >= RANGE_MIN && pa <= RANGE_MAX && pa % 2 == 0);
    assert_true(pb >= RANGE_MIN && pb <= RANGE_MAX && pb % 2 == 0 && pb != pa);
    int a = phone(), b = phone(), a_rtcp = phone(), b_rtcp = phone();
    assert_int_equal(media_leg_set_remote(s, MEDIA_LEG_A, "127.0.0.1", port_of(a), port_of(a_rtcp)),
                     0);
    assert_int_equal(media_leg_set_remote(s, MEDIA_LEG_B, "127.0.0.1", port_of(b), port_of(b_rtcp)),
                     0);

    expect_relayed(a, pa, b, pb, 1);
    expect_relayed(b, pb, a, pa, 2);
    expect_relayed(a, pa, b, pb, 3);

    /* RTCP: an empty receiver report, relayed untouched between the RTCP ports. */
    uint8_t rr[8] = {0x80, 201, 0, 1, 1, 2, 3, 4}, in[64];
    send_to(a_rtcp, pa + 1, rr, sizeof rr);
    int src = 0;
    assert_int_equal(recv_within(b_rtcp, in, sizeof in, &src), (ssize_t)sizeof rr);
    assert_memory_equal(in, rr, sizeof rr);
    assert_int_equal(src, pb + 1);
    send_to(b_rtcp, pb + 1, rr, sizeof rr);
    assert_int_equal(recv_within(a_rtcp, in, sizeof in, &src), (ssize_t)sizeof rr);
    assert_int_equal(src, pa + 1);

    media_session_destroy(s);
    media_engine_destroy(eng);
    close(a), close(b), close(a_rtcp), close(b_rtcp);
}

static void payload_type_is_rewritten_when_mapped(void **state)
{
    (void)state;
    struct media_engine *eng = engine(RANGE_MIN, RANGE_MAX, 10, 1);
    struct media_session *s = session(eng);
    int pa = media_leg_local_port(s, MEDIA_LEG_A), pb = media_leg_local_port(s, MEDIA_LEG_B);
    int a = phone(), b = phone();
    assert_int_equal(media_leg_set_remote(s, MEDIA_LEG_A, "127.0.0.1", port_of(a), 0), 0);
    assert_int_equal(media_leg_set_remote(s, MEDIA_LEG_B, "127.0.0.1", port_of(b), 0), 0);
    /* Leg A calls telephone-event 96, leg B calls it 101. */
    assert_int_equal(media_leg_map_payload(s, MEDIA_LEG_B, 96, 101), 0);
    assert_int_equal(media_leg_map_payload(s, MEDIA_LEG_A, 101, 96), 0);

    uint8_t out[200], in[200];
    size_t len = rtp(out, 96, 1, 7, 42, 4, 0x10);
    send_to(a, pa, out, len);
    assert_int_equal(recv_within(b, in, sizeof in, NULL), (ssize_t)len);
    assert_int_equal(in[1], 0x80 | 101); /* marker kept, type rewritten */
    assert_memory_equal(in + 2, out + 2, len - 2);
    assert_memory_equal(in, out, 1);

    len = rtp(out, 101, 0, 8, 43, 4, 0x20);
    send_to(b, pb, out, len);
    assert_int_equal(recv_within(a, in, sizeof in, NULL), (ssize_t)len);
    assert_int_equal(in[1], 96);
    assert_memory_equal(in + 2, out + 2, len - 2);

    len = rtp(out, 0, 0, 9, 42, 160, 0x30); /* unmapped types pass unchanged */
    send_to(a, pa, out, len);
    assert_int_equal(recv_within(b, in, sizeof in, NULL), (ssize_t)len);
    assert_memory_equal(in, out, len);

    media_session_destroy(s);
    media_engine_destroy(eng);
    close(a), close(b);
}

static void latches_on_real_source_and_relatches_after_a_run(void **state)
{
    (void)state;
    struct media_engine *eng = engine(RANGE_MIN, RANGE_MAX, 10, 1);
    struct media_session *s = session(eng);
    int pa = media_leg_local_port(s, MEDIA_LEG_A), pb = media_leg_local_port(s, MEDIA_LEG_B);
    int a_sdp = phone(), a_real = phone(), a_new = phone(), b = phone();
    assert_int_equal(media_leg_set_remote(s, MEDIA_LEG_A, "127.0.0.1", port_of(a_sdp), 0), 0);
    assert_int_equal(media_leg_set_remote(s, MEDIA_LEG_B, "127.0.0.1", port_of(b), 0), 0);

    /* Before A has sent anything, its SDP address is all there is. */
    expect_relayed(b, pb, a_sdp, pa, 1);
    /* A's phone sends from another port (NAT): that source is latched ... */
    expect_relayed(a_real, pa, b, pb, 2);
    /* ... and B's media now reaches it, not the SDP address. One packet goes one place, so
     * having arrived at a_real it cannot also be queued at a_sdp. */
    expect_relayed(b, pb, a_real, pa, 3);
    assert_false(has_pending(a_sdp));

    /* A new source: four packets are not enough and are dropped. */
    uint8_t out[200], in[300];
    for (uint16_t i = 0; i < MEDIA_RELATCH_PACKETS - 1; i++) {
        size_t len = rtp(out, 0, 0, (uint16_t)(100 + i), 7, 20, 0);
        send_to(a_new, pa, out, len);
    }
    /* Leg A has received a_real's packet and the four. */
    struct media_leg_stats st = stats_after(s, MEDIA_LEG_A, MEDIA_RELATCH_PACKETS, 0);
    assert_int_equal(st.packets_in, MEDIA_RELATCH_PACKETS);
    assert_int_equal(st.dropped, MEDIA_RELATCH_PACKETS - 1);
    expect_relayed(b, pb, a_real, pa, 4);
    /* The fifth in a row takes over: it is forwarded (the first B sees since seq 2) and B's
     * media follows A to the new source. */
    size_t len = rtp(out, 0, 0, 200, 7, 20, 0);
    send_to(a_new, pa, out, len);
    assert_int_equal(recv_within(b, in, sizeof in, NULL), (ssize_t)len);
    assert_int_equal(seq_of(in), 200);
    expect_relayed(b, pb, a_new, pa, 5);
    assert_false(has_pending(a_real));

    media_session_destroy(s);
    media_engine_destroy(eng);
    close(a_sdp), close(a_real), close(a_new), close(b);
}

static void first_packet_latches_even_without_sdp(void **state)
{
    (void)state;
    struct media_engine *eng = engine(RANGE_MIN, RANGE_MAX, 10, 1);
    struct media_session *s = session(eng);
    int pa = media_leg_local_port(s, MEDIA_LEG_A), pb = media_leg_local_port(s, MEDIA_LEG_B);
    int a = phone(), b = phone();
    /* Neither leg has a remote: A's packet has nowhere to go and is dropped ... */
    uint8_t out[64];
    size_t len = rtp(out, 0, 0, 1, 9, 20, 0);
    send_to(a, pa, out, len);
    struct media_leg_stats st = stats_after(s, MEDIA_LEG_A, 1, 0);
    assert_int_equal(st.packets_in, 1);
    assert_int_equal(st.dropped, 1);
    /* ... but it latched A, so B (latched by its own first packet) reaches A. */
    expect_relayed(b, pb, a, pa, 2);
    expect_relayed(a, pa, b, pb, 3);

    media_session_destroy(s);
    media_engine_destroy(eng);
    close(a), close(b);
}

static void hold_stops_media_toward_the_held_leg(void **state)
{
    (void)state;
    struct media_engine *eng = engine(RANGE_MIN, RANGE_MAX, 10, 2);
    struct media_session *s = session(eng);
    int pa = media_leg_local_port(s, MEDIA_LEG_A), pb = media_leg_local_port(s, MEDIA_LEG_B);
    int a = phone(), b = phone();
    assert_int_equal(media_leg_set_remote(s, MEDIA_LEG_A, "127.0.0.1", port_of(a), 0), 0);
    assert_int_equal(media_leg_set_remote(s, MEDIA_LEG_B, "127.0.0.1", port_of(b), 0), 0);

    assert_int_equal(media_leg_set_hold(s, MEDIA_LEG_B, 1), 0);
    uint8_t out[200], in[300];
    for (uint16_t i = 0; i < 3; i++) {
        size_t len = rtp(out, 0, 0, (uint16_t)(10 + i), 1, 160, 0);
        send_to(a, pa, out, len);
    }
    struct media_leg_stats st = stats_after(s, MEDIA_LEG_A, 3, 0);
    assert_int_equal(st.packets_in, 3);
    assert_int_equal(st.dropped, 3);
    assert_false(has_pending(b));
    /* The held leg's own media still reaches the other side. */
    expect_relayed(b, pb, a, pa, 20);

    /* Off hold: the first packet B receives is the one sent after, none of the held ones. */
    assert_int_equal(media_leg_set_hold(s, MEDIA_LEG_B, 0), 0);
    size_t len = rtp(out, 0, 0, 99, 1, 160, 0);
    send_to(a, pa, out, len);
    assert_int_equal(recv_within(b, in, sizeof in, NULL), (ssize_t)len);
    assert_int_equal(seq_of(in), 99);

    media_session_destroy(s);
    media_engine_destroy(eng);
    close(a), close(b);
}

static void garbage_is_counted_and_dropped(void **state)
{
    (void)state;
    struct media_engine *eng = engine(RANGE_MIN, RANGE_MAX, 10, 1);
    struct media_session *s = session(eng);
    int pa = media_leg_local_port(s, MEDIA_LEG_A), pb = media_leg_local_port(s, MEDIA_LEG_B);
    int a = phone(), b = phone(), evil = phone();
    assert_int_equal(media_leg_set_remote(s, MEDIA_LEG_A, "127.0.0.1", port_of(a), 0), 0);
    assert_int_equal(media_leg_set_remote(s, MEDIA_LEG_B, "127.0.0.1", port_of(b), 0), 0);

    uint8_t junk[3000];
    memset(junk, 0xff, sizeof junk);
    send_to(evil, pa, junk, 5);                /* too short */
    send_to(evil, pa, (const uint8_t *)"", 0); /* empty */
    uint8_t v1[20] = {0x40};                   /* version 1 */
    send_to(evil, pa, v1, sizeof v1);
    uint8_t sr[8] = {0x80, 200, 0, 1, 0, 0, 0, 0}; /* RTCP on the RTP port */
    send_to(evil, pa, sr, sizeof sr);
    size_t big = rtp(junk, 0, 0, 1, 1, sizeof junk - 12, 0); /* truncated by the relay */
    send_to(evil, pa, junk, big);
    uint8_t bad_rtcp[4] = {0x80, 201, 0, 0}; /* short RTCP on the RTCP port */
    send_to(evil, pa + 1, bad_rtcp, sizeof bad_rtcp);
    struct media_leg_stats st = stats_after(s, MEDIA_LEG_A, 6, 0);
    assert_int_equal(st.packets_in, 6);
    assert_int_equal(st.dropped, 6);
    assert_true(st.last_packet_mono == 0); /* garbage is not media */

    /* None of it latched A: B's media still goes to A's SDP address, and A's first real
     * packet is the first thing B sees. */
    expect_relayed(b, pb, a, pa, 1);
    expect_relayed(a, pa, b, pb, 2);

    media_session_destroy(s);
    media_engine_destroy(eng);
    close(a), close(b), close(evil);
}

static void stats_count_exactly(void **state)
{
    (void)state;
    struct media_engine *eng = engine(RANGE_MIN, RANGE_MAX, 10, 2);
    struct media_session *s = session(eng);
    int pa = media_leg_local_port(s, MEDIA_LEG_A), pb = media_leg_local_port(s, MEDIA_LEG_B);
    int a = phone(), b = phone();
    struct media_leg_stats st;
    media_leg_stats(s, MEDIA_LEG_A, &st);
    assert_true(st.packets_in == 0 && st.bytes_in == 0 && st.last_packet_mono == 0);
    assert_int_equal(media_leg_set_remote(s, MEDIA_LEG_A, "127.0.0.1", port_of(a), 0), 0);
    assert_int_equal(media_leg_set_remote(s, MEDIA_LEG_B, "127.0.0.1", port_of(b), 0), 0);

    uint8_t out[400], in[400];
    const size_t a_sizes[] = {100, 200, 300}, b_sizes[] = {50, 60};
    for (int i = 0; i < 3; i++) {
        size_t len = rtp(out, 0, 0, (uint16_t)i, 0xaaaa0001u, a_sizes[i] - 12, 0);
        send_to(a, pa, out, len);
        assert_int_equal(recv_within(b, in, sizeof in, NULL), (ssize_t)len);
    }
    for (int i = 0; i < 2; i++) {
        size_t len = rtp(out, 0, 0, (uint16_t)i, 0xbbbb0002u, b_sizes[i] - 12, 0);
        send_to(b, pb, out, len);
        assert_int_equal(recv_within(a, in, sizeof in, NULL), (ssize_t)len);
    }
    double now = clock_mono();
    st = stats_after(s, MEDIA_LEG_A, 3, 2);
    assert_int_equal(st.packets_in, 3);
    assert_int_equal(st.bytes_in, 600);
    assert_int_equal(st.packets_out, 2);
    assert_int_equal(st.bytes_out, 110);
    assert_int_equal(st.dropped, 0);
    assert_true(st.ssrc == 0xaaaa0001u);
    assert_true(st.last_packet_mono > 0 && st.last_packet_mono <= now);
    st = stats_after(s, MEDIA_LEG_B, 2, 3);
    assert_int_equal(st.packets_in, 2);
    assert_int_equal(st.bytes_in, 110);
    assert_int_equal(st.packets_out, 3);
    assert_int_equal(st.bytes_out, 600);
    assert_int_equal(st.dropped, 0);
    assert_true(st.ssrc == 0xbbbb0002u);

    media_session_destroy(s);
    media_engine_destroy(eng);
    close(a), close(b);
}

static void port_range_exhaustion_is_a_clear_error(void **state)
{
    (void)state;
    /* Four ports: two pairs, exactly one session. */
    struct media_engine *eng = engine(21200, 21203, 10, 1);
    struct media_session *s = session(eng);
    char err[256] = "";
    assert_null(media_session_create(eng, "second", err, sizeof err));
    assert_non_null(strstr(err, "exhausted"));
    assert_non_null(strstr(err, "21200-21203"));
    /* Destroying gives the ports back at once. */
    media_session_destroy(s);
    s = session(eng);
    media_session_destroy(s);
    media_engine_destroy(eng);
}

static void max_sessions_is_a_clear_error(void **state)
{
    (void)state;
    struct media_engine *eng = engine(21300, 21399, 1, 1);
    struct media_session *s = session(eng);
    char err[256] = "";
    assert_null(media_session_create(eng, "second", err, sizeof err));
    assert_non_null(strstr(err, "max_sessions (1)"));
    media_session_destroy(s);
    media_engine_destroy(eng);
}

static void ports_in_use_are_skipped_and_allocation_wraps(void **state)
{
    (void)state;
    /* Pairs 21400, 21402, 21404, 21406; another process holds 21400. */
    int blocker = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in at = {
        .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = htons(21400)};
    assert_int_equal(bind(blocker, (struct sockaddr *)&at, sizeof at), 0);
    struct media_engine *eng = engine(21400, 21407, 10, 1);
    struct media_session *s = session(eng);
    assert_int_equal(media_leg_local_port(s, MEDIA_LEG_A), 21402);
    assert_int_equal(media_leg_local_port(s, MEDIA_LEG_B), 21404);
    media_session_destroy(s);
    /* Round-robin: the next call starts after the last pair handed out and wraps around,
     * skipping the held port again. */
    s = session(eng);
    assert_int_equal(media_leg_local_port(s, MEDIA_LEG_A), 21406);
    assert_int_equal(media_leg_local_port(s, MEDIA_LEG_B), 21402);
    media_session_destroy(s);
    media_engine_destroy(eng);
    close(blocker);
}

static void bad_arguments_are_refused(void **state)
{
    (void)state;
    char err[256] = "";
    struct media_config cfg = {.address = "127.0.0.1",
                               .port_min = 21500,
                               .port_max = 21599,
                               .max_sessions = 1,
                               .threads = 0};
    assert_null(media_engine_create(&cfg, err, sizeof err));
    assert_non_null(strstr(err, "media.threads"));
    cfg.threads = 1;
    cfg.port_max = 21502; /* one pair only */
    assert_null(media_engine_create(&cfg, err, sizeof err));
    assert_non_null(strstr(err, "fewer than 2"));
    cfg.port_max = 21599;
    strcpy(cfg.address, "not-an-ip");
    assert_null(media_engine_create(&cfg, err, sizeof err));
    assert_non_null(strstr(err, "not an IP address"));
    strcpy(cfg.address, "192.0.2.1"); /* TEST-NET-1: not on this host */
    assert_null(media_engine_create(&cfg, err, sizeof err));
    assert_non_null(strstr(err, "cannot bind"));

    struct media_engine *eng = engine(21500, 21599, 1, 1);
    struct media_session *s = session(eng);
    assert_int_equal(media_leg_local_port(s, 2), -1);
    assert_int_equal(media_leg_set_remote(s, 2, "127.0.0.1", 4000, 0), -1);
    assert_int_equal(media_leg_set_remote(s, MEDIA_LEG_A, "bogus", 4000, 0), -1);
    assert_int_equal(media_leg_set_remote(s, MEDIA_LEG_A, "::1", 4000, 0), -1); /* family */
    assert_int_equal(media_leg_set_remote(s, MEDIA_LEG_A, "127.0.0.1", 0, 0), -1);
    assert_int_equal(media_leg_set_remote(s, MEDIA_LEG_A, "127.0.0.1", 70000, 0), -1);
    assert_int_equal(media_leg_map_payload(s, MEDIA_LEG_A, 0, 128), -1);
    assert_int_equal(media_leg_map_payload(s, MEDIA_LEG_A, -1, 8), -1);
    assert_int_equal(media_leg_map_payload(s, MEDIA_LEG_A, 96, 72), -1); /* RTCP range */
    assert_int_equal(media_leg_set_hold(s, -1, 1), -1);
    struct media_leg_stats st = {.packets_in = 99};
    media_leg_stats(s, 5, &st);
    assert_int_equal(st.packets_in, 0);
    media_session_destroy(s);
    media_session_destroy(NULL);
    media_engine_destroy(eng);
    media_engine_destroy(NULL);
}

static void sessions_destroyed_under_traffic_and_left_to_the_engine(void **state)
{
    (void)state;
    struct media_engine *eng = engine(RANGE_MIN, RANGE_MAX, 20, 3);
    struct media_session *s[8];
    int a = phone(), b = phone();
    for (int i = 0; i < 8; i++) {
        s[i] = session(eng);
        assert_int_equal(media_leg_set_remote(s[i], MEDIA_LEG_B, "127.0.0.1", port_of(b), 0), 0);
    }
    /* Traffic into every session, then destroy half of them while it may still be in flight:
     * a media thread can hold an event for a destroyed session and must not touch freed
     * memory (ASan watches). The other half is left for media_engine_destroy to free. */
    uint8_t out[200];
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 8; i++) {
            size_t len = rtp(out, 0, 0, (uint16_t)round, (uint32_t)i, 160, 0);
            send_to(a, media_leg_local_port(s[i], MEDIA_LEG_A), out, len);
        }
    }
    for (int i = 0; i < 8; i += 2)
        media_session_destroy(s[i]);
    media_engine_destroy(eng);
    close(a), close(b);
}

int main(void)
{
    log_set_level(LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(relays_rtp_and_rtcp_both_ways),
        cmocka_unit_test(payload_type_is_rewritten_when_mapped),
        cmocka_unit_test(latches_on_real_source_and_relatches_after_a_run),
        cmocka_unit_test(first_packet_latches_even_without_sdp),
        cmocka_unit_test(hold_stops_media_toward_the_held_leg),
        cmocka_unit_test(garbage_is_counted_and_dropped),
        cmocka_unit_test(stats_count_exactly),
        cmocka_unit_test(port_range_exhaustion_is_a_clear_error),
        cmocka_unit_test(max_sessions_is_a_clear_error),
        cmocka_unit_test(ports_in_use_are_skipped_and_allocation_wraps),
        cmocka_unit_test(bad_arguments_are_refused),
        cmocka_unit_test(sessions_destroyed_under_traffic_and_left_to_the_engine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
