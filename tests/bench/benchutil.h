/* benchutil: the helpers the load generators callload, regload and rtpflood share: the clock,
 * messages, random numbers, MD5 digests, response codes, option numbers, UDP sockets, SIP text. */
#ifndef TANDEM_BENCH_BENCHUTIL_H
#define TANDEM_BENCH_BENCHUTIL_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* -------- the program -------- */

/* Names the program at the start of die() and note() messages ("callload: ..."). */
void bench_init(const char *prog);
/* How many more note()s reach stderr; 0 silences them (the default). */
void note_limit(int notes);
/* The message on stderr, then exit status 2: usage or system error, for every tool alike. */
__attribute__((format(printf, 1, 2), noreturn)) void die(const char *fmt, ...);
/* The message on stderr while the limit lasts: the first failures explain a run, the rest
 * would only flood the driving script's pipe. */
__attribute__((format(printf, 1, 2))) void note(const char *fmt, ...);

/* -------- time and randomness -------- */

double now_mono(void);  /* CLOCK_MONOTONIC in seconds */
long long now_ns(void); /* CLOCK_MONOTONIC in nanoseconds */

/* xorshift64*: tags, branches and cnonces need to differ, not to be secret. */
uint64_t rnd(uint64_t *state);
/* A seed that differs between runs and between processes started in the same second. */
uint64_t rnd_seed(void);

/* -------- MD5 -------- */

/* MD5 of the formatted text as 32 lowercase hex digits. The OpenSSL context belongs to this
 * file: made on first use, freed at exit. Dies when MD5 is unavailable or the text is over
 * 1023 bytes. */
__attribute__((format(printf, 2, 3))) void md5_fmt(char out[33], const char *fmt, ...);

/* -------- results -------- */

#define CODE_KINDS 16 /* distinct response codes counted; later new ones are dropped */

/* How often each failing final response code was seen, in order of first appearance. */
struct code_counts {
    int kinds;
    struct {
        int code;
        long n;
    } of[CODE_KINDS];
};

void count_code(struct code_counts *cc, int code);
/* "401:3,404:1" on stdout, or "-" when none: the value of a result line's codes=. */
void print_codes(const struct code_counts *cc);
/* Ascending, for the percentiles (each tool picks its own rank rule). */
void sort_doubles(double *v, size_t n);

/* -------- options and sockets -------- */

enum num_kind {
    NUM_REAL,   /* strtod: "0.5", "1e3" */
    NUM_INTEGER /* strtol base 10, whole numbers only */
};
/* The option value s as a number in min..max, or die naming the option (what). */
double parse_num(const char *s, const char *what, double min, double max, enum num_kind kind);

/* A UDP socket bound to ip (a free port), with 8 MiB buffers each way so a burst of answers
 * or media survives while the tool is descheduled; flags: 0 or SOCK_NONBLOCK. Dies on failure. */
int udp_open(struct in_addr ip, int flags);
/* The local port fd is bound to. Dies on failure. */
int udp_port(int fd);

/* -------- SIP text -------- */

/* One header line of a SIP message (CRLF or LF ended, without it). name is what stands before
 * the first colon without trailing blanks (name_len 0 when there is no colon), value what
 * follows it without leading blanks. */
struct sip_line {
    const char *line, *name, *value;
    size_t line_len, name_len, value_len;
};

/* Steps to the header line after *at, the '\n' that ended the line before (for the first
 * header, the first '\n' of the message; NULL: none), reading no further than end. 0 at the
 * blank line that ends the headers, or at end. */
int sip_next_line(const char **at, const char *end, struct sip_line *l);
/* Whether the line is a header called full or compact (NULL when it has no compact form). */
int sip_line_is(const struct sip_line *l, const char *full, const char *compact);
/* Copies the value of the first header called full or compact into out, NUL-terminated;
 * 0 when found and it fits. */
int sip_header(const char *msg, size_t len, const char *full, const char *compact, char *out,
               size_t outlen);

/* -------- digest authentication -------- */

#define DIGEST_VALUE_MAX 128 /* a nonce, realm or opaque up to 127 bytes */

/* What a Digest challenge (WWW-Authenticate or Proxy-Authenticate) asks for. */
struct digest_challenge {
    char nonce[DIGEST_VALUE_MAX], realm[DIGEST_VALUE_MAX];
    char opaque[DIGEST_VALUE_MAX]; /* "" when absent */
    int qop;                       /* qop offers "auth" ("auth" or "auth,auth-int") */
};

/* Reads the len bytes of a challenge's parameters (after "Digest"). 0 when it has a nonce and
 * a realm that fit; an opaque or qop that does not fit counts as absent. */
int digest_challenge_parse(const char *params, size_t len, struct digest_challenge *dc);
/* The header line name (Authorization or Proxy-Authorization), CRLF-ended, answering dc as
 * user for uri. ha1 = MD5(user:realm:password) and ha2 = MD5(method:uri) come from the caller,
 * who may keep them; nc and cnonce count only when dc offered qop. Dies when out is too small. */
void digest_authorization(char *out, size_t outlen, const char *name, const char *user,
                          const char *uri, const struct digest_challenge *dc, const char *ha1,
                          const char *ha2, uint32_t nc, const char *cnonce);

#endif
