/* RFC 4733 telephone-event payloads: encode, decode and the end-of-event dedupe, as pure
 * functions (no I/O, no locks) so the relay, the generator and the unit tests share them. */
#ifndef TANDEM_MEDIA_DTMF_H
#define TANDEM_MEDIA_DTMF_H

#include <stddef.h>
#include <stdint.h>

#define MEDIA_DTMF_PAYLOAD 4 /* event, E|R|volume, duration (RFC 4733 2.3) */

struct media_dtmf_event {
    int event;         /* 0-9, 10 '*', 11 '#', 12-15 A-D, others as sent */
    int end;           /* E bit */
    int volume;        /* 0..63, in -dBm0 */
    uint32_t duration; /* timestamp units since the event's timestamp */
};

/* Reads the first event of an RTP payload; 0, or -1 when shorter than MEDIA_DTMF_PAYLOAD. */
int media_dtmf_decode(const uint8_t *payload, size_t len, struct media_dtmf_event *out);

/* Writes one event block (duration saturates at 0xFFFF) into out[MEDIA_DTMF_PAYLOAD]. */
void media_dtmf_encode(const struct media_dtmf_event *ev, uint8_t out[MEDIA_DTMF_PAYLOAD]);

/* A whole RTP packet (12-byte header + one event block) into out[16]; returns its length. */
size_t media_dtmf_packet(uint8_t out[16], int pt, int marker, uint16_t seq, uint32_t ts,
                         uint32_t ssrc, const struct media_dtmf_event *ev);

/* The end of one event arrives up to three times (RFC 4733 2.5.1.4), each a packet with the
 * event's SSRC and timestamp: the first is reported, the others are not. */
struct media_dtmf_dedupe {
    int have;
    uint32_t ssrc, ts;
};
/* 1 when an end packet of (ssrc, ts) is the first seen (and remembers it), 0 for a repeat. */
int media_dtmf_first_end(struct media_dtmf_dedupe *d, uint32_t ssrc, uint32_t ts);

/* '0'-'9', '*', '#', 'A'-'D' (any case) to the event code, -1 for anything else; and back
 * ('?' for a code outside 0..15). */
int media_dtmf_code(char digit);
char media_dtmf_digit(int code);

#endif
