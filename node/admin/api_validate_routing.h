/* Validation of gateway, DID and route bodies and the syntax they need (hosts, CIDRs, numbers,
 * POSIX regexes). Pure functions, unit-tested in tests/unit/test_api_validate_routing.c. */
#ifndef TANDEM_API_VALIDATE_ROUTING_H
#define TANDEM_API_VALIDATE_ROUTING_H

#include "admin/api_validate.h"

/* Each validates a POST (creating) or PATCH body completely: 0, or -1 with the first fault in
 * err. Cross-field rules that need the stored row (register on PATCH) are the store's. */
int api_validate_gateway(const json_t *body, int creating, struct api_verror *err);
int api_validate_did(const json_t *body, int creating, struct api_verror *err);
int api_validate_route(const json_t *body, int creating, struct api_verror *err);

/* ^[A-Za-z0-9._-]{1,64}$ (gateway names). */
int api_valid_gateway_name(const char *s);
/* An IPv4 or IPv6 literal, or a DNS name whose last label is not all digits. */
int api_valid_host(const char *s);
/* An IPv4 or IPv6 address with an optional /prefix and no bits set right of the prefix, as
 * PostgreSQL's cidr type requires ("10.0.0.1/8" is refused there, so here too). */
int api_valid_cidr(const char *s);
/* ^\+?[0-9]{1,20}$ */
int api_valid_did_number(const char *s);
/* ^[0-9+*#]{0,20}$ */
int api_valid_prepend(const char *s);
/* Compiles with regcomp(REG_EXTENDED), as the B2BUA will. */
int api_valid_regex(const char *s);

#endif
