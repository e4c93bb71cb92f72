/* RTCP reading and writing, pure: the parts of a compound packet that quality statistics use
 * (RFC 3550 6.4: SR sender info, SR/RR report blocks) and the receiver report this node sends
 * for a phone whose peer sends none. Safe on any input of any length; the fuzz target
 * tests/fuzz/fuzz_media_rtcp.c drives media_rtcp_parse directly. */
#ifndef TANDEM_MEDIA_RTCP_H
#define TANDEM_MEDIA_RTCP_H

#include <stddef.h>
#include <stdint.h>

/* Report blocks kept per compound packet; a phone reports on one or two sources, the rest are
 * skipped (still checked). */
#define MEDIA_RTCP_MAX_BLOCKS 4
/* Length of the report media_rtcp_build_rr writes: RR with one block (32) + SDES CNAME (16). */
#define MEDIA_RTCP_RR_LEN 48

struct media_rtcp_block {
    uint32_t ssrc;    /* the source this block reports on */
    uint8_t fraction; /* lost since the previous report, 8-bit fixed point */
    int32_t cum_lost; /* cumulative, signed 24 bits */
    uint32_t ext_seq; /* extended highest sequence number received */
    uint32_t jitter;  /* interarrival jitter, timestamp units */
    uint32_t lsr;     /* middle 32 bits of the NTP time of the last SR received, 0 none */
    uint32_t dlsr;    /* delay since that SR, 1/65536 s */
};

struct media_rtcp_info {
    int packets;         /* RTCP packets read from the compound */
    int has_sr;          /* an SR was among them (the first one's sender info is kept) */
    uint32_t sr_ssrc;    /* its sender */
    uint32_t sr_ntp_mid; /* middle 32 bits of its NTP timestamp: what an RR's LSR echoes */
    int nblocks;         /* report blocks kept, from SRs and RRs in order */
    struct media_rtcp_block block[MEDIA_RTCP_MAX_BLOCKS];
};

/* Reads every packet of the compound pkt[0..len) (RFC 3550 6.1) into out. 0 when all of it is
 * well-formed; -1 at the first packet that is not (version, length, a report count that does
 * not fit), with what came before it kept in out. pkt may be NULL when len is 0. */
int media_rtcp_parse(const uint8_t *pkt, size_t len, struct media_rtcp_info *out);

/* Writes a compound RR (one report block b, from sender_ssrc) plus an SDES with CNAME
 * "tandem" into buf; MEDIA_RTCP_RR_LEN bytes, or 0 when cap is smaller. */
size_t media_rtcp_build_rr(uint8_t *buf, size_t cap, uint32_t sender_ssrc,
                           const struct media_rtcp_block *b);

#endif
