/* Plain string work over the few lines that matter: INFO bodies are two "key=value" lines, and
 * the SDP edit touches only the m=audio line and appends two attributes after it. */
#include "sip/dtmf_info.h"

#include "media/media_dtmf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int clamp_ms(long ms)
{
    return ms < DTMF_INFO_MIN_MS   ? DTMF_INFO_MIN_MS
           : ms > DTMF_INFO_MAX_MS ? DTMF_INFO_MAX_MS
                                   : (int)ms;
}

/* A value of "Signal=": one digit character or its event number (10 for '*', ...). */
static int signal_code(const char *v, size_t n)
{
    while (n && isspace((unsigned char)v[n - 1]))
        n--;
    while (n && isspace((unsigned char)*v))
        v++, n--;
    if (n == 1 && media_dtmf_code(v[0]) >= 0)
        return media_dtmf_code(v[0]);
    if (n == 2 && isdigit((unsigned char)v[0]) && isdigit((unsigned char)v[1])) {
        int code = (v[0] - '0') * 10 + v[1] - '0';
        return code <= 15 ? code : -1;
    }
    return -1;
}

int dtmf_info_parse(const char *ctype, const char *body, size_t len, int *event, int *ms)
{
    if (!ctype || !body)
        return -1;
    *ms = DTMF_INFO_DEFAULT_MS;
    if (!strcasecmp(ctype, "application/dtmf")) { /* the body is the digit alone */
        *event = signal_code(body, len);
        return *event >= 0 ? 0 : -1;
    }
    if (strcasecmp(ctype, "application/dtmf-relay") != 0)
        return -1;
    *event = -1;
    for (const char *p = body, *end = body + len; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
        const char *eq = memchr(p, '=', n);
        if (eq) {
            size_t klen = (size_t)(eq - p), vlen = n - klen - 1;
            while (klen && isspace((unsigned char)p[klen - 1]))
                klen--;
            if (klen == 6 && !strncasecmp(p, "Signal", 6)) {
                *event = signal_code(eq + 1, vlen);
            } else if (klen == 8 && !strncasecmp(p, "Duration", 8)) {
                char num[16] = "";
                memcpy(num, eq + 1, vlen < sizeof num - 1 ? vlen : sizeof num - 1);
                char *stop;
                long v = strtol(num, &stop, 10);
                if (stop != num)
                    *ms = clamp_ms(v);
            }
        }
        p += n + 1;
    }
    return *event >= 0 ? 0 : -1;
}

int dtmf_info_format(int event, int ms, char *out, size_t len)
{
    if (event < 0 || event > 15)
        return -1;
    int n = snprintf(out, len, "Signal=%c\r\nDuration=%d\r\n", media_dtmf_digit(event), ms);
    return n < 0 || (size_t)n >= len ? -1 : n;
}

/* The m=audio line: its start and length (without the line break), or NULL. */
static const char *audio_line(const char *sdp, size_t len, size_t *n)
{
    for (const char *p = sdp, *end = sdp + len; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t l = eol ? (size_t)(eol - p) : (size_t)(end - p);
        if (l >= 8 && !strncmp(p, "m=audio ", 8)) {
            *n = l && p[l - 1] == '\r' ? l - 1 : l;
            return p;
        }
        p += l + 1;
    }
    return NULL;
}

/* 1 when the m= line lists format pt (after "m=audio port proto"). */
static int lists_format(const char *m, size_t n, int pt)
{
    int field = 0;
    for (size_t i = 0; i < n;) {
        while (i < n && m[i] == ' ')
            i++;
        size_t start = i;
        while (i < n && m[i] != ' ')
            i++;
        if (i > start && ++field > 3 && atoi(m + start) == pt && isdigit((unsigned char)m[start]))
            return 1;
    }
    return 0;
}

int dtmf_sdp_event_pt(const char *sdp, size_t len)
{
    size_t mlen;
    const char *m = audio_line(sdp, len, &mlen);
    if (!m)
        return -1;
    for (const char *p = m, *end = sdp + len; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t l = eol ? (size_t)(eol - p) : (size_t)(end - p);
        if (p != m && l >= 2 && !strncmp(p, "m=", 2))
            break; /* the next stream */
        int pt;
        char name[32];
        if (l > 9 && !strncmp(p, "a=rtpmap:", 9) &&
            sscanf(p + 9, "%d %31[^/\r\n]", &pt, name) == 2 &&
            !strcasecmp(name, "telephone-event") && pt >= 0 && pt <= 127 &&
            lists_format(m, mlen, pt))
            return pt;
        p += l + 1;
    }
    return -1;
}

char *dtmf_sdp_add_event(const char *sdp, int pt)
{
    size_t len = strlen(sdp), mlen;
    const char *m = audio_line(sdp, len, &mlen);
    if (!m || pt < 0 || pt > 127 || lists_format(m, mlen, pt))
        return NULL; /* taken by another format: two meanings for one type would be worse */
    const char *rest = m + mlen;
    if (*rest == '\r')
        rest++;
    if (*rest == '\n')
        rest++;
    size_t cap = len + 128;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    int n =
        snprintf(out, cap, "%.*s %d\r\na=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-15\r\n%s",
                 (int)(m - sdp + mlen), sdp, pt, pt, pt, rest);
    if (n < 0 || (size_t)n >= cap) {
        free(out);
        return NULL;
    }
    return out;
}

int dtmf_sdp_free_pt(const char *sdp, size_t len)
{
    size_t mlen;
    const char *m = audio_line(sdp, len, &mlen);
    if (!m)
        return -1;
    if (!lists_format(m, mlen, 101))
        return 101;
    for (int pt = 96; pt <= 127; pt++)
        if (!lists_format(m, mlen, pt))
            return pt;
    return -1;
}

/* 1 when the line (without its break) is "a=rtpmap:pt ..." or "a=fmtp:pt ...". */
static int names_format(const char *p, size_t l, int pt)
{
    char want[24];
    for (int i = 0; i < 2; i++) {
        int n = snprintf(want, sizeof want, "%s%d ", i ? "a=fmtp:" : "a=rtpmap:", pt);
        if (n > 0 && (size_t)n <= l && !strncmp(p, want, (size_t)n))
            return 1;
    }
    return 0;
}

char *dtmf_sdp_drop_event(const char *sdp)
{
    size_t len = strlen(sdp), mlen;
    const char *m = audio_line(sdp, len, &mlen);
    int pt = dtmf_sdp_event_pt(sdp, len);
    char *out = m && pt >= 0 ? malloc(len + 1) : NULL;
    if (!out)
        return NULL;
    size_t o = 0;
    for (const char *p = sdp, *end = sdp + len; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t l = eol ? (size_t)(eol - p + 1) : (size_t)(end - p); /* with its break */
        if (p == m) { /* the m= line without the format */
            char num[12];
            snprintf(num, sizeof num, "%d", pt);
            size_t nl = strlen(num), i = 0;
            int field = 0;
            while (i < mlen) {
                size_t start = i;
                while (i < mlen && m[i] == ' ')
                    i++;
                size_t word = i;
                while (i < mlen && m[i] != ' ')
                    i++;
                if (++field > 3 && i - word == nl && !strncmp(m + word, num, nl))
                    continue; /* the format and the space before it */
                memcpy(out + o, m + start, i - start);
                o += i - start;
            }
            memcpy(out + o, m + mlen, l - mlen);
            o += l - mlen;
        } else if (!names_format(p, l, pt)) {
            memcpy(out + o, p, l);
            o += l;
        }
        p += l;
    }
    out[o] = '\0';
    return out;
}
