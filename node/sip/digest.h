/* HTTP digest arithmetic for SIP (RFC 2617 with qop=auth, MD5), over stored HA1 values only.
 * Pure functions: no SIP parsing, no I/O, so they are unit-tested directly. */
#ifndef TANDEM_DIGEST_H
#define TANDEM_DIGEST_H

#include <stddef.h>

#define DIGEST_HEX_LEN 33 /* 32 hex digits and a NUL */

void digest_md5_hex(const void *data, size_t len, char out[DIGEST_HEX_LEN]);

/* HA1 = MD5(user ":" realm ":" password) */
void digest_ha1(const char *user, const char *realm, const char *password,
                char out[DIGEST_HEX_LEN]);

/* response = MD5(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" MD5(method ":" uri)) */
void digest_response(const char *ha1, const char *nonce, const char *nc, const char *cnonce,
                     const char *qop, const char *method, const char *uri,
                     char out[DIGEST_HEX_LEN]);

/* Compares two hex digests in constant time, ignoring case. 1 when equal. */
int digest_equal(const char *a, const char *b);

/* Parses a nonce-count (8 hex digits); returns -1 when malformed. */
long digest_parse_nc(const char *nc);

#endif
