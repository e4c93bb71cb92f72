/* Digest client (RFC 2617, MD5, qop=auth or none): the credentials a node owes a peer that
 * challenged it, e.g. a gateway answering our INVITE or REGISTER with 401/407. */
#ifndef TANDEM_DIGEST_CLIENT_H
#define TANDEM_DIGEST_CLIENT_H

#include <stddef.h>

#include <sofia-sip/sip.h>

/* The header line answering the challenge in the response sip ("Authorization: Digest ...\r\n"
 * for a 401, "Proxy-Authorization: ..." for a 407), for a request of method to uri. Returns 0,
 * or -1 when the response has no usable challenge (none, not MD5, fields too long) or out is too
 * small. */
int digest_client_answer(sip_t const *sip, const char *user, const char *password,
                         const char *method, const char *uri, char *out, size_t len);

#endif
