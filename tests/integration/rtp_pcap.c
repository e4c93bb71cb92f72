/* The audio side of test_sipp.py (built by CMake): writes a pcap of a tone as 20 ms RTP packets
 * for SIPp's play_pcap_audio, and analyses a tcpdump capture of the wire, decoding with
 * libopus/spandsp directly (never the node's coders). The pcap format is simple enough to need
 * no libpcap. SIPp sends each packet's UDP payload as it is (RTP payload type, SSRC, sequence
 * and timestamps from the file) and only rewrites the UDP ports: every packet written here
 * goes to one port, so SIPp sends all of them from its media port to the SDP's.
 * Usage: rtp_pcap write FILE CODEC PT HZ SECONDS
 *        rtp_pcap read FILE dst|src PORT CODEC PT  -> one JSON line about those UDP packets */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/tone_test_util.h"
#include "rtp_codec.h"

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define LINK_ETHERNET 1
#define LINK_SLL 113
#define LINK_SLL2 276
#define PLAY_PORT 6000
#define MAX_PCM_S 60 /* seconds of decoded audio kept at most */
#define MAX_SRC_PORTS 8

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static unsigned get16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static uint32_t swap32(uint32_t v)
{
    return v >> 24 | (v >> 8 & 0xff00) | (v << 8 & 0xff0000) | v << 24;
}

/* Ethernet + IPv4 + UDP around an RTP packet, 127.0.0.1 to 127.0.0.1 port PLAY_PORT (SIPp
 * keeps neither address nor port, only the payload and the time between packets). */
static size_t frame(uint8_t *out, const uint8_t *rtp, size_t len)
{
    memset(out, 0, 42);
    put16(out + 12, 0x0800);
    uint8_t *ip = out + 14, *udp = ip + 20;
    ip[0] = 0x45;
    put16(ip + 2, (unsigned)(20 + 8 + len));
    ip[8] = 64;
    ip[9] = 17;
    ip[12] = ip[16] = 127;
    ip[15] = ip[19] = 1;
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += get16(ip + i);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    put16(ip + 10, ~sum & 0xffff);
    put16(udp, PLAY_PORT);
    put16(udp + 2, PLAY_PORT);
    put16(udp + 4, (unsigned)(8 + len)); /* checksum 0: none, SIPp computes its own */
    memcpy(udp + 8, rtp, len);
    return 42 + len;
}

static int write_pcap(const char *path, int codec, int pt, int hz, double seconds)
{
    struct coder k;
    /* the file header in this machine's byte order, which the magic number tells readers */
    uint32_t head[6] = {PCAP_MAGIC_US, 2 | 4u << 16, 0, 0, 65535, LINK_ETHERNET};
    FILE *f = fopen(path, "wb");
    if (!f || coder_init(&k, codec) != 0 || fwrite(head, sizeof head, 1, f) != 1) {
        perror("rtp_pcap: write");
        if (f)
            fclose(f);
        return 2;
    }
    int rate = pcm_rate(codec), n = rate / 50, step = rtp_clock(codec) / 50;
    int frames = (int)(seconds * 50), rc = 0;
    long phase = 0;
    uint32_t ssrc = 0x5151a000u | (uint32_t)pt, ts = 160000;
    uint16_t seq = 1000;
    for (int i = 0; i < frames && rc == 0; i++) {
        int16_t pcm[320];
        uint8_t rtp[1300], pkt[1400];
        tone_fill(pcm, (size_t)n, hz, rate, 8000, &phase);
        int len = encode(&k, pcm, n, rtp + 12);
        if (len <= 0) {
            rc = 2;
            break;
        }
        put_header(rtp, i == 0, pt, seq++, ts, ssrc);
        ts += (uint32_t)step;
        size_t size = frame(pkt, rtp, (size_t)(12 + len));
        uint32_t rec[4] = {1700000000u + (uint32_t)(i / 50), (uint32_t)(i % 50) * 20000u,
                           (uint32_t)size, (uint32_t)size};
        if (fwrite(rec, sizeof rec, 1, f) != 1 || fwrite(pkt, size, 1, f) != 1)
            rc = 2;
    }
    coder_free(&k);
    if (fclose(f) != 0)
        rc = 2;
    return rc;
}

/* The UDP header and payload of a captured frame, or NULL when it is not IPv4/UDP. */
static const uint8_t *udp_of(const uint8_t *p, size_t n, uint32_t link, size_t *udp_len)
{
    size_t off = link == LINK_ETHERNET ? 14 : link == LINK_SLL ? 16 : link == LINK_SLL2 ? 20 : 0;
    size_t type_at = link == LINK_SLL2 ? 0 : off - 2;
    if (off == 0 || n < off + 28 || get16(p + type_at) != 0x0800 || (p[off] >> 4) != 4 ||
        p[off + 9] != 17)
        return NULL;
    size_t ihl = 4u * (p[off] & 0x0f);
    if (ihl < 20 || n < off + ihl + 8)
        return NULL;
    const uint8_t *udp = p + off + ihl;
    size_t len = get16(udp + 4);
    if (len < 8 || len > n - off - ihl)
        return NULL;
    *udp_len = len;
    return udp;
}

struct report {
    int packets, audio, per_pt[128], src_ports[MAX_SRC_PORTS], nsrc;
    int16_t *pcm;
    int npcm, max_pcm;
};

static void take(struct report *r, struct coder *k, int want_pt, const uint8_t *udp, size_t len)
{
    const uint8_t *rtp = udp + 8;
    size_t n = len - 8;
    /* RTP version 2, and not RTCP (packet types 200-204 where RTP has marker + payload type) */
    if (n < 12 || rtp[0] >> 6 != 2 || (rtp[1] >= 200 && rtp[1] <= 204))
        return;
    size_t h = 12 + 4u * (rtp[0] & 0x0f);
    if (n <= h)
        return;
    int pt = rtp[1] & 0x7f, sport = (int)get16(udp), known = 0;
    r->packets++;
    r->per_pt[pt]++;
    for (int i = 0; i < r->nsrc; i++)
        known |= r->src_ports[i] == sport;
    if (!known && r->nsrc < MAX_SRC_PORTS)
        r->src_ports[r->nsrc++] = sport;
    if (pt != want_pt)
        return;
    r->audio++;
    int got = decode(k, rtp + h, (int)(n - h), r->pcm + r->npcm, r->max_pcm - r->npcm);
    if (got > 0)
        r->npcm += got;
}

static void print_report(const struct report *r, int rate)
{
    int skip = rate / 5; /* past codec start-up */
    double ratio = 0;
    int dom = r->npcm > skip + rate / 10
                  ? tone_dominant(r->pcm + skip, (size_t)(r->npcm - skip), rate, &ratio)
                  : 0;
    printf("{\"packets\": %d, \"audio\": %d, \"pts\": {", r->packets, r->audio);
    for (int pt = 0, kinds = 0; pt < 128; pt++)
        if (r->per_pt[pt])
            printf("%s\"%d\": %d", kinds++ ? ", " : "", pt, r->per_pt[pt]);
    printf("}, \"src_ports\": [");
    for (int i = 0; i < r->nsrc; i++)
        printf("%s%d", i ? ", " : "", r->src_ports[i]);
    printf("], \"dominant_hz\": %d, \"ratio\": %.1f, \"samples\": %d}\n", dom,
           ratio > 1e6 ? 1e6 : ratio, r->npcm);
}

static int read_pcap(const char *path, int by_src, int port, int codec, int pt)
{
    struct coder k;
    struct report r = {.max_pcm = pcm_rate(codec) * MAX_PCM_S};
    FILE *f = fopen(path, "rb");
    uint32_t head[6];
    r.pcm = malloc(sizeof *r.pcm * (size_t)r.max_pcm);
    if (!f || !r.pcm || coder_init(&k, codec) != 0 || fread(head, sizeof head, 1, f) != 1) {
        fprintf(stderr, "rtp_pcap: cannot read %s\n", path);
        free(r.pcm);
        if (f)
            fclose(f);
        return 2;
    }
    int swapped = head[0] == swap32(PCAP_MAGIC_US) || head[0] == swap32(PCAP_MAGIC_NS);
    uint32_t link = swapped ? swap32(head[5]) : head[5];
    static uint8_t pkt[262144];
    uint32_t rec[4];
    while (fread(rec, sizeof rec, 1, f) == 1) {
        uint32_t caplen = swapped ? swap32(rec[2]) : rec[2];
        if (caplen > sizeof pkt || fread(pkt, caplen, 1, f) != 1)
            break;
        size_t len;
        const uint8_t *udp = udp_of(pkt, caplen, link & 0xffff, &len);
        if (udp && (int)get16(udp + (by_src ? 0 : 2)) == port)
            take(&r, &k, pt, udp, len);
    }
    fclose(f);
    print_report(&r, pcm_rate(codec));
    coder_free(&k);
    free(r.pcm);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 7 && !strcmp(argv[1], "write") && codec_of(argv[3]) >= 0)
        return write_pcap(argv[2], codec_of(argv[3]), atoi(argv[4]), atoi(argv[5]), atof(argv[6]));
    if (argc == 7 && !strcmp(argv[1], "read") && codec_of(argv[5]) >= 0 &&
        (!strcmp(argv[3], "dst") || !strcmp(argv[3], "src")))
        return read_pcap(argv[2], !strcmp(argv[3], "src"), atoi(argv[4]), codec_of(argv[5]),
                         atoi(argv[6]));
    fprintf(stderr, "usage: rtp_pcap write FILE CODEC PT HZ SECONDS\n"
                    "       rtp_pcap read FILE dst|src PORT CODEC PT\n");
    return 2;
}
