/* Unit tests for SRTP legs (node/media/media_srtp.c): a real engine with a plain phone on leg A
 * and an SRTP phone on leg B that protects and unprotects with its own libsrtp2 contexts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "udp_test_util.h"

#include "common/clock.h"
#include "media/media.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <srtp2/srtp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Apart from every other unit test's range (test_media_relay uses 21000-21099, 21200-21203,
 * 21400-21407 and 21500-21599), as ctest runs them in parallel. */
#define RANGE_MIN 21600
#define RANGE_MAX 21699
#define DEADLINE 2.0
#define SUITE "AES_CM_128_HMAC_SHA1_80"

static const uint8_t phone_key[MEDIA_SRTP_KEY_LEN] = "phone-key-0123456789abcdefghi"; /* 29+NUL */
static const uint8_t node_key[MEDIA_SRTP_KEY_LEN] = "node-key-0123456789abcdefghij";

static ssize_t recv_within(int fd, uint8_t *buf, size_t cap)
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
        return recv(fd, buf, cap, 0);
    }
}

static size_t rtp(uint8_t *p, int pt, uint16_t seq, uint32_t ssrc, size_t payload_len, uint8_t fill)
{
    p[0] = 0x80;
    p[1] = (uint8_t)pt;
    p[2] = (uint8_t)(seq >> 8);
    p[3] = (uint8_t)seq;
    memset(p + 4, 0, 4);
    p[8] = (uint8_t)(ssrc >> 24);
    p[9] = (uint8_t)(ssrc >> 16);
    p[10] = (uint8_t)(ssrc >> 8);
    p[11] = (uint8_t)ssrc;
    memset(p + 12, fill, payload_len);
    return 12 + payload_len;
}

/* The SRTP phone's own context: outbound with its key, or inbound with the node's. */
static srtp_t phone_ctx(const uint8_t *key, int inbound)
{
    srtp_policy_t p;
    memset(&p, 0, sizeof p);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
    uint8_t k[MEDIA_SRTP_KEY_LEN];
    memcpy(k, key, sizeof k);
    p.key = k;
    p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    p.window_size = 128;
    srtp_t ctx = NULL;
    assert_int_equal(srtp_create(&ctx, &p), srtp_err_status_ok);
    return ctx;
}

struct fixture {
    struct media_engine *eng;
    struct media_session *s;
    int plain, secure; /* leg A's and leg B's phones */
    srtp_t tx, rx;     /* the SRTP phone's contexts */
};

static void setup_call(struct fixture *f)
{
    struct media_config cfg = {.address = "127.0.0.1",
                               .port_min = RANGE_MIN,
                               .port_max = RANGE_MAX,
                               .max_sessions = 4,
                               .threads = 1};
    char err[256] = "";
    f->eng = media_engine_create(&cfg, err, sizeof err); /* runs srtp_init */
    assert_non_null(f->eng);
    f->s = media_session_create(f->eng, "srtp-call", err, sizeof err);
    assert_non_null(f->s);
    f->plain = phone();
    f->secure = phone();
    assert_int_equal(
        media_leg_set_remote(f->s, MEDIA_LEG_A, "127.0.0.1", port_of(f->plain), port_of(f->plain)),
        0);
    assert_int_equal(media_leg_set_remote(f->s, MEDIA_LEG_B, "127.0.0.1", port_of(f->secure),
                                          port_of(f->secure)),
                     0);
    /* RTCP to the same sockets as RTP (a=rtcp), so each phone is one socket. The node receives with
     * the phone's key and sends with its own. */
    assert_int_equal(media_leg_set_srtp(f->s, MEDIA_LEG_B, SUITE, phone_key, node_key), 0);
    f->tx = phone_ctx(phone_key, 0);
    f->rx = phone_ctx(node_key, 1);
}

static void teardown_call(struct fixture *f)
{
    srtp_dealloc(f->tx);
    srtp_dealloc(f->rx);
    close(f->plain);
    close(f->secure);
    media_session_destroy(f->s);
    media_engine_destroy(f->eng);
}

static void srtp_and_plain_legs_relay_both_ways(void **state)
{
    (void)state;
    struct fixture f;
    setup_call(&f);
    int port_a = media_leg_local_port(f.s, MEDIA_LEG_A);
    int port_b = media_leg_local_port(f.s, MEDIA_LEG_B);
    uint8_t pkt[256], plain[256], got[256];

    for (uint16_t seq = 1; seq <= 5; seq++) {
        /* SRTP phone -> node -> plain phone: the plain phone gets the exact plain bytes. */
        size_t n = rtp(plain, 0, seq, 0x5EC0DE, 160, (uint8_t)seq);
        memcpy(pkt, plain, n);
        int len = (int)n;
        assert_int_equal(srtp_protect(f.tx, pkt, &len), srtp_err_status_ok);
        assert_int_equal(len, (int)n + 10);
        send_to(f.secure, port_b, pkt, (size_t)len);
        ssize_t r = recv_within(f.plain, got, sizeof got);
        assert_int_equal(r, (ssize_t)n);
        assert_memory_equal(got, plain, n);

        /* plain phone -> node -> SRTP phone: protected, and unprotects to the plain bytes. */
        n = rtp(plain, 8, (uint16_t)(100 + seq), 0xA11CE, 160, (uint8_t)(0x40 + seq));
        send_to(f.plain, port_a, plain, n);
        r = recv_within(f.secure, got, sizeof got);
        assert_int_equal(r, (ssize_t)n + 10);
        assert_memory_not_equal(got + 12, plain + 12, 160);
        len = (int)r;
        assert_int_equal(srtp_unprotect(f.rx, got, &len), srtp_err_status_ok);
        assert_int_equal(len, (int)n);
        assert_memory_equal(got, plain, n);
    }

    /* RTCP both ways: an RR from the SRTP phone arrives plain, one from the plain phone
     * arrives as SRTCP. */
    uint8_t rr[8] = {0x80, 201, 0, 1, 0, 0x5E, 0xC0, 0xDE};
    memcpy(pkt, rr, sizeof rr);
    int len = sizeof rr;
    assert_int_equal(srtp_protect_rtcp(f.tx, pkt, &len), srtp_err_status_ok);
    send_to(f.secure, port_b + 1, pkt, (size_t)len);
    assert_int_equal(recv_within(f.plain, got, sizeof got), (ssize_t)sizeof rr);
    assert_memory_equal(got, rr, sizeof rr);
    send_to(f.plain, port_a + 1, rr, sizeof rr);
    ssize_t r = recv_within(f.secure, got, sizeof got);
    assert_true(r > (ssize_t)sizeof rr);
    len = (int)r;
    assert_int_equal(srtp_unprotect_rtcp(f.rx, got, &len), srtp_err_status_ok);
    assert_int_equal(len, (int)sizeof rr);
    assert_memory_equal(got, rr, sizeof rr);

    /* Stats see the plain packets: the SRTP leg's SSRC and codec came through unprotect. */
    struct media_leg_stats st;
    media_leg_stats(f.s, MEDIA_LEG_B, &st);
    assert_int_equal(st.ssrc, 0x5EC0DE);
    assert_int_equal(st.payload_type, 0);
    assert_int_equal(st.dropped, 0);
    teardown_call(&f);
}

static void forged_and_plain_packets_on_an_srtp_leg_are_dropped(void **state)
{
    (void)state;
    struct fixture f;
    setup_call(&f);
    int port_b = media_leg_local_port(f.s, MEDIA_LEG_B);
    uint8_t pkt[256], got[256];
    size_t n = rtp(pkt, 0, 1, 0x5EC0DE, 160, 7);
    send_to(f.secure, port_b, pkt, n); /* plain RTP where SRTP is expected */
    int len = (int)n;
    assert_int_equal(srtp_protect(f.tx, pkt, &len), srtp_err_status_ok);
    pkt[20] ^= 1; /* tampered payload */
    send_to(f.secure, port_b, pkt, (size_t)len);
    assert_int_equal(recv_within(f.plain, got, sizeof got), -1);
    struct media_leg_stats st;
    media_leg_stats(f.s, MEDIA_LEG_B, &st);
    assert_int_equal(st.dropped, 2);
    assert_true(st.last_packet_mono == 0); /* nothing valid arrived: no latch, no liveness */
    teardown_call(&f);
}

static void bad_arguments_are_refused(void **state)
{
    (void)state;
    struct fixture f;
    setup_call(&f);
    assert_int_equal(media_leg_set_srtp(f.s, 2, SUITE, phone_key, node_key), -1);
    assert_int_equal(
        media_leg_set_srtp(f.s, MEDIA_LEG_A, "F8_128_HMAC_SHA1_80", phone_key, node_key), -1);
    assert_int_equal(media_leg_set_srtp(f.s, MEDIA_LEG_A, SUITE, NULL, node_key), -1);
    assert_int_equal(
        media_leg_set_srtp(f.s, MEDIA_LEG_A, "AES_CM_128_HMAC_SHA1_32", phone_key, node_key), 0);
    assert_int_equal(media_leg_set_srtp(f.s, MEDIA_LEG_A, NULL, NULL, NULL), 0); /* plain again */
    teardown_call(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(srtp_and_plain_legs_relay_both_ways),
        cmocka_unit_test(forged_and_plain_packets_on_an_srtp_leg_are_dropped),
        cmocka_unit_test(bad_arguments_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
