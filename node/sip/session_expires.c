/* The decisions of RFC 4028 sections 8-10 for a B2BUA that passes refreshes through instead of
 * generating its own: a session has a timer only when a party can refresh it. */
#include "sip/session_expires.h"

#include <strings.h>

int st_request_interval(const struct st_params *a, int node_min_se, int node_default,
                        int *min_se_422)
{
    int floor = a->min_se > node_min_se ? a->min_se : node_min_se;
    if (a->expires > 0 && a->expires < node_min_se) {
        *min_se_422 = floor;
        return -1;
    }
    if (a->expires > 0)
        return a->expires;
    if (node_default <= 0)
        return 0;
    return node_default > floor ? node_default : floor;
}

int st_ask_refresher(const struct st_params *a)
{
    return a->timer && a->refresher != ST_UAS ? ST_UAC : ST_UAS;
}

int st_answer(const struct st_params *a, int asked, const struct st_params *b, int *party)
{
    *party = ST_NOBODY;
    if (asked <= 0)
        return 0;
    int interval = asked, who;
    if (b->expires >
        0) { /* B runs a timer: its 2xx settles interval and refresher (RFC 4028 7.2) */
        interval = b->expires;
        int r = b->refresher ? b->refresher : st_ask_refresher(a);
        who = r == ST_UAS ? ST_PARTY_B : ST_PARTY_A;
    } else { /* B knows no timers: only A can refresh, and only if it said it would */
        who = a->timer && a->refresher != ST_UAS ? ST_PARTY_A : ST_NOBODY;
    }
    if (who == ST_PARTY_A && !a->timer)
        who = ST_NOBODY; /* B left it to us, and A cannot: nobody would refresh */
    *party = who;
    return who == ST_NOBODY ? 0 : interval;
}

const char *st_refresher_name(int party)
{
    return party == ST_PARTY_B ? "uas" : "uac";
}

long long st_deadline_ms(long long now_ms, int interval)
{
    long long whole = (long long)interval * 1000;
    long long margin = whole / 3 < 32000 ? whole / 3 : 32000;
    return now_ms + whole - margin;
}

int st_parse_refresher(const char *s)
{
    if (!s)
        return ST_NONE;
    if (!strcasecmp(s, "uac"))
        return ST_UAC;
    if (!strcasecmp(s, "uas"))
        return ST_UAS;
    return ST_NONE;
}

int st_retry_interval(int asked, long min_se_422, int max, int tries)
{
    if (tries >= ST_MAX_422_RETRIES || min_se_422 <= 0 || min_se_422 <= asked)
        return -1;
    if (min_se_422 > max)
        return -2;
    return (int)min_se_422;
}
