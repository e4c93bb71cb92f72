/* sofia-sip's parser gives a structure we edit in place (pointer swaps into our own strings)
 * and print back, so unusual but valid SDP survives the rewrite untouched where we do not
 * need to change it. */
#include "sip/sdp_rewrite.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sdp.h>
#include <sofia-sip/su_alloc.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

/* Base64 of SDP_SRTP_KEY_LEN bytes: 30 is a multiple of 3, so exactly 40 characters, no '='. */
#define SDP_KEY_B64_LEN 40

static int known_suite(const char *suite)
{
    return strcmp(suite, "AES_CM_128_HMAC_SHA1_80") == 0 ||
           strcmp(suite, "AES_CM_128_HMAC_SHA1_32") == 0;
}

/* "<tag> <suite> inline:<key||salt>[|lifetime][;more keys] [session params]" (RFC 4568 9.1).
 * Only the first key is read; a key with an MKI is refused, as this node never sends one. */
static int parse_crypto(const char *v, struct sdp_crypto *out)
{
    char *end;
    long tag = strtol(v, &end, 10);
    if (end == v || tag < 1 || tag > 999999999 || !isspace((unsigned char)*end))
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    size_t n = strcspn(end, " \t");
    if (n == 0 || n >= sizeof out->suite)
        return -1;
    char suite[sizeof out->suite];
    memcpy(suite, end, n);
    suite[n] = '\0';
    if (!known_suite(suite))
        return -1;
    const char *kp = end + n;
    while (isspace((unsigned char)*kp))
        kp++;
    if (strncmp(kp, "inline:", 7) != 0)
        return -1;
    kp += 7;
    if (strcspn(kp, "|; \t") != SDP_KEY_B64_LEN)
        return -1;
    const char *after = kp + SDP_KEY_B64_LEN;
    if (*after == '|') { /* lifetime, then maybe MKI "value:length" */
        size_t field = strcspn(after + 1, "|; \t");
        if (after[1 + field] == '|' || memchr(after + 1, ':', field))
            return -1;
    }
    unsigned char raw[SDP_KEY_B64_LEN];
    if (EVP_DecodeBlock(raw, (const unsigned char *)kp, SDP_KEY_B64_LEN) != SDP_SRTP_KEY_LEN)
        return -1;
    out->tag = (int)tag;
    memcpy(out->suite, suite, n + 1);
    memcpy(out->key, raw, SDP_SRTP_KEY_LEN);
    return 0;
}

int sdp_crypto_generate(struct sdp_crypto *out, int tag, const char *suite)
{
    memset(out, 0, sizeof *out);
    if (!suite || !known_suite(suite) || tag < 1 || tag > 999999999)
        return -1;
    if (RAND_bytes(out->key, SDP_SRTP_KEY_LEN) != 1)
        return -1;
    out->tag = tag;
    snprintf(out->suite, sizeof out->suite, "%s", suite);
    return 0;
}

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
            out->savp = m->m_proto == sdp_proto_srtp;
            for (sdp_attribute_t *a = m->m_attributes; a && !out->has_crypto; a = a->a_next)
                if (a->a_name && strcasecmp(a->a_name, "crypto") == 0 && a->a_value)
                    out->has_crypto = parse_crypto(a->a_value, &out->crypto) == 0;
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

/* Profile and key of the audio stream for the party the SDP goes to (sdp_rewrite_audio_srtp).
 * Allocations are from home; -1 when one fails. */
static int set_srtp(su_home_t *home, sdp_media_t *m, const struct sdp_crypto *crypto)
{
    while (sdp_attribute_remove(&m->m_attributes, "crypto"))
        ;
    if (!crypto) {
        m->m_proto = sdp_proto_rtp;
        m->m_proto_name = "RTP/AVP";
        return 0;
    }
    char b64[SDP_KEY_B64_LEN + 1];
    if (EVP_EncodeBlock((unsigned char *)b64, crypto->key, SDP_SRTP_KEY_LEN) != SDP_KEY_B64_LEN)
        return -1;
    sdp_attribute_t *a = su_zalloc(home, sizeof *a);
    char *value = su_sprintf(home, "%d %s inline:%s", crypto->tag, crypto->suite, b64);
    if (!a || !value)
        return -1;
    a->a_size = sizeof *a;
    a->a_name = "crypto";
    a->a_value = value;
    sdp_attribute_append(&m->m_attributes, a);
    m->m_proto = sdp_proto_srtp;
    m->m_proto_name = "RTP/SAVP";
    return 0;
}

/* srtp 0 leaves profile and a=crypto as they are; 1 sets them from crypto (set_srtp). */
static char *rewrite(const char *sdp, size_t len, const char *ip, int port, int srtp,
                     const struct sdp_crypto *crypto, int bump)
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
    int failed = 0;
    if (audio && addr) {
        set_address(s->sdp_connection, addr, v6);
        if (s->sdp_origin) {
            set_address(s->sdp_origin->o_address, addr, v6);
            if (bump) /* RFC 3264 8: a changed session description has a higher version */
                s->sdp_origin->o_version++;
        }
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
            if (srtp && set_srtp(home, m, crypto) != 0)
                failed = 1;
        }
        if (failed || (!s->sdp_connection && !audio->m_connections))
            audio = NULL; /* no address anywhere (or out of memory): nothing sensible to send */
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

char *sdp_rewrite_audio(const char *sdp, size_t len, const char *ip, int port)
{
    return rewrite(sdp, len, ip, port, 0, NULL, 0);
}

char *sdp_rewrite_audio_srtp(const char *sdp, size_t len, const char *ip, int port,
                             const struct sdp_crypto *crypto)
{
    return rewrite(sdp, len, ip, port, 1, crypto, 0);
}

char *sdp_rewrite_reoffer(const char *sdp, size_t len, const char *ip, int port)
{
    return rewrite(sdp, len, ip, port, 0, NULL, 1);
}
