/* RTCP compound parsing for quality statistics and the receiver report the node generates
 * (RFC 3550 6.4.1, 6.4.2, 6.5). Every read is bounded by the packet's own length field, which
 * is itself checked against what is left of the datagram before anything inside is read. */
#include "media/media_rtcp.h"

#include <string.h>

enum { RTCP_SR = 200, RTCP_RR = 201, RTCP_SDES = 202 };

#define BLOCK_LEN 24
#define SENDER_INFO_LEN 20

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void read_block(const uint8_t *p, struct media_rtcp_block *b)
{
    b->ssrc = get32(p);
    b->fraction = p[4];
    uint32_t lost = ((uint32_t)p[5] << 16) | ((uint32_t)p[6] << 8) | p[7];
    /* Sign-extend the 24-bit field: duplicates can make it negative. */
    b->cum_lost = (lost & 0x800000u) ? (int32_t)(lost | 0xff000000u) : (int32_t)lost;
    b->ext_seq = get32(p + 8);
    b->jitter = get32(p + 12);
    b->lsr = get32(p + 16);
    b->dlsr = get32(p + 20);
}

/* One SR or RR whose whole length (plen bytes) is known to be inside the datagram. */
static int read_report(const uint8_t *p, size_t plen, struct media_rtcp_info *out)
{
    size_t count = p[0] & 0x1f;
    size_t off = 8; /* header + sender SSRC */
    if (p[1] == RTCP_SR) {
        if (plen < 8 + SENDER_INFO_LEN)
            return -1;
        if (!out->has_sr) {
            out->has_sr = 1;
            out->sr_ssrc = get32(p + 4);
            /* NTP seconds' low 16 bits and fraction's high 16 bits (RFC 3550 6.4.1, LSR). */
            out->sr_ntp_mid = (get32(p + 8) << 16) | (get32(p + 12) >> 16);
        }
        off += SENDER_INFO_LEN;
    }
    /* Profile-specific extensions may follow the blocks, so only "too short" is an error. */
    if (plen < off + count * BLOCK_LEN)
        return -1;
    for (size_t i = 0; i < count; i++, off += BLOCK_LEN) {
        if (out->nblocks < MEDIA_RTCP_MAX_BLOCKS)
            read_block(p + off, &out->block[out->nblocks++]);
    }
    return 0;
}

int media_rtcp_parse(const uint8_t *pkt, size_t len, struct media_rtcp_info *out)
{
    memset(out, 0, sizeof *out);
    size_t off = 0;
    while (off < len) {
        const uint8_t *p = pkt + off;
        if (len - off < 4 || (p[0] >> 6) != 2)
            return -1;
        size_t plen = (((size_t)p[2] << 8) | p[3]) * 4 + 4;
        if (plen > len - off)
            return -1;
        if (p[1] == RTCP_SR || p[1] == RTCP_RR) {
            if (plen < 8 || read_report(p, plen, out) != 0)
                return -1;
        }
        out->packets++;
        off += plen;
    }
    return 0;
}

size_t media_rtcp_build_rr(uint8_t *buf, size_t cap, uint32_t sender_ssrc,
                           const struct media_rtcp_block *b)
{
    if (cap < MEDIA_RTCP_RR_LEN)
        return 0;
    memset(buf, 0, MEDIA_RTCP_RR_LEN);
    /* RR, one block: 8 + 24 bytes, length field 7 (32-bit words minus one). */
    buf[0] = 0x81;
    buf[1] = RTCP_RR;
    buf[3] = 7;
    put32(buf + 4, sender_ssrc);
    uint8_t *blk = buf + 8;
    put32(blk, b->ssrc);
    uint32_t lost = b->cum_lost > 0x7fffff    ? 0x7fffffu
                    : b->cum_lost < -0x800000 ? 0x800000u
                                              : (uint32_t)b->cum_lost & 0xffffffu;
    put32(blk + 4, ((uint32_t)b->fraction << 24) | lost);
    put32(blk + 8, b->ext_seq);
    put32(blk + 12, b->jitter);
    put32(blk + 16, b->lsr);
    put32(blk + 20, b->dlsr);
    /* SDES, one chunk: SSRC, CNAME item "tandem" (1 + 1 + 6 bytes), end item and padding to
     * a word: 4 + 4 + 8 = 16 bytes, length field 3. RFC 3550 6.1 wants CNAME in every compound. */
    uint8_t *sdes = buf + 32;
    sdes[0] = 0x81;
    sdes[1] = RTCP_SDES;
    sdes[3] = 3;
    put32(sdes + 4, sender_ssrc);
    sdes[8] = 1; /* CNAME */
    sdes[9] = 6;
    memcpy(sdes + 10, "tandem", 6);
    /* sdes[14], sdes[15]: the end item and padding, already zero. */
    return MEDIA_RTCP_RR_LEN;
}
