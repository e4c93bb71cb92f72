/* Secrets of the admin store: SIP HA1 digests and API keys (generation and hashing).
 * Pure functions over OpenSSL EVP; neither passwords nor keys are ever stored in clear. */
#ifndef TANDEM_ADMIN_SECRET_H
#define TANDEM_ADMIN_SECRET_H

#include <stddef.h>

#define ADMIN_SECRET_HA1_LEN 33    /* 32 hex digits + NUL */
#define ADMIN_SECRET_SHA256_LEN 65 /* 64 hex digits + NUL */
#define ADMIN_SECRET_KEY_LEN 48    /* "tdm_" + 43 base64url characters + NUL */

/* out = lowercase hex MD5("extension:domain:password"), the RFC 2617 HA1. 0 or -1. */
int admin_secret_ha1(const char *extension, const char *domain, const char *password,
                     char out[ADMIN_SECRET_HA1_LEN]);

/* out = lowercase hex SHA-256 of the key string, as kept in api_keys.key_sha256. 0 or -1. */
int admin_secret_key_hash(const char *key, char out[ADMIN_SECRET_SHA256_LEN]);

/* A new key: "tdm_" + base64url of 32 random bytes, and its hash. 0 or -1. */
int admin_secret_new_key(char key[ADMIN_SECRET_KEY_LEN], char hash[ADMIN_SECRET_SHA256_LEN]);

#endif
