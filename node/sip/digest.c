/* Digest computations for the registrar and call authentication.
 * MD5 comes from OpenSSL's EVP interface; the comparison is constant-time. */
#include "sip/digest.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

void digest_md5_hex(const void *data, size_t len, char out[DIGEST_HEX_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data, len, md, &mdlen, EVP_md5(), NULL) || mdlen != 16) {
        memset(out, '0', 32); /* never matches a real response: auth fails closed */
        out[32] = '\0';
        return;
    }
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 16; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[32] = '\0';
}

/* Joins parts with ':' and hashes them; parts that would overflow the buffer fail closed. */
static void md5_join(char out[DIGEST_HEX_LEN], const char *const *parts, int n)
{
    char buf[2048];
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(parts[i]);
        if (used + len + 1 >= sizeof buf) {
            memset(out, 'x', 32);
            out[32] = '\0';
            return;
        }
        if (i)
            buf[used++] = ':';
        memcpy(buf + used, parts[i], len);
        used += len;
    }
    digest_md5_hex(buf, used, out);
}

void digest_ha1(const char *user, const char *realm, const char *password, char out[DIGEST_HEX_LEN])
{
    const char *parts[] = {user, realm, password};
    md5_join(out, parts, 3);
}

void digest_response(const char *ha1, const char *nonce, const char *nc, const char *cnonce,
                     const char *qop, const char *method, const char *uri, char out[DIGEST_HEX_LEN])
{
    char ha2[DIGEST_HEX_LEN];
    const char *a2[] = {method, uri};
    md5_join(ha2, a2, 2);
    const char *parts[] = {ha1, nonce, nc, cnonce, qop, ha2};
    md5_join(out, parts, 6);
}

int digest_equal(const char *a, const char *b)
{
    if (!a || !b || strlen(a) != 32 || strlen(b) != 32)
        return 0;
    unsigned diff = 0;
    for (int i = 0; i < 32; i++)
        diff |= (unsigned)(tolower((unsigned char)a[i]) ^ tolower((unsigned char)b[i]));
    return diff == 0;
}

long digest_parse_nc(const char *nc)
{
    if (!nc || strlen(nc) != 8)
        return -1;
    long v = 0;
    for (int i = 0; i < 8; i++) {
        if (!isxdigit((unsigned char)nc[i]))
            return -1;
        v = v * 16 + (isdigit((unsigned char)nc[i]) ? nc[i] - '0'
                                                    : tolower((unsigned char)nc[i]) - 'a' + 10);
    }
    return v;
}
