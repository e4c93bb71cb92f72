/* Registration expiry arithmetic (RFC 3261 10.2.1.1 and 10.3 steps 6 and 8).
 * Pure functions, unit-tested: what a REGISTER asked for and what the registrar grants. */
#ifndef TANDEM_REG_EXPIRY_H
#define TANDEM_REG_EXPIRY_H

#define REG_EXPIRY_TOO_BRIEF (-1) /* answer 423 Interval Too Brief with Min-Expires */

struct reg_expiry_limits {
    int min, max, deflt;
};

/* Parses a delta-seconds string; values beyond 2^32-1 are clamped; -1 when malformed. */
long reg_expiry_parse(const char *text);

/* contact_param and header are the requested values or -1 when absent.
 * Returns the granted seconds (0 removes the binding) or REG_EXPIRY_TOO_BRIEF. */
long reg_expiry_grant(long contact_param, long header, const struct reg_expiry_limits *lim);

#endif
