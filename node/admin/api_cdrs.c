/* GET /v1/tenants/{id}/cdrs?from=&to=&page=&per_page=: a tenant's call detail records by start
 * time, a page at a time. Times are checked here, strictly, rather than left to PostgreSQL,
 * which would also take "now", "epoch" or a time without a zone (read in the server's zone). */
#include "admin/api_internal.h"

#include "store/admin_db_cdrs.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define PER_PAGE_DEFAULT 100
#define PER_PAGE_MAX 500
#define PAGE_MAX 1000000

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's algorithm). */
static long long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* "YYYY-MM-DD" (UTC midnight) or "YYYY-MM-DDTHH:MM[:SS[.fff]]" with "Z" or a "+HH:MM" offset,
 * into unix ms. A ' ' where the offset's sign belongs is a '+' that the URL did not escape. */
static int parse_time(const char *s, long long *ms)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, frac_ms = 0, off = 0;
    const char *p = s;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
        return -1;
    if (y < 1900 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -1;
    if (*p) {
        if (*p != 'T' && *p != 't')
            return -1;
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
            return -1;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &sec))
                return -1;
        }
        if (*p == '.') {
            p++;
            int n = 0;
            for (; isdigit((unsigned char)*p); p++, n++)
                if (n < 3)
                    frac_ms = frac_ms * 10 + (*p - '0');
            if (n == 0)
                return -1;
            for (; n < 3; n++)
                frac_ms *= 10;
        }
        if (h > 23 || mi > 59 || sec > 59)
            return -1;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-' || *p == ' ') {
            int sign = *p++ == '-' ? -1 : 1, oh, om;
            if (digits(&p, 2, &oh))
                return -1;
            if (*p == ':')
                p++;
            if (digits(&p, 2, &om) || oh > 23 || om > 59)
                return -1;
            off = sign * (oh * 60 + om);
        } else {
            return -1; /* no zone: ambiguous */
        }
        if (*p)
            return -1;
    }
    long long secs = days_from_civil(y, mo, d) * 86400LL + h * 3600 + mi * 60 + sec - off * 60LL;
    *ms = secs * 1000 + frac_ms;
    return 0;
}

/* A positive integer no larger than max. */
static int parse_count(const char *s, int max, int *out)
{
    if (!*s || strlen(s) > 9)
        return -1;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    long v = strtol(s, NULL, 10);
    if (v < 1 || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

void api_cdrs_list(struct api_call *c, struct api_reply *r)
{
    if (!api_tenant_visible(c, r))
        return;
    struct admin_db_cdr_query q = {
        .tenant_id = c->params[0], .page = 1, .per_page = PER_PAGE_DEFAULT};
    const char *from = api_query(c, "from"), *to = api_query(c, "to");
    const char *page = api_query(c, "page"), *per_page = api_query(c, "per_page");
    static const char time_msg[] =
        "must be an ISO 8601 time with a zone (2026-01-31T12:00:00Z) or a date (2026-01-31)";
    if (from && parse_time(from, &q.from_ms) != 0) {
        api_reply_error(r, 422, time_msg, "from");
        return;
    }
    if (to && parse_time(to, &q.to_ms) != 0) {
        api_reply_error(r, 422, time_msg, "to");
        return;
    }
    q.has_from = from != NULL;
    q.has_to = to != NULL;
    if (from && to && q.to_ms <= q.from_ms) {
        api_reply_error(r, 422, "must be later than from", "to");
        return;
    }
    if (page && parse_count(page, PAGE_MAX, &q.page) != 0) {
        api_reply_error(r, 422, "must be an integer from 1 to 1000000", "page");
        return;
    }
    if (per_page && parse_count(per_page, PER_PAGE_MAX, &q.per_page) != 0) {
        api_reply_error(r, 422, "must be an integer from 1 to 500", "per_page");
        return;
    }
    json_t *out = NULL;
    struct admin_db_err err = {0};
    enum admin_db_rc rc = admin_db_cdr_list(c->db, &q, &out, &err);
    api_reply_result(r, rc, &err, 200, out);
}
