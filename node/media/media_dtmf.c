/* The telephone-event wire format (RFC 4733 2.3): one 4-byte block per packet is all a DTMF
 * digit needs; redundant blocks (2.5.1.5) are neither sent nor read past the first. */
#include "media/media_dtmf.h"

#include <string.h>

int media_dtmf_decode(const uint8_t *payload, size_t len, struct media_dtmf_event *out)
{
    if (!payload || len < MEDIA_DTMF_PAYLOAD)
        return -1;
    out->event = payload[0];
    out->end = (payload[1] & 0x80) != 0;
    out->volume = payload[1] & 0x3F;
    out->duration = (uint32_t)payload[2] << 8 | payload[3];
    return 0;
}

void media_dtmf_encode(const struct media_dtmf_event *ev, uint8_t out[MEDIA_DTMF_PAYLOAD])
{
    uint32_t d = ev->duration > 0xFFFF ? 0xFFFF : ev->duration;
    out[0] = (uint8_t)ev->event;
    out[1] = (uint8_t)((ev->end ? 0x80 : 0) | (ev->volume & 0x3F));
    out[2] = (uint8_t)(d >> 8);
    out[3] = (uint8_t)d;
}

size_t media_dtmf_packet(uint8_t out[16], int pt, int marker, uint16_t seq, uint32_t ts,
                         uint32_t ssrc, const struct media_dtmf_event *ev)
{
    out[0] = 0x80; /* version 2, no padding, extension or CSRCs */
    out[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7F));
    out[2] = (uint8_t)(seq >> 8);
    out[3] = (uint8_t)seq;
    for (int i = 0; i < 4; i++) {
        out[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
        out[8 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
    }
    media_dtmf_encode(ev, out + 12);
    return 16;
}

int media_dtmf_first_end(struct media_dtmf_dedupe *d, uint32_t ssrc, uint32_t ts)
{
    if (d->have && d->ssrc == ssrc && d->ts == ts)
        return 0;
    d->have = 1;
    d->ssrc = ssrc;
    d->ts = ts;
    return 1;
}

int media_dtmf_code(char digit)
{
    if (digit >= '0' && digit <= '9')
        return digit - '0';
    if (digit == '*')
        return 10;
    if (digit == '#')
        return 11;
    if (digit >= 'A' && digit <= 'D')
        return 12 + digit - 'A';
    if (digit >= 'a' && digit <= 'd')
        return 12 + digit - 'a';
    return -1;
}

char media_dtmf_digit(int code)
{
    static const char digits[] = "0123456789*#ABCD";
    return code >= 0 && code < 16 ? digits[code] : '?';
}
