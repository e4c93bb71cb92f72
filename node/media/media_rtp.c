/* RTP (RFC 3550 section 5.1) and RTCP (section 6.4) header checks and the payload type rewrite.
 * Every read is bounded by len before it happens; nothing here allocates or keeps state. */
#include "media/media_rtp.h"

/* RFC 5761 section 4: with rtcp-mux, byte 1 of RTCP (marker bit + 7-bit "type") lands in
 * 64..95 for RTCP packet types 192..223, so RTP never uses those payload types. */
static int is_rtcp_type(uint8_t byte1)
{
    return byte1 >= 192 && byte1 <= 223;
}

int media_rtp_check(const uint8_t *pkt, size_t len)
{
    if (len < MEDIA_RTP_HEADER_MIN)
        return MEDIA_RTP_ESHORT;
    if ((pkt[0] >> 6) != 2)
        return MEDIA_RTP_EVERSION;
    if (is_rtcp_type(pkt[1]))
        return MEDIA_RTP_ERTCP;
    size_t hdr = MEDIA_RTP_HEADER_MIN + 4u * (pkt[0] & 0x0f);
    if (hdr > len)
        return MEDIA_RTP_ECSRC;
    if (pkt[0] & 0x10) {
        /* Extension: 16-bit profile, 16-bit length in 32-bit words, then the words. */
        if (hdr + 4 > len)
            return MEDIA_RTP_EEXT;
        size_t words = ((size_t)pkt[hdr + 2] << 8) | pkt[hdr + 3];
        hdr += 4 + 4 * words;
        if (hdr > len)
            return MEDIA_RTP_EEXT;
    }
    if (pkt[0] & 0x20) {
        /* The last byte counts the padding, itself included (RFC 3550 5.1). */
        size_t pad = pkt[len - 1];
        if (pad == 0 || pad > len - hdr)
            return MEDIA_RTP_EPADDING;
    }
    return MEDIA_RTP_OK;
}

int media_rtcp_check(const uint8_t *pkt, size_t len)
{
    if (len < MEDIA_RTCP_HEADER_MIN)
        return MEDIA_RTP_ESHORT;
    if ((pkt[0] >> 6) != 2)
        return MEDIA_RTP_EVERSION;
    if (!is_rtcp_type(pkt[1]))
        return MEDIA_RTP_ETYPE;
    size_t words = ((size_t)pkt[2] << 8) | pkt[3];
    if ((words + 1) * 4 > len)
        return MEDIA_RTP_ELENGTH;
    return MEDIA_RTP_OK;
}

const char *media_rtp_strerror(int err)
{
    switch (err) {
    case MEDIA_RTP_OK:
        return "ok";
    case MEDIA_RTP_ESHORT:
        return "short";
    case MEDIA_RTP_EVERSION:
        return "version";
    case MEDIA_RTP_ECSRC:
        return "csrc";
    case MEDIA_RTP_EEXT:
        return "extension";
    case MEDIA_RTP_EPADDING:
        return "padding";
    case MEDIA_RTP_ERTCP:
        return "rtcp";
    case MEDIA_RTP_ETYPE:
        return "type";
    case MEDIA_RTP_ELENGTH:
        return "length";
    }
    return "unknown";
}

int media_rtp_payload_type(const uint8_t *pkt)
{
    return pkt[1] & 0x7f;
}

uint32_t media_rtp_ssrc(const uint8_t *pkt)
{
    return ((uint32_t)pkt[8] << 24) | ((uint32_t)pkt[9] << 16) | ((uint32_t)pkt[10] << 8) | pkt[11];
}

uint16_t media_rtp_seq(const uint8_t *pkt)
{
    return (uint16_t)((pkt[2] << 8) | pkt[3]);
}

uint32_t media_rtp_timestamp(const uint8_t *pkt)
{
    return ((uint32_t)pkt[4] << 24) | ((uint32_t)pkt[5] << 16) | ((uint32_t)pkt[6] << 8) | pkt[7];
}

void media_rtp_map_payload_type(uint8_t *pkt, const uint8_t map[128])
{
    pkt[1] = (uint8_t)((pkt[1] & 0x80) | (map[pkt[1] & 0x7f] & 0x7f));
}
