/* Pure RTP/RTCP packet checks and rewrites: no state, no I/O, safe on any input of any length.
 * They sit apart from the relay so the fuzz target and the unit tests can drive them directly. */
#ifndef TANDEM_MEDIA_RTP_H
#define TANDEM_MEDIA_RTP_H

#include <stddef.h>
#include <stdint.h>

#define MEDIA_RTP_HEADER_MIN 12
#define MEDIA_RTCP_HEADER_MIN 8

enum media_rtp_error {
    MEDIA_RTP_OK = 0,
    MEDIA_RTP_ESHORT = -1,   /* shorter than the fixed header */
    MEDIA_RTP_EVERSION = -2, /* version is not 2 */
    MEDIA_RTP_ECSRC = -3,    /* the CSRC list runs past the end */
    MEDIA_RTP_EEXT = -4,     /* the header extension runs past the end */
    MEDIA_RTP_EPADDING = -5, /* the padding count is 0 or larger than the payload */
    MEDIA_RTP_ERTCP = -6,    /* an RTCP packet (RFC 5761 type range) where RTP was expected */
    MEDIA_RTP_ETYPE = -7,    /* RTCP with a packet type outside 192..223 */
    MEDIA_RTP_ELENGTH = -8,  /* RTCP length field larger than the datagram */
};

/* MEDIA_RTP_OK when pkt[0..len) is an RTP packet whose header, CSRCs, extension and padding all
 * fit; otherwise the first problem found. pkt may be NULL when len is 0. */
int media_rtp_check(const uint8_t *pkt, size_t len);

/* MEDIA_RTP_OK when pkt[0..len) starts with a well-formed RTCP packet (version 2, type 192..223,
 * its length field within the datagram). Only the first packet of a compound is checked: the
 * relay forwards RTCP unchanged and never reads further. */
int media_rtcp_check(const uint8_t *pkt, size_t len);

/* Short name of an error code for log lines ("short", "version", ...). */
const char *media_rtp_strerror(int err);

/* Accessors for packets that passed media_rtp_check. */
int media_rtp_payload_type(const uint8_t *pkt);
uint32_t media_rtp_ssrc(const uint8_t *pkt);
uint16_t media_rtp_seq(const uint8_t *pkt);
uint32_t media_rtp_timestamp(const uint8_t *pkt);

/* Rewrites the payload type of a checked RTP packet through map (128 entries, map[pt] is the
 * new type); the marker bit is kept. */
void media_rtp_map_payload_type(uint8_t *pkt, const uint8_t map[128]);

#endif
