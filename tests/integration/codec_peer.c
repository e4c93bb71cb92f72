/* Test phone's media for test_transcode.py (built by CMake): sends a tone as 20 ms RTP packets
 * in one codec and reports, as one JSON line, what it received: payload types, SSRCs, sequence
 * and timestamp steps, RFC 4733 events, and the dominant frequency of the audio decoded with
 * libopus/spandsp directly (never through the node's own coders). Python has no Opus binding.
 * Usage: codec_peer PORT DEST_IP DEST_PORT SEND_CODEC SEND_PT RECV_CODEC RECV_PT HZ SECONDS
 *                   [SEND_EVENT_PT RECV_EVENT_PT]   (codecs: pcmu pcma g722 opus) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../unit/tone_test_util.h"
#include "rtp_codec.h"

#define MAX_PKTS 4000
#define PCM_MAX (16000 * 30)

struct rx {
    uint8_t pt;
    uint16_t seq;
    uint32_t ts, ssrc;
    int len;
    uint8_t payload[1500];
};

static struct rx got[MAX_PKTS];
static int ngot;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void receive_some(int fd, double until)
{
    for (;;) {
        double left = until - now_s();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
            return;
        uint8_t buf[2048];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 12 || (buf[0] >> 6) != 2 || ngot == MAX_PKTS)
            continue;
        size_t h = 12 + 4u * (buf[0] & 0x0f);
        if ((size_t)n <= h || (size_t)n - h > sizeof got[0].payload)
            continue;
        struct rx *r = &got[ngot++];
        r->pt = buf[1] & 0x7f;
        r->seq = (uint16_t)(buf[2] << 8 | buf[3]);
        r->ts = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
        r->ssrc =
            (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 | (uint32_t)buf[10] << 8 | buf[11];
        r->len = (int)((size_t)n - h);
        memcpy(r->payload, buf + h, (size_t)r->len);
    }
}

int main(int argc, char **argv)
{
    if (argc != 10 && argc != 12) {
        fprintf(stderr, "usage: codec_peer PORT DEST_IP DEST_PORT SEND_CODEC SEND_PT RECV_CODEC "
                        "RECV_PT HZ SECONDS [SEND_EVENT_PT RECV_EVENT_PT]\n");
        return 2;
    }
    int port = atoi(argv[1]), dport = atoi(argv[3]);
    int scodec = codec_of(argv[4]), spt = atoi(argv[5]);
    int rcodec = codec_of(argv[6]), rpt = atoi(argv[7]);
    int hz = atoi(argv[8]);
    double seconds = atof(argv[9]);
    int sev = argc == 12 ? atoi(argv[10]) : -1, rev = argc == 12 ? atoi(argv[11]) : -1;
    struct coder tx, rxc;
    if (scodec < 0 || rcodec < 0 || coder_init(&tx, scodec) || coder_init(&rxc, rcodec))
        return 2;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)dport)};
    if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof me) != 0 ||
        inet_pton(AF_INET, argv[2], &to.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
        perror("codec_peer: socket");
        return 2;
    }
    srand((unsigned)(getpid() ^ time(NULL)));
    uint32_t ssrc = (uint32_t)rand(), ts = (uint32_t)rand();
    uint16_t seq = (uint16_t)rand();
    int rate = pcm_rate(scodec), frame = rate / 50, step = rtp_clock(scodec) / 50;
    int frames = (int)(seconds * 50), sent = 0;
    long phase = 0;
    double t0 = now_s();
    for (int f = 0; f < frames; f++) {
        int16_t pcm[320];
        uint8_t pkt[1500];
        tone_fill(pcm, (size_t)frame, hz, rate, 8000, &phase);
        int n = encode(&tx, pcm, frame, pkt + 12);
        if (n > 0) {
            put_header(pkt, f == 0, spt, seq, ts, ssrc);
            if (send(fd, pkt, (size_t)(12 + n), 0) > 0)
                sent++;
        }
        seq++;
        ts += (uint32_t)step;
        receive_some(fd, t0 + (f + 1) * 0.02);
    }
    if (sev >= 0) { /* digit 5, 100 ms long, then the end packet three times (RFC 4733 2.5.1.4) */
        for (int i = 1; i <= 8; i++) {
            uint8_t pkt[16];
            int end = i > 5;
            int dur = (i > 5 ? 5 : i) * step;
            put_header(pkt, i == 1, sev, seq++, ts, ssrc);
            pkt[12] = 5;
            pkt[13] = (uint8_t)((end ? 0x80 : 0) | 10);
            pkt[14] = (uint8_t)(dur >> 8);
            pkt[15] = (uint8_t)dur;
            send(fd, pkt, sizeof pkt, 0);
            receive_some(fd, now_s() + 0.02);
        }
    }
    receive_some(fd, now_s() + 1.0);

    /* Audio of the expected payload type, in sequence order, decoded. */
    static int16_t pcm[PCM_MAX];
    int npcm = 0, audio = 0, other = 0, seq_gaps = 0, ssrc_changes = 0, events = 0;
    /* audio packets whose timestamp moved otherwise than their sequence number (20 ms per
     * number): a stream that jumped in time, not one that only lost packets */
    int ts_off_seq = 0;
    long ts_min_step = -1, ts_max_step = -1;
    const struct rx *prev = NULL;
    int per_pt[128] = {0}, kinds = 0;
    for (int i = 0; i < ngot; i++)
        per_pt[got[i].pt]++;
    printf("{\"sent\": %d, \"received\": %d, \"pts\": {", sent, ngot);
    for (int pt = 0; pt < 128; pt++)
        if (per_pt[pt])
            printf("%s\"%d\": %d", kinds++ ? ", " : "", pt, per_pt[pt]);
    printf("}, \"events\": [");
    for (int i = 0; i < ngot; i++) {
        const struct rx *r = &got[i];
        if (prev && r->ssrc != prev->ssrc)
            ssrc_changes++;
        if (prev && (uint16_t)(r->seq - prev->seq) != 1)
            seq_gaps++;
        if (rev >= 0 && r->pt == rev && r->len >= 4) {
            printf("%s{\"ts\": %u, \"duration\": %d, \"end\": %d, \"event\": %d, \"seq\": %u}",
                   events++ ? ", " : "", r->ts, r->payload[2] << 8 | r->payload[3],
                   r->payload[1] >> 7, r->payload[0], r->seq);
        } else if (r->pt == rpt) {
            if (audio > 0) {
                const struct rx *last = NULL;
                for (int j = i - 1; j >= 0 && !last; j--)
                    if (got[j].pt == rpt)
                        last = &got[j];
                long d = (long)(uint32_t)(r->ts - last->ts);
                if ((uint32_t)(r->ts - last->ts) !=
                    (uint32_t)((uint16_t)(r->seq - last->seq) * (uint32_t)(rtp_clock(rcodec) / 50)))
                    ts_off_seq++;
                if (ts_min_step < 0 || d < ts_min_step)
                    ts_min_step = d;
                if (d > ts_max_step)
                    ts_max_step = d;
            }
            audio++;
            int n = decode(&rxc, r->payload, r->len, pcm + npcm, PCM_MAX - npcm);
            if (n > 0)
                npcm += n;
        } else {
            other++;
        }
        prev = r;
    }
    int rrate = pcm_rate(rcodec), skip = rrate / 5; /* past codec start-up */
    double ratio = 0;
    int dom = npcm > skip + rrate / 10
                  ? tone_dominant(pcm + skip, (size_t)(npcm - skip), rrate, &ratio)
                  : 0;
    printf("], \"audio\": %d, \"other\": %d, \"seq_gaps\": %d, \"ssrc_changes\": %d, "
           "\"ts_min_step\": %ld, \"ts_max_step\": %ld, \"ts_off_seq\": %d, \"dominant_hz\": %d, "
           "\"ratio\": %.1f, \"samples\": %d}\n",
           audio, other, seq_gaps, ssrc_changes, ts_min_step, ts_max_step, ts_off_seq, dom,
           ratio > 1e6 ? 1e6 : ratio, npcm);
    fflush(stdout);
    close(fd);
    coder_free(&tx);
    coder_free(&rxc);
    return 0;
}
