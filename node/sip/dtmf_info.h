/* The SIP side of DTMF translation as pure functions: INFO bodies (application/dtmf-relay and
 * application/dtmf) read and written, and the telephone-event line of an SDP found or added. */
#ifndef TANDEM_DTMF_INFO_H
#define TANDEM_DTMF_INFO_H

#include <stddef.h>

#define DTMF_INFO_DEFAULT_MS 100 /* an INFO that names no duration */
#define DTMF_INFO_MIN_MS 40
#define DTMF_INFO_MAX_MS 5000

/* An INFO body of content type ctype: the event code (0-15) and its duration in ms (clamped
 * to DTMF_INFO_MIN_MS..MAX_MS). 0, or -1 when it is no DTMF body this node understands. */
int dtmf_info_parse(const char *ctype, const char *body, size_t len, int *event, int *ms);

/* "Signal=5\r\nDuration=160\r\n" (application/dtmf-relay) into out; its length, or -1. */
int dtmf_info_format(int event, int ms, char *out, size_t len);

/* The payload type of telephone-event in the SDP's audio stream (an a=rtpmap naming it for a
 * format the m=audio line lists), or -1. */
int dtmf_sdp_event_pt(const char *sdp, size_t len);

/* A copy of sdp (malloc'ed) with telephone-event/8000 as payload type pt added to its audio
 * stream (the m= line's formats, a=rtpmap and a=fmtp 0-15); NULL on error or when the m= line
 * already lists pt for another format. */
char *dtmf_sdp_add_event(const char *sdp, int pt);

/* A dynamic payload type (101 first, then 96..127) the SDP's audio stream does not list yet,
 * or -1 when there is no audio stream or no free number. */
int dtmf_sdp_free_pt(const char *sdp, size_t len);

/* A copy of sdp (malloc'ed) without telephone-event: its format left out of the m=audio line,
 * its a=rtpmap and a=fmtp lines removed. NULL on error or when it has none. */
char *dtmf_sdp_drop_event(const char *sdp);

#endif
