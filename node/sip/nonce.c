/* Nonce = hex(issued-at) hex(random) hex(HMAC-SHA256(secret, first two parts))[0..24).
 * A nonce from the future by more than a few seconds (clock skew between nodes) is invalid. */
#include "sip/nonce.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CLOCK_SKEW 5

static void mac_hex(const char *secret, const char *msg, size_t len, char out[25])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, len, md,
              &mdlen)) {
        memset(out, 'x', 24); /* not hex: can never verify */
        out[24] = '\0';
        return;
    }
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 12; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[24] = '\0';
}

int nonce_create(const char *secret, time_t now, char out[NONCE_LEN])
{
    unsigned char rnd[4];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return -1;
    snprintf(out, NONCE_LEN, "%08x%02x%02x%02x%02x", (unsigned)(now & 0xffffffff), rnd[0], rnd[1],
             rnd[2], rnd[3]);
    mac_hex(secret, out, 16, out + 16);
    return 0;
}

enum nonce_verdict nonce_check(const char *secret, const char *nonce, time_t now, int lifetime)
{
    if (!nonce || strlen(nonce) != NONCE_LEN - 1)
        return NONCE_INVALID;
    char mac[25];
    mac_hex(secret, nonce, 16, mac);
    unsigned diff = 0;
    for (int i = 0; i < 24; i++)
        diff |= (unsigned)(mac[i] ^ nonce[16 + i]);
    if (diff)
        return NONCE_INVALID;
    unsigned issued;
    if (sscanf(nonce, "%8x", &issued) != 1)
        return NONCE_INVALID;
    /* 32-bit difference so the arithmetic stays right when the timestamp wraps in 2106 */
    int32_t age = (int32_t)((uint32_t)now - (uint32_t)issued);
    if (age < -CLOCK_SKEW)
        return NONCE_INVALID;
    if (age > lifetime)
        return NONCE_STALE;
    return NONCE_OK;
}
