/* The contact's expires parameter wins over the Expires header, which wins over the default.
 * Zero always means "remove"; anything else below the minimum is refused, above the maximum cut. */
#include "sip/reg_expiry.h"

#include <ctype.h>

long reg_expiry_parse(const char *text)
{
    if (!text || !*text)
        return -1;
    long long v = 0;
    for (const char *p = text; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        if (v < 4294967295LL)
            v = v * 10 + (*p - '0');
    }
    return v > 4294967295LL ? 4294967295L : (long)v;
}

long reg_expiry_grant(long contact_param, long header, const struct reg_expiry_limits *lim)
{
    long requested = contact_param >= 0 ? contact_param : header >= 0 ? header : lim->deflt;
    if (requested == 0)
        return 0;
    if (requested < lim->min)
        return REG_EXPIRY_TOO_BRIEF;
    if (requested > lim->max)
        return lim->max;
    return requested;
}
