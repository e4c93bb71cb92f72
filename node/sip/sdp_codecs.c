/* Codec lists in and out of SDP through sofia-sip's rtpmap list: the parser already folds
 * a=rtpmap and a=fmtp into it (and knows the static types), and the printer writes the m= line
 * and the attributes back from it, so replacing that one list rewrites the codecs and nothing
 * else. */
#include "sip/sdp_codecs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/sdp.h>
#include <sofia-sip/su_alloc.h>

static sdp_media_t *first_audio(sdp_session_t *s)
{
    for (sdp_media_t *m = s ? s->sdp_media : NULL; m; m = m->m_next)
        if (m->m_type == sdp_media_audio)
            return m;
    return NULL;
}

static int copy(char *dst, size_t len, const char *src)
{
    int n = snprintf(dst, len, "%s", src ? src : "");
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int sdp_codecs_read(const char *sdp, size_t len, struct sdp_codecs *out)
{
    memset(out, 0, sizeof *out);
    if (!sdp || !len || len > 65536)
        return -1;
    su_home_t home[1] = {SU_HOME_INIT(home)};
    sdp_parser_t *p = sdp_parse(home, sdp, (issize_t)len, sdp_f_anynet);
    sdp_media_t *m = first_audio(p ? sdp_session(p) : NULL);
    int rc = m ? 0 : -1;
    for (sdp_rtpmap_t *r = m ? m->m_rtpmaps : NULL; r && rc == 0; r = r->rm_next) {
        if (out->n == SDP_MAX_CODECS)
            break; /* the rest are the least preferred: the node does without them */
        struct sdp_codec *c = &out->c[out->n];
        c->pt = (int)r->rm_pt;
        c->rate = (unsigned)r->rm_rate;
        if (copy(c->name, sizeof c->name, r->rm_encoding) ||
            copy(c->params, sizeof c->params, r->rm_params) ||
            copy(c->fmtp, sizeof c->fmtp, r->rm_fmtp))
            rc = -1;
        out->n++;
    }
    if (p)
        sdp_parser_free(p);
    su_home_deinit(home);
    return rc;
}

char *sdp_codecs_write(const char *sdp, size_t len, const struct sdp_codecs *list)
{
    if (!sdp || !len || len > 65536 || !list || list->n < 1 || list->n > SDP_MAX_CODECS)
        return NULL;
    su_home_t home[1] = {SU_HOME_INIT(home)};
    sdp_parser_t *p = sdp_parse(home, sdp, (issize_t)len, sdp_f_anynet);
    sdp_session_t *s = p ? sdp_session(p) : NULL;
    sdp_media_t *m = first_audio(s);
    char *result = NULL;
    sdp_rtpmap_t *head = NULL, **tail = &head;
    int ok = m != NULL;
    for (int i = 0; ok && i < list->n; i++) {
        const struct sdp_codec *c = &list->c[i];
        sdp_rtpmap_t *r = su_zalloc(home, sizeof *r);
        if (!r || c->pt < 0 || c->pt > 127) {
            ok = 0;
            break;
        }
        r->rm_size = sizeof *r;
        r->rm_pt = (unsigned)c->pt;
        r->rm_rate = c->rate;
        r->rm_encoding = su_strdup(home, c->name);
        r->rm_params = c->params[0] ? su_strdup(home, c->params) : NULL;
        r->rm_fmtp = c->fmtp[0] ? su_strdup(home, c->fmtp) : NULL;
        /* A static type that means what RFC 3551 says needs no a=rtpmap line. */
        const sdp_rtpmap_t *known = sdp_rtpmap_well_known[c->pt];
        r->rm_predef = known && known->rm_encoding &&
                       strcasecmp(known->rm_encoding, c->name) == 0 && known->rm_rate == c->rate &&
                       !c->params[0];
        if (!r->rm_encoding) {
            ok = 0;
            break;
        }
        *tail = r;
        tail = &r->rm_next;
    }
    if (ok) {
        m->m_rtpmaps = head;
        m->m_format = NULL; /* the printer writes the m= formats from the rtpmaps */
        sdp_printer_t *pr = sdp_print(home, s, NULL, 0, 0);
        const char *text = pr ? sdp_message(pr) : NULL;
        if (text)
            result = strdup(text);
        if (pr)
            sdp_printer_free(pr);
    }
    if (p)
        sdp_parser_free(p);
    su_home_deinit(home);
    return result;
}

int sdp_codecs_find(const struct sdp_codecs *list, const struct sdp_codec *want)
{
    /* Channels: none written means one (RFC 4566 6). */
    const char *wch = want->params[0] ? want->params : "1";
    for (int i = 0; i < list->n; i++) {
        const struct sdp_codec *c = &list->c[i];
        if (strcasecmp(c->name, want->name) == 0 && c->rate == want->rate &&
            strcmp(c->params[0] ? c->params : "1", wch) == 0)
            return i;
    }
    return -1;
}

int sdp_codec_is_event(const struct sdp_codec *c)
{
    return strcasecmp(c->name, "telephone-event") == 0;
}
