/* The codec list of an SDP's audio stream (payload types with their rtpmap and fmtp), read and
 * written back with everything else in the SDP left as it was. Pure functions over sofia-sip's
 * SDP parser, unit-tested; the policy of what to offer and answer is in call_codec.c. */
#ifndef TANDEM_SDP_CODECS_H
#define TANDEM_SDP_CODECS_H

#include <stddef.h>

#define SDP_MAX_CODECS 16

struct sdp_codec {
    int pt;
    char name[24];  /* encoding name as the SDP wrote it ("PCMU", "opus", "telephone-event") */
    unsigned rate;  /* RTP clock */
    char params[8]; /* encoding parameters (channels), "" for none */
    char fmtp[96];  /* a=fmtp value, "" for none */
};

struct sdp_codecs {
    int n;
    struct sdp_codec c[SDP_MAX_CODECS]; /* in the SDP's order of preference */
};

/* The first audio stream's codecs (static payload types without an rtpmap get their RFC 3551
 * names). 0, or -1 when unparsable, without audio, or with an rtpmap too long to keep. */
int sdp_codecs_read(const char *sdp, size_t len, struct sdp_codecs *out);

/* A copy of sdp whose first audio stream offers exactly list, in its order (m= formats,
 * a=rtpmap for every dynamic type, a=fmtp where set). malloc'ed; NULL on error. */
char *sdp_codecs_write(const char *sdp, size_t len, const struct sdp_codecs *list);

/* Index of the entry naming the same codec as want (name case-insensitively, clock and
 * channels), -1 when none. */
int sdp_codecs_find(const struct sdp_codecs *list, const struct sdp_codec *want);

/* 1 for RFC 4733 telephone-event, 0 otherwise. */
int sdp_codec_is_event(const struct sdp_codec *c);

#endif
