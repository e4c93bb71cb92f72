/* The SDP work of a media-anchoring B2BUA: read where a party wants its audio, and rewrite an
 * offer or answer so the other party sends its audio to this node instead. Pure functions over
 * sofia-sip's SDP parser, unit-tested. */
#ifndef TANDEM_SDP_REWRITE_H
#define TANDEM_SDP_REWRITE_H

#include <stddef.h>

struct sdp_audio {
    char ip[64];   /* the audio stream's connection address */
    int port;      /* RTP port; 0 when the stream is rejected */
    int rtcp_port; /* from a=rtcp, or 0 (RTP + 1) */
    int hold;      /* sendonly, inactive, or c=0.0.0.0 (RFC 2543 hold) */
};

/* The first audio stream of an SDP body. 0, or -1 when unparsable or without audio. */
int sdp_audio_find(const char *sdp, size_t len, struct sdp_audio *out);

/* A copy of sdp with the audio stream moved to ip:port (every connection line, the origin
 * address, a=rtcp and ICE attributes dropped: the node is the only address now), and other
 * media streams rejected (port 0) as this node does not relay them. malloc'ed; NULL on error. */
char *sdp_rewrite_audio(const char *sdp, size_t len, const char *ip, int port);

#endif
