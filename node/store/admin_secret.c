/* HA1 digests and API keys: MD5/SHA-256 through OpenSSL EVP, randomness from RAND_bytes.
 * Keys are base64url so they survive shells, URLs and HTTP headers unquoted. */
#include "store/admin_secret.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

static int digest_hex(const EVP_MD *md, const char *const *parts, size_t nparts, char *out)
{
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    int rc = -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return -1;
    if (EVP_DigestInit_ex(ctx, md, NULL) != 1)
        goto out;
    for (size_t i = 0; i < nparts; i++)
        if (EVP_DigestUpdate(ctx, parts[i], strlen(parts[i])) != 1)
            goto out;
    if (EVP_DigestFinal_ex(ctx, buf, &len) != 1)
        goto out;
    static const char hex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < len; i++) {
        out[2 * i] = hex[buf[i] >> 4];
        out[2 * i + 1] = hex[buf[i] & 15];
    }
    out[2 * len] = '\0';
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

int admin_secret_ha1(const char *extension, const char *domain, const char *password,
                     char out[ADMIN_SECRET_HA1_LEN])
{
    const char *parts[] = {extension, ":", domain, ":", password};
    return digest_hex(EVP_md5(), parts, 5, out);
}

int admin_secret_key_hash(const char *key, char out[ADMIN_SECRET_SHA256_LEN])
{
    const char *parts[] = {key};
    return digest_hex(EVP_sha256(), parts, 1, out);
}

int admin_secret_new_key(char key[ADMIN_SECRET_KEY_LEN], char hash[ADMIN_SECRET_SHA256_LEN])
{
    unsigned char raw[32];
    unsigned char b64[48]; /* EVP_EncodeBlock writes 44 characters + NUL for 32 bytes */
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    int n = EVP_EncodeBlock(b64, raw, sizeof raw);
    if (n <= 0)
        return -1;
    memcpy(key, "tdm_", 4);
    size_t k = 4;
    for (int i = 0; i < n && b64[i] != '='; i++)
        key[k++] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
    key[k] = '\0';
    return admin_secret_key_hash(key, hash);
}
