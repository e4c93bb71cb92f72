/* benchutil: the helpers the load generators callload, regload and rtpflood share (see
 * benchutil.h). Each tool is one thread, so the few statics here need no locking. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* SO_RCVBUFFORCE, SOCK_NONBLOCK */
#endif
#include "benchutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *prog = "bench";
static int notes_left;

void bench_init(const char *name)
{
    prog = name;
}

void note_limit(int notes)
{
    notes_left = notes;
}

static void vsay(const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(fmt, ap);
    va_end(ap);
    exit(2);
}

void note(const char *fmt, ...)
{
    if (notes_left <= 0)
        return;
    notes_left--;
    va_list ap;
    va_start(ap, fmt);
    vsay(fmt, ap);
    va_end(ap);
}

double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

uint64_t rnd(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545F4914F6CDD1DULL;
}

uint64_t rnd_seed(void)
{
    return ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ 0x9E3779B97F4A7C15ULL;
}

/* -------- MD5 -------- */

static EVP_MD_CTX *md_ctx;
static EVP_MD *md5;

static void md5_free(void)
{
    EVP_MD_free(md5);
    EVP_MD_CTX_free(md_ctx);
    md5 = NULL;
    md_ctx = NULL;
}

/* Fetched once: EVP_MD_fetch per digest would cost more than the digest. */
static void md5_init(void)
{
    md_ctx = EVP_MD_CTX_new();
    md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    if (!md_ctx || !md5)
        die("OpenSSL MD5 unavailable");
    atexit(md5_free);
}

void md5_fmt(char out[33], const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf)
        die("digest input too long");
    if (!md_ctx)
        md5_init();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_DigestInit_ex(md_ctx, md5, NULL) || !EVP_DigestUpdate(md_ctx, buf, (size_t)n) ||
        !EVP_DigestFinal_ex(md_ctx, md, &mdlen) || mdlen != 16)
        die("MD5 failed");
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[32] = '\0';
}

/* -------- results -------- */

void count_code(struct code_counts *cc, int code)
{
    for (int i = 0; i < cc->kinds; i++)
        if (cc->of[i].code == code) {
            cc->of[i].n++;
            return;
        }
    if (cc->kinds < CODE_KINDS) {
        cc->of[cc->kinds].code = code;
        cc->of[cc->kinds].n = 1;
        cc->kinds++;
    }
}

void print_codes(const struct code_counts *cc)
{
    if (!cc->kinds)
        printf("-");
    for (int i = 0; i < cc->kinds; i++)
        printf("%s%d:%ld", i ? "," : "", cc->of[i].code, cc->of[i].n);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void sort_doubles(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
}

/* -------- options and sockets -------- */

double parse_num(const char *s, const char *what, double min, double max, enum num_kind kind)
{
    char *end;
    double v;
    if (kind == NUM_INTEGER) {
        errno = 0;
        long l = strtol(s, &end, 10);
        v = (double)l;
        if (!*s || *end || errno || v < min || v > max)
            die("%s: '%s' is not an integer in %.0f..%.0f", what, s, min, max);
    } else {
        v = strtod(s, &end);
        if (!*s || *end || v < min || v > max)
            die("bad %s: %s", what, s);
    }
    return v;
}

int udp_open(struct in_addr ip, int flags)
{
    int fd = socket(AF_INET, SOCK_DGRAM | flags, 0);
    if (fd < 0)
        die("socket: %s", strerror(errno));
    int size = 8 << 20;
    /* FORCE passes net.core.rmem_max when we are root; otherwise the plain call is capped. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = ip};
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        char text[INET_ADDRSTRLEN];
        die("bind %s: %s", inet_ntop(AF_INET, &ip, text, sizeof text), strerror(errno));
    }
    return fd;
}

int udp_port(int fd)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
        die("getsockname: %s", strerror(errno));
    return ntohs(sa.sin_port);
}

/* -------- SIP text -------- */

int sip_next_line(const char **at, const char *end, struct sip_line *l)
{
    const char *p = *at;
    if (!p || ++p >= end)
        return 0;
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol)
        eol = end;
    size_t ll = (size_t)(eol - p);
    if (ll && p[ll - 1] == '\r')
        ll--;
    if (ll == 0)
        return 0;
    *at = eol;
    l->line = l->name = p;
    l->line_len = ll;
    const char *colon = memchr(p, ':', ll), *ve = p + ll;
    if (!colon) {
        l->name_len = l->value_len = 0;
        l->value = ve;
        return 1;
    }
    size_t nl = (size_t)(colon - p);
    while (nl && (p[nl - 1] == ' ' || p[nl - 1] == '\t'))
        nl--;
    const char *v = colon + 1;
    while (v < ve && (*v == ' ' || *v == '\t'))
        v++;
    l->name_len = nl;
    l->value = v;
    l->value_len = (size_t)(ve - v);
    return 1;
}

int sip_line_is(const struct sip_line *l, const char *full, const char *compact)
{
    size_t nl = l->name_len;
    return (nl && nl == strlen(full) && !strncasecmp(l->name, full, nl)) ||
           (nl && compact && nl == strlen(compact) && !strncasecmp(l->name, compact, nl));
}

int sip_header(const char *msg, size_t len, const char *full, const char *compact, char *out,
               size_t outlen)
{
    const char *at = memchr(msg, '\n', len);
    struct sip_line l;
    while (sip_next_line(&at, msg + len, &l)) {
        if (!sip_line_is(&l, full, compact))
            continue;
        if (l.value_len + 1 > outlen)
            return -1;
        memcpy(out, l.value, l.value_len);
        out[l.value_len] = '\0';
        return 0;
    }
    return -1;
}

/* name=value or name="value" among a challenge's len bytes of parameters; copies the value,
 * NUL-terminated. 0 when found and it fits. */
static int challenge_param(const char *s, size_t len, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    const char *end = s + len, *p = s;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        const char *key = p;
        while (p < end && *p != '=' && *p != ',')
            p++;
        size_t kl = (size_t)(p - key);
        while (kl && (key[kl - 1] == ' ' || key[kl - 1] == '\t'))
            kl--;
        if (p >= end || *p != '=')
            continue;
        p++;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        const char *val, *vend;
        if (p < end && *p == '"') {
            val = ++p;
            while (p < end && *p != '"')
                p++;
            vend = p;
            if (p < end)
                p++;
        } else {
            val = p;
            while (p < end && *p != ',')
                p++;
            vend = p;
            while (vend > val && (vend[-1] == ' ' || vend[-1] == '\t'))
                vend--;
        }
        if (kl == nl && !strncasecmp(key, name, nl)) {
            size_t vl = (size_t)(vend - val);
            if (vl + 1 > outlen)
                return -1;
            memcpy(out, val, vl);
            out[vl] = '\0';
            return 0;
        }
    }
    return -1;
}

/* -------- digest authentication -------- */

int digest_challenge_parse(const char *params, size_t len, struct digest_challenge *dc)
{
    char qop[64] = "";
    if (challenge_param(params, len, "nonce", dc->nonce, sizeof dc->nonce) ||
        challenge_param(params, len, "realm", dc->realm, sizeof dc->realm))
        return -1;
    if (challenge_param(params, len, "opaque", dc->opaque, sizeof dc->opaque))
        dc->opaque[0] = '\0';
    challenge_param(params, len, "qop", qop, sizeof qop);
    dc->qop = strstr(qop, "auth") != NULL;
    return 0;
}

/* RFC 2617 3.2.2.1: qop=auth takes nc and cnonce into the response; without qop, RFC 2069's. */
void digest_authorization(char *out, size_t outlen, const char *name, const char *user,
                          const char *uri, const struct digest_challenge *dc, const char *ha1,
                          const char *ha2, uint32_t nc, const char *cnonce)
{
    char response[33], qop[96] = "", opaque[160] = "";
    if (dc->qop) {
        md5_fmt(response, "%s:%s:%08" PRIx32 ":%s:auth:%s", ha1, dc->nonce, nc, cnonce, ha2);
        snprintf(qop, sizeof qop, ", qop=auth, nc=%08" PRIx32 ", cnonce=\"%s\"", nc, cnonce);
    } else {
        md5_fmt(response, "%s:%s:%s", ha1, dc->nonce, ha2);
    }
    if (dc->opaque[0])
        snprintf(opaque, sizeof opaque, ", opaque=\"%s\"", dc->opaque);
    int n = snprintf(out, outlen,
                     "%s: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
                     "response=\"%s\", algorithm=MD5%s%s\r\n",
                     name, user, dc->realm, dc->nonce, uri, response, qop, opaque);
    if (n < 0 || (size_t)n >= outlen)
        die("%s for %s does not fit in %zu bytes", name, user, outlen);
}
