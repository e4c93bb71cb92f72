/* The SDP work of a media-anchoring B2BUA: read where a party wants its audio, and rewrite an
 * offer or answer so the other party sends its audio to this node instead. Pure functions over
 * sofia-sip's SDP parser, unit-tested. */
#ifndef TANDEM_SDP_REWRITE_H
#define TANDEM_SDP_REWRITE_H

#include <stddef.h>
#include <stdint.h>

/* SRTP master key || salt of the AES_CM_128 suites (RFC 4568 6.2.1). */
#define SDP_SRTP_KEY_LEN 30

/* One SDES key (RFC 4568 a=crypto): the only key method this node speaks. */
struct sdp_crypto {
    int tag;                       /* 1..999999999; an answer repeats the offer's */
    char suite[32];                /* AES_CM_128_HMAC_SHA1_80 or AES_CM_128_HMAC_SHA1_32 */
    uint8_t key[SDP_SRTP_KEY_LEN]; /* master key || master salt */
};

struct sdp_audio {
    char ip[64];              /* the audio stream's connection address */
    int port;                 /* RTP port; 0 when the stream is rejected */
    int rtcp_port;            /* from a=rtcp, or 0 (RTP + 1) */
    int hold;                 /* sendonly, inactive, or c=0.0.0.0 (RFC 2543 hold) */
    int savp;                 /* the stream's profile is RTP/SAVP */
    int has_crypto;           /* crypto holds the first a=crypto line this node supports */
    struct sdp_crypto crypto; /* (inline key without MKI, suite above); zeroes otherwise */
};

/* The first audio stream of an SDP body. 0, or -1 when unparsable or without audio. */
int sdp_audio_find(const char *sdp, size_t len, struct sdp_audio *out);

/* A copy of sdp with the audio stream moved to ip:port (every connection line, the origin
 * address, a=rtcp and ICE attributes dropped: the node is the only address now), and other
 * media streams rejected (port 0) as this node does not relay them. malloc'ed; NULL on error. */
char *sdp_rewrite_audio(const char *sdp, size_t len, const char *ip, int port);

/* As sdp_rewrite_audio, and the audio stream's SRTP is set for the party it goes to: with
 * crypto NULL the profile becomes RTP/AVP and every a=crypto line goes; otherwise RTP/SAVP with
 * crypto as the only a=crypto line (the node's key, the one it sends with). */
char *sdp_rewrite_audio_srtp(const char *sdp, size_t len, const char *ip, int port,
                             const struct sdp_crypto *crypto);

/* The SDP the node last sent a party, moved to ip:port with its origin version one higher
 * (RFC 3264 8): the offer of a re-INVITE that moves the media (call_recover.c). Profile and
 * keys stay. malloc'ed; NULL on error. */
char *sdp_rewrite_reoffer(const char *sdp, size_t len, const char *ip, int port);

/* A fresh node key (OpenSSL RAND_bytes) for suite with tag. 0, or -1 for an unknown suite or
 * a failed random source. */
int sdp_crypto_generate(struct sdp_crypto *out, int tag, const char *suite);

#endif
