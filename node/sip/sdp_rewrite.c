/* sofia-sip's parser gives a structure we edit in place (pointer swaps into our own strings)
 * and print back, so unusual but valid SDP survives the rewrite untouched where we do not
 * need to change it. */
#include "sip/sdp_rewrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sdp.h>
#include <sofia-sip/su_alloc.h>

static sdp_media_t *first_audio(sdp_session_t *s)
{
    for (sdp_media_t *m = s ? s->sdp_media : NULL; m; m = m->m_next)
        if (m->m_type == sdp_media_audio)
            return m;
    return NULL;
}

int sdp_audio_find(const char *sdp, size_t len, struct sdp_audio *out)
{
    memset(out, 0, sizeof *out);
    if (!sdp || !len || len > 65536)
        return -1;
    su_home_t home[1] = {SU_HOME_INIT(home)};
    sdp_parser_t *p = sdp_parse(home, sdp, (issize_t)len, sdp_f_anynet);
    sdp_session_t *s = p ? sdp_session(p) : NULL;
    sdp_media_t *m = first_audio(s);
    int rc = -1;
    if (m) {
        sdp_connection_t *c = m->m_connections ? m->m_connections : s->sdp_connection;
        if (c && c->c_address && strlen(c->c_address) < sizeof out->ip) {
            strcpy(out->ip, c->c_address);
            out->port = (int)m->m_port;
            sdp_attribute_t *rtcp = sdp_attribute_find(m->m_attributes, "rtcp");
            if (rtcp && rtcp->a_value)
                out->rtcp_port = atoi(rtcp->a_value);
            out->hold = m->m_mode != sdp_sendrecv || strcmp(out->ip, "0.0.0.0") == 0;
            rc = 0;
        }
    }
    if (p)
        sdp_parser_free(p);
    su_home_deinit(home);
    return rc;
}

static void set_address(sdp_connection_t *c, char *ip, int v6)
{
    for (; c; c = c->c_next) {
        c->c_address = ip;
        c->c_addrtype = v6 ? sdp_addr_ip6 : sdp_addr_ip4;
        c->c_nettype = sdp_net_in;
    }
}

char *sdp_rewrite_audio(const char *sdp, size_t len, const char *ip, int port)
{
    if (!sdp || !len || len > 65536)
        return NULL;
    su_home_t home[1] = {SU_HOME_INIT(home)};
    char *addr = su_strdup(home, ip);
    int v6 = strchr(ip, ':') != NULL;
    char *result = NULL;
    sdp_parser_t *p = sdp_parse(home, sdp, (issize_t)len, sdp_f_anynet);
    sdp_session_t *s = p ? sdp_session(p) : NULL;
    sdp_media_t *audio = first_audio(s);
    if (audio && addr) {
        set_address(s->sdp_connection, addr, v6);
        if (s->sdp_origin)
            set_address(s->sdp_origin->o_address, addr, v6);
        for (sdp_media_t *m = s->sdp_media; m; m = m->m_next) {
            if (m != audio) {
                m->m_port = 0;
                continue;
            }
            m->m_port = (unsigned long)port;
            set_address(m->m_connections, addr, v6);
            static const char *const drop[] = {
                "rtcp",        "candidate",         "ice-ufrag",        "ice-pwd",
                "ice-options", "remote-candidates", "end-of-candidates"};
            for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
                while (sdp_attribute_remove(&m->m_attributes, drop[i]))
                    ;
        }
        if (!s->sdp_connection && !audio->m_connections)
            audio = NULL; /* no address anywhere: nothing sensible to send */
        sdp_printer_t *pr = audio ? sdp_print(home, s, NULL, 0, 0) : NULL;
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
