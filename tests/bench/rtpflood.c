/* rtpflood: paced G.711-sized RTP through a relay, both directions, counting what comes back.
 *
 * N streams, each a call's two legs A and B. A sends to the relay's A-side port, B to its B-side
 * port; the relay forwards A's packets to B and B's to A. Every stream sends one 172-byte RTP
 * packet (12-byte header + 160-byte payload, PCMU 20 ms) per direction every 20 ms, the streams
 * spread evenly over the 20 ms so the relay sees a steady rate, not bursts.
 *
 * Sockets: K sockets for the A sides and K for the B sides (stream i uses A[i % K], B[i % K]),
 * all on 127.0.0.1. A relay only needs each leg's source address to be stable (it latches on
 * it); sharing sockets lets one tick go out in one sendmmsg per socket and come back in a few
 * recvmmsg calls, so the generator costs less of the 2 CPUs the relay is measured on. Each
 * packet carries its stream, direction and send time in the payload: arrivals are attributed
 * to their stream, checked for the right socket (misrouted otherwise), and timed.
 *
 * Protocol with the driving script (stdout/stdin, one line each):
 *   out: rtpflood-ports a=P,P,... b=P,P,...        the K + K local ports, for the SDPs
 *   in:  N lines "RELAY_A_PORT RELAY_B_PORT"         where stream i's A and B send to
 *   out: rtpflood-phase measure-start                after --warmup seconds of traffic
 *   out: rtpflood-phase measure-end                  --seconds later; sending stops
 *   out: rtpflood key=value ...                      after --drain-ms, the result
 * The script samples the relay's CPU at the two phase lines. "window_received" (packets the
 * relay delivered between them) is the denominator of CPU per packet. Loss is over the whole
 * run, after the drain. A hard limit (--max-seconds) stops everything.
 *
 * Build: cc -std=c11 -O2 -Wall -Wextra -Werror rtpflood.c benchutil.c -o rtpflood -lcrypto */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#endif
#include "benchutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PTIME_MS 20
#define PAYLOAD 160
#define PKT (12 + PAYLOAD)
#define MAGIC 0x52544646u /* "RTFF" */
#define RECV_BATCH 64
#define LAT_BUCKET_NS 10000LL /* 10 us */
#define LAT_BUCKETS 20000     /* up to 200 ms */
#define LATE_TICK_NS 2000000LL

struct stream {
    uint16_t seq[2];
    uint32_t ts[2];
    long sent[2], received[2];   /* index = direction: 0 = A->B (arrives at B), 1 = B->A */
    struct sockaddr_in relay[2]; /* where A sends (relay A side), where B sends (relay B side) */
};

static struct {
    int streams, nsock;
    double seconds, warmup, max_seconds;
    int drain_ms;
    int *fd_a, *fd_b;
    struct stream *st;
    long sent, received, window_sent, window_received, misrouted, foreign, send_errors;
    long late_ticks, ticks;
    int measuring;
    long long lat[LAT_BUCKETS + 1];
    long nlat;
} g;

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Header (V=2, PT 0, seq, ts, SSRC = 2 * stream + direction), then magic, stream, direction and
 * the send time in the payload; the rest of the payload is silence (0xff in PCMU). */
static void build(unsigned char *p, int i, int dir, long long t)
{
    struct stream *s = &g.st[i];
    memset(p + 12, 0xff, PAYLOAD);
    p[0] = 0x80;
    p[1] = 0;
    p[2] = (unsigned char)(s->seq[dir] >> 8);
    p[3] = (unsigned char)s->seq[dir];
    put32(p + 4, s->ts[dir]);
    put32(p + 8, (uint32_t)(2 * i + dir));
    put32(p + 12, MAGIC);
    put32(p + 16, (uint32_t)i);
    put32(p + 20, (uint32_t)dir);
    put32(p + 24, (uint32_t)((unsigned long long)t >> 32));
    put32(p + 28, (uint32_t)t);
    s->seq[dir]++;
    s->ts[dir] += PAYLOAD;
}

/* One tick = one millisecond slot of the 20 ms period: the streams whose index falls in the slot
 * send both directions, one sendmmsg per socket. */
static void tick(long slot, unsigned char *bufs, struct mmsghdr *msgs, struct iovec *iov, int *n)
{
    long long t = now_ns();
    memset(n, 0, sizeof(int) * 2 * (size_t)g.nsock);
    for (int i = (int)slot; i < g.streams; i += PTIME_MS)
        for (int dir = 0; dir < 2; dir++) {
            int k = (i % g.nsock) * 2 + dir; /* per socket: its messages start at k * streams */
            size_t m = (size_t)k * (size_t)g.streams + (size_t)n[k]++;
            unsigned char *p = bufs + m * PKT;
            build(p, i, dir, t);
            iov[m] = (struct iovec){p, PKT};
            msgs[m].msg_hdr = (struct msghdr){.msg_name = &g.st[i].relay[dir],
                                              .msg_namelen = sizeof(struct sockaddr_in),
                                              .msg_iov = &iov[m],
                                              .msg_iovlen = 1};
        }
    for (int k = 0; k < 2 * g.nsock; k++) {
        int fd = (k % 2 == 0 ? g.fd_a : g.fd_b)[k / 2];
        struct mmsghdr *m = msgs + (size_t)k * (size_t)g.streams;
        int left = n[k];
        while (left > 0) {
            int r = sendmmsg(fd, m, (unsigned)left, 0);
            if (r <= 0) {
                g.send_errors += left; /* a full send buffer: counted, and shows up as loss */
                break;
            }
            for (int j = 0; j < r; j++) {
                int i = (int)get32((unsigned char *)m[j].msg_hdr.msg_iov->iov_base + 16);
                int dir = (int)get32((unsigned char *)m[j].msg_hdr.msg_iov->iov_base + 20);
                g.st[i].sent[dir]++;
            }
            g.sent += r;
            if (g.measuring)
                g.window_sent += r;
            left -= r;
            m += r;
        }
    }
}

/* Packets arriving on B sockets must be direction 0 (A->B), on A sockets direction 1. */
static void drain(int fd, int want_dir, int k)
{
    unsigned char buf[RECV_BATCH][2048];
    struct iovec iov[RECV_BATCH];
    struct mmsghdr msgs[RECV_BATCH];
    for (;;) {
        for (int j = 0; j < RECV_BATCH; j++) {
            iov[j] = (struct iovec){buf[j], sizeof buf[j]};
            msgs[j].msg_hdr = (struct msghdr){.msg_iov = &iov[j], .msg_iovlen = 1};
        }
        int r = recvmmsg(fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
        if (r <= 0)
            return;
        long long t = now_ns();
        for (int j = 0; j < r; j++) {
            unsigned char *p = buf[j];
            if (msgs[j].msg_len != PKT || get32(p + 12) != MAGIC) {
                g.foreign++;
                continue;
            }
            uint32_t i = get32(p + 16), dir = get32(p + 20);
            if (i >= (uint32_t)g.streams || dir != (uint32_t)want_dir ||
                (int)(i % (uint32_t)g.nsock) != k) {
                g.misrouted++;
                continue;
            }
            g.st[i].received[dir]++;
            g.received++;
            if (g.measuring)
                g.window_received++;
            long long sent_at =
                (long long)((unsigned long long)get32(p + 24) << 32 | get32(p + 28));
            long long b = (t - sent_at) / LAT_BUCKET_NS;
            g.lat[b < 0 ? 0 : b > LAT_BUCKETS ? LAT_BUCKETS : b]++;
            g.nlat++;
        }
        if (r < RECV_BATCH)
            return;
    }
}

static void receive_until(long long deadline, struct pollfd *pfd)
{
    /* At least one pass, so a deadline already past still takes what is queued. */
    long long left;
    do {
        left = deadline - now_ns();
        if (left < 0)
            left = 0;
        struct timespec ts = {left / 1000000000LL, left % 1000000000LL};
        int r = ppoll(pfd, 2 * (nfds_t)g.nsock, &ts, NULL);
        if (r < 0 && errno != EINTR)
            die("ppoll: %s", strerror(errno));
        for (int k = 0; r > 0 && k < 2 * g.nsock; k++)
            if (pfd[k].revents & POLLIN)
                drain(pfd[k].fd, k % 2 == 0 ? 1 : 0, k / 2);
    } while (left > 0);
}

static double lat_pct(double p)
{
    if (!g.nlat)
        return 0;
    long long want = (long long)(p * (double)(g.nlat - 1)), acc = 0;
    for (int b = 0; b <= LAT_BUCKETS; b++) {
        acc += g.lat[b];
        if (acc > want)
            return (double)(b + 1) * LAT_BUCKET_NS / 1000.0;
    }
    return (double)LAT_BUCKETS * LAT_BUCKET_NS / 1000.0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: rtpflood --streams N [--sockets K] [--seconds S] [--warmup W] [--drain-ms D]\n"
            "                [--max-seconds L]\n"
            "prints the local ports, reads N lines 'RELAY_A_PORT RELAY_B_PORT' from stdin, then\n"
            "sends 50 packets/s per stream and direction for W + S seconds (see the header)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"streams", required_argument, 0, 'n'},
                                         {"sockets", required_argument, 0, 'k'},
                                         {"seconds", required_argument, 0, 's'},
                                         {"warmup", required_argument, 0, 'w'},
                                         {"drain-ms", required_argument, 0, 'd'},
                                         {"max-seconds", required_argument, 0, 'L'},
                                         {0, 0, 0, 0}};
    g.nsock = 16;
    g.seconds = 20;
    g.warmup = 3;
    g.drain_ms = 500;
    g.max_seconds = 300;
    bench_init("rtpflood");
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            g.streams = (int)parse_num(optarg, "--streams", 1, 100000, NUM_REAL);
            break;
        case 'k':
            g.nsock = (int)parse_num(optarg, "--sockets", 1, 1024, NUM_REAL);
            break;
        case 's':
            g.seconds = parse_num(optarg, "--seconds", 0.1, 3600, NUM_REAL);
            break;
        case 'w':
            g.warmup = parse_num(optarg, "--warmup", 0, 600, NUM_REAL);
            break;
        case 'd':
            g.drain_ms = (int)parse_num(optarg, "--drain-ms", 0, 60000, NUM_REAL);
            break;
        case 'L':
            g.max_seconds = parse_num(optarg, "--max-seconds", 1, 7200, NUM_REAL);
            break;
        default:
            usage();
        }
    }
    if (!g.streams)
        usage();
    if (g.nsock > g.streams)
        g.nsock = g.streams;
    alarm((unsigned)g.max_seconds); /* the hard limit: SIGALRM ends the process */

    g.fd_a = calloc((size_t)g.nsock, sizeof(int));
    g.fd_b = calloc((size_t)g.nsock, sizeof(int));
    g.st = calloc((size_t)g.streams, sizeof *g.st);
    struct pollfd *pfd = calloc(2 * (size_t)g.nsock, sizeof *pfd);
    size_t slots = 2 * (size_t)g.nsock * (size_t)g.streams;
    unsigned char *bufs = malloc(slots * PKT);
    struct mmsghdr *msgs = calloc(slots, sizeof *msgs);
    struct iovec *iov = calloc(slots, sizeof *iov);
    int *n = calloc(2 * (size_t)g.nsock, sizeof(int));
    if (!g.fd_a || !g.fd_b || !g.st || !pfd || !bufs || !msgs || !iov || !n)
        die("out of memory");
    for (int k = 0; k < g.nsock; k++) {
        struct in_addr lo = {htonl(INADDR_LOOPBACK)};
        g.fd_a[k] = udp_open(lo, SOCK_NONBLOCK);
        g.fd_b[k] = udp_open(lo, SOCK_NONBLOCK);
        pfd[2 * k] = (struct pollfd){.fd = g.fd_a[k], .events = POLLIN};
        pfd[2 * k + 1] = (struct pollfd){.fd = g.fd_b[k], .events = POLLIN};
    }
    printf("rtpflood-ports a=");
    for (int k = 0; k < g.nsock; k++)
        printf("%s%d", k ? "," : "", udp_port(g.fd_a[k]));
    printf(" b=");
    for (int k = 0; k < g.nsock; k++)
        printf("%s%d", k ? "," : "", udp_port(g.fd_b[k]));
    printf("\n");
    fflush(stdout);

    for (int i = 0; i < g.streams; i++) {
        int pa, pb;
        if (scanf("%d %d", &pa, &pb) != 2 || pa < 1 || pa > 65535 || pb < 1 || pb > 65535)
            die("stream %d: expected 'RELAY_A_PORT RELAY_B_PORT' on stdin", i);
        for (int dir = 0; dir < 2; dir++) {
            g.st[i].relay[dir] =
                (struct sockaddr_in){.sin_family = AF_INET,
                                     .sin_port = htons((uint16_t)(dir == 0 ? pa : pb)),
                                     .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
            g.st[i].seq[dir] = (uint16_t)(i * 7919 + dir);
            g.st[i].ts[dir] = (uint32_t)i * 160000u;
        }
    }

    long long t0 = now_ns();
    long long start_at = t0 + (long long)(g.warmup * 1e9);
    long long end_at = start_at + (long long)(g.seconds * 1e9);
    long tick_no = 0;
    for (;;) {
        long long due = t0 + tick_no * 1000000LL;
        if (due >= end_at)
            break;
        if (!g.measuring && due >= start_at) {
            /* Arrivals so far are counted before the window opens. */
            receive_until(now_ns(), pfd);
            g.measuring = 1;
            printf("rtpflood-phase measure-start\n");
            fflush(stdout);
        }
        long long late = now_ns() - due;
        if (late > LATE_TICK_NS)
            g.late_ticks++;
        tick(tick_no % PTIME_MS, bufs, msgs, iov, n);
        g.ticks++;
        tick_no++;
        receive_until(t0 + tick_no * 1000000LL, pfd);
    }
    /* Window closes when the last tick has been sent and what the relay had queued is back. */
    receive_until(now_ns() + 2000000LL, pfd);
    g.measuring = 0;
    printf("rtpflood-phase measure-end\n");
    fflush(stdout);
    receive_until(now_ns() + (long long)g.drain_ms * 1000000LL, pfd);

    long dead = 0, oneway = 0;
    for (int i = 0; i < g.streams; i++) {
        int got = (g.st[i].received[0] > 0) + (g.st[i].received[1] > 0);
        dead += got == 0;
        oneway += got == 1;
    }
    double loss = g.sent ? 100.0 * (double)(g.sent - g.received) / (double)g.sent : 0;
    printf("rtpflood streams=%d sockets=%d seconds=%.1f sent=%ld received=%ld loss_pct=%.3f "
           "window_sent=%ld window_received=%ld window_pps=%.0f misrouted=%ld foreign=%ld "
           "send_errors=%ld dead_streams=%ld oneway_streams=%ld late_ticks=%ld ticks=%ld "
           "lat_p50_us=%.0f lat_p99_us=%.0f lat_max_us=%.0f\n",
           g.streams, g.nsock, g.seconds, g.sent, g.received, loss, g.window_sent,
           g.window_received, (double)g.window_received / g.seconds, g.misrouted, g.foreign,
           g.send_errors, dead, oneway, g.late_ticks, g.ticks, lat_pct(0.5), lat_pct(0.99),
           lat_pct(1.0));
    fflush(stdout);
    return 0;
}
