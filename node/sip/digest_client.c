/* One answer per challenge: nc is always 00000001 with a fresh cnonce, since we never reuse a
 * nonce (every request that gets challenged is sent again once, with this answer). Old peers
 * that offer no qop get the RFC 2069 form, MD5(HA1:nonce:HA2). */
#include "sip/digest_client.h"

#include "sip/digest.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>

static int param(msg_auth_t const *ch, const char *name, char *out, size_t len)
{
    const char *v = msg_params_find(ch->au_params, name);
    if (!v || strlen(v) >= len)
        return -1;
    if (*v == '"')
        msg_unquote(out, v);
    else /* tokens (algorithm=MD5, qop=auth from some peers) come unquoted */
        memcpy(out, v, strlen(v) + 1);
    return 0;
}

/* 1 when the qop list ("auth", "auth,auth-int", "auth-int auth"...) has the token auth. */
static int offers_auth(const char *qop)
{
    for (const char *p = qop; *p;) {
        p += strspn(p, ", \t");
        size_t n = strcspn(p, ", \t");
        if (n == 4 && strncasecmp(p, "auth", 4) == 0)
            return 1;
        p += n;
    }
    return 0;
}

int digest_client_answer(sip_t const *sip, const char *user, const char *password,
                         const char *method, const char *uri, char *out, size_t len)
{
    msg_auth_t const *ch =
        sip->sip_www_authenticate ? sip->sip_www_authenticate : sip->sip_proxy_authenticate;
    if (!ch || !ch->au_scheme || strcasecmp(ch->au_scheme, "Digest") != 0)
        return -1;
    char realm[256], nonce[256], qop[64] = "", algorithm[32] = "MD5";
    if (param(ch, "realm=", realm, sizeof realm) || param(ch, "nonce=", nonce, sizeof nonce))
        return -1;
    if (msg_params_find(ch->au_params, "qop=") && param(ch, "qop=", qop, sizeof qop))
        return -1;
    if (msg_params_find(ch->au_params, "algorithm=") &&
        (param(ch, "algorithm=", algorithm, sizeof algorithm) || strcasecmp(algorithm, "MD5")))
        return -1; /* MD5-sess, SHA-256: not offered by the carriers we have met */
    const char *opaque = msg_params_find(ch->au_params, "opaque=");
    int with_qop = offers_auth(qop);
    if (qop[0] && !with_qop)
        return -1; /* only auth-int offered */
    unsigned char r[8];
    if (RAND_bytes(r, sizeof r) != 1)
        return -1;
    char ha1[DIGEST_HEX_LEN], resp[DIGEST_HEX_LEN], cnonce[17];
    snprintf(cnonce, sizeof cnonce, "%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3],
             r[4], r[5], r[6], r[7]);
    digest_ha1(user, realm, password, ha1);
    if (with_qop) {
        digest_response(ha1, nonce, "00000001", cnonce, "auth", method, uri, resp);
    } else {
        char a2[600], ha2[DIGEST_HEX_LEN], all[800];
        snprintf(a2, sizeof a2, "%s:%s", method, uri);
        digest_md5_hex(a2, strlen(a2), ha2);
        snprintf(all, sizeof all, "%s:%s:%s", ha1, nonce, ha2);
        digest_md5_hex(all, strlen(all), resp);
    }
    int n = snprintf(out, len,
                     "%s: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
                     "response=\"%s\", algorithm=MD5%s%s%s%s%s%s\r\n",
                     sip->sip_www_authenticate ? "Authorization" : "Proxy-Authorization", user,
                     realm, nonce, uri, resp, with_qop ? ", qop=auth, nc=00000001" : "",
                     with_qop ? ", cnonce=\"" : "", with_qop ? cnonce : "", with_qop ? "\"" : "",
                     opaque ? ", opaque=" : "", opaque ? opaque : "");
    return n < 0 || (size_t)n >= len ? -1 : 0;
}
