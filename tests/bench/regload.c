/* regload: a REGISTER load generator with digest authentication, for benchmarking registrars.
 *
 * Registers N users (prefix + index, one password) against one ip:port over UDP:
 *   fresh round:   REGISTER -> 401 -> REGISTER with Authorization (qop=auth, nc=1) -> 200
 *   refresh round: REGISTER reusing the last nonce with nc+1 -> 200, or -> 401 -> REGISTER -> 200
 * keeping at most W transactions in flight. Retransmissions are ours (T1 = 500 ms doubling,
 * capped at T2 = 4 s, RFC 3261 17.1.2.2); a request unanswered after its 7th send is a failure.
 * A hard time limit stops the run whatever happens. The result is one line of key=value pairs
 * on stdout, so scripts can parse it; diagnostics go to stderr.
 *
 * Why not SIPp: it is not installable here, and one sipsak process per REGISTER measures
 * process start-up rather than the registrar. This is deliberately small: one socket, one
 * thread, no SIP stack. Responses are matched by Call-ID (which carries the user's index) and
 * CSeq, so late duplicates of an answered request are counted as strays and ignored.
 *
 * Build: cc -std=c11 -O2 -Wall -Wextra -Werror regload.c benchutil.c -o regload -lcrypto */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* recvmmsg */
#endif
#include "benchutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define T1 0.5
#define T2 4.0
#define MAX_SENDS 7
#define MAX_CHALLENGES 2 /* 401s accepted per registration before calling it a failure */
#define MSG_MAX 2048
#define RECV_BATCH 64

enum state { ST_IDLE, ST_PLAIN, ST_AUTH, ST_DONE };
enum round { ROUND_FRESH, ROUND_REFRESH, ROUND_COUNT };

struct ua {
    uint32_t cseq;
    uint32_t nc; /* last nonce-count used with nonce */
    uint8_t state;
    uint8_t challenges;
    uint8_t reused; /* this attempt started with a reused nonce */
    int slot;
    double started;
    struct digest_challenge ch; /* the last 401's */
    char ha1_realm[DIGEST_VALUE_MAX];
    char ha1[33]; /* for ha1_realm */
};

/* One transaction in flight: the exact bytes, so retransmissions are identical. */
struct slot {
    int user; /* -1 when free */
    int sends;
    double next; /* when to retransmit or give up */
    double interval;
    size_t len;
    char msg[MSG_MAX];
};

struct stats {
    long ok, failed, timeouts, reused, rechallenged;
    double first_send, last_done;
    double *lat; /* per successful registration, seconds */
    long nlat;
};

static struct {
    /* options */
    const char *target_ip, *domain, *prefix, *password, *bind_ip;
    int target_port, users, start, window, expires, refresh, sync;
    double max_seconds;
    int verbose;
    /* run state */
    int fd;
    char local_ip[64];
    int local_port;
    struct ua *ua;
    struct slot *slots;
    int inflight;
    long retransmits, stray, parse_errors, send_errors;
    struct code_counts codes;
    struct stats st[ROUND_COUNT];
    char run_id[17];
    uint64_t rng;
    char uri[136], ha2[33]; /* sip:domain, and MD5 of REGISTER:sip:domain */
} g;

/* -------- building and sending requests -------- */

/* Builds the next REGISTER for user u into slot s (a new transaction: new branch, CSeq + 1). */
static void build(int u, struct slot *s, int with_auth)
{
    struct ua *a = &g.ua[u];
    char user[160], auth[1024] = "";
    snprintf(user, sizeof user, "%s%d", g.prefix, g.start + u);
    a->cseq++;
    if (with_auth) {
        char cnonce[17];
        snprintf(cnonce, sizeof cnonce, "%016" PRIx64, rnd(&g.rng));
        a->nc++;
        digest_authorization(auth, sizeof auth, "Authorization", user, g.uri, &a->ch, a->ha1, g.ha2,
                             a->nc, cnonce);
    }
    int n = snprintf(s->msg, sizeof s->msg,
                     "REGISTER sip:%s SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%016" PRIx64 ";rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:%s@%s>;tag=%08" PRIx32 "\r\n"
                     "To: <sip:%s@%s>\r\n"
                     "Call-ID: %s-%d@regload\r\n"
                     "CSeq: %" PRIu32 " REGISTER\r\n"
                     "Contact: <sip:%s@%s:%d>\r\n"
                     "Expires: %d\r\n"
                     "%s"
                     "User-Agent: regload\r\n"
                     "Content-Length: 0\r\n\r\n",
                     g.domain, g.local_ip, g.local_port, rnd(&g.rng), user, g.domain,
                     (uint32_t)rnd(&g.rng), user, g.domain, g.run_id, u, a->cseq, user, g.local_ip,
                     g.local_port, g.expires, auth);
    if (n < 0 || (size_t)n >= sizeof s->msg)
        die("request for %s does not fit in %d bytes", user, MSG_MAX);
    s->len = (size_t)n;
    a->state = with_auth ? ST_AUTH : ST_PLAIN;
}

static void transmit(struct slot *s, double now)
{
    if (send(g.fd, s->msg, s->len, 0) < 0) {
        /* ECONNREFUSED (ICMP port unreachable) or a full buffer: the retransmission timer
         * covers it, like a lost datagram. */
        g.send_errors++;
    }
    s->sends++;
    s->next = now + s->interval;
}

static void send_new(int u, struct slot *s, int with_auth, double now)
{
    build(u, s, with_auth);
    s->sends = 0;
    s->interval = T1;
    transmit(s, now);
}

/* Starts user u's registration in the current round in a free slot. */
static void start_user(int u, enum round r, double now)
{
    struct slot *s = NULL;
    int idx = 0;
    for (; idx < g.window; idx++)
        if (g.slots[idx].user < 0) {
            s = &g.slots[idx];
            break;
        }
    if (!s)
        die("internal: no free slot");
    struct ua *a = &g.ua[u];
    s->user = u;
    a->slot = idx;
    a->challenges = 0;
    a->started = now;
    a->reused = r == ROUND_REFRESH && a->ch.nonce[0];
    if (g.st[r].first_send == 0)
        g.st[r].first_send = now;
    g.inflight++;
    send_new(u, s, a->reused, now);
}

static void finish_user(int u, enum round r, int ok, double now)
{
    struct ua *a = &g.ua[u];
    struct stats *st = &g.st[r];
    a->state = ST_DONE;
    g.slots[a->slot].user = -1;
    a->slot = -1;
    g.inflight--;
    st->last_done = now;
    if (ok) {
        st->ok++;
        st->lat[st->nlat++] = now - a->started;
        if (r == ROUND_REFRESH) {
            if (a->reused && a->challenges == 0)
                st->reused++;
            else
                st->rechallenged++;
        }
    } else {
        st->failed++;
    }
}

/* -------- parsing responses -------- */

struct response {
    int code;
    long user;
    uint32_t cseq;
    const char *www; /* the first Digest WWW-Authenticate value */
    size_t www_len;
};

static int parse_response(char *buf, size_t len, struct response *r)
{
    memset(r, 0, sizeof *r);
    r->user = -1;
    if (len < 12 || strncmp(buf, "SIP/2.0 ", 8))
        return -1;
    r->code = atoi(buf + 8);
    if (r->code < 100 || r->code > 699)
        return -1;
    /* One pass over the headers, not a sip_header() per header: this runs for every answer. */
    const char *at = memchr(buf, '\n', len);
    struct sip_line l;
    int have_cseq = 0;
    while (sip_next_line(&at, buf + len, &l)) {
        const char *v = l.value, *ve = l.value + l.value_len;
        if (sip_line_is(&l, "Call-ID", "i")) {
            /* <run>-<index>@regload */
            size_t rl = strlen(g.run_id);
            if (l.value_len > rl + 1 && !memcmp(v, g.run_id, rl) && v[rl] == '-') {
                char *e;
                long idx = strtol(v + rl + 1, &e, 10);
                if (e < ve && *e == '@' && idx >= 0 && idx < g.users)
                    r->user = idx;
            }
        } else if (sip_line_is(&l, "CSeq", NULL)) {
            r->cseq = (uint32_t)strtoul(v, NULL, 10);
            have_cseq = 1;
        } else if (sip_line_is(&l, "WWW-Authenticate", NULL) && !r->www && l.value_len > 7 &&
                   !strncasecmp(v, "Digest", 6)) {
            r->www = v + 6;
            r->www_len = l.value_len - 6;
        }
    }
    return r->user >= 0 && have_cseq ? 0 : -1;
}

/* Takes the challenge into the user's state; 0 when usable. */
static int take_challenge(struct ua *a, const struct response *r, int u)
{
    if (!r->www || digest_challenge_parse(r->www, r->www_len, &a->ch))
        return -1;
    a->nc = 0;
    if (strcmp(a->ch.realm, a->ha1_realm)) {
        snprintf(a->ha1_realm, sizeof a->ha1_realm, "%s", a->ch.realm);
        md5_fmt(a->ha1, "%s%d:%s:%s", g.prefix, g.start + u, a->ha1_realm, g.password);
    }
    return 0;
}

static void on_response(const struct response *r, enum round round, double now)
{
    struct ua *a = &g.ua[r->user];
    if (a->state != ST_PLAIN && a->state != ST_AUTH) {
        g.stray++;
        return;
    }
    if (r->cseq != a->cseq || a->slot < 0) {
        g.stray++; /* a late answer to an earlier transaction of this user */
        return;
    }
    if (r->code < 200)
        return; /* provisional: keep retransmitting (non-INVITE timers) */
    struct slot *s = &g.slots[a->slot];
    if (r->code >= 200 && r->code < 300) {
        finish_user(r->user, round, 1, now);
        return;
    }
    if (r->code == 401) {
        if (a->state == ST_AUTH || a->reused)
            a->challenges++;
        if (a->challenges >= MAX_CHALLENGES || take_challenge(a, r, r->user) != 0) {
            count_code(&g.codes, 401);
            note("user %s%ld: gave up after 401 (challenges=%d)", g.prefix, g.start + r->user,
                 a->challenges);
            finish_user(r->user, round, 0, now);
            return;
        }
        send_new(r->user, s, 1, now);
        return;
    }
    count_code(&g.codes, r->code);
    note("user %s%ld: final response %d", g.prefix, g.start + r->user, r->code);
    finish_user(r->user, round, 0, now);
}

/* -------- the loop -------- */

static void check_timers(enum round round, double now)
{
    for (int i = 0; i < g.window; i++) {
        struct slot *s = &g.slots[i];
        if (s->user < 0 || s->next > now)
            continue;
        if (s->sends >= MAX_SENDS) {
            g.st[round].timeouts++;
            note("user %s%d: no answer after %d sends", g.prefix, g.start + s->user, s->sends);
            finish_user(s->user, round, 0, now);
            continue;
        }
        s->interval = s->interval * 2 > T2 ? T2 : s->interval * 2;
        g.retransmits++;
        transmit(s, now);
    }
}

static double next_timer(void)
{
    double t = 1e300;
    for (int i = 0; i < g.window; i++)
        if (g.slots[i].user >= 0 && g.slots[i].next < t)
            t = g.slots[i].next;
    return t;
}

static void receive_all(enum round round)
{
    static char bufs[RECV_BATCH][MSG_MAX * 2];
    struct mmsghdr msgs[RECV_BATCH];
    struct iovec iov[RECV_BATCH];
    for (;;) {
        memset(msgs, 0, sizeof msgs);
        for (int i = 0; i < RECV_BATCH; i++) {
            iov[i].iov_base = bufs[i];
            iov[i].iov_len = sizeof bufs[i] - 1;
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(g.fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNREFUSED)
                die("recvmmsg: %s", strerror(errno));
            return;
        }
        double now = now_mono();
        for (int i = 0; i < n; i++) {
            struct response r;
            size_t len = msgs[i].msg_len;
            bufs[i][len] = '\0';
            if (parse_response(bufs[i], len, &r) != 0) {
                g.parse_errors++;
                continue;
            }
            on_response(&r, round, now);
        }
        if (n < RECV_BATCH)
            return;
    }
}

/* Runs one round over all users; returns 1 when the deadline cut it short. */
static int run_round(enum round round, double deadline)
{
    int next = 0;
    for (;;) {
        double now = now_mono();
        if (now >= deadline)
            break;
        while (g.inflight < g.window && next < g.users)
            start_user(next++, round, now);
        if (g.inflight == 0 && next == g.users)
            return 0;
        double wait = next_timer() - now;
        if (deadline - now < wait)
            wait = deadline - now;
        int ms = wait <= 0 ? 0 : (int)(wait * 1000) + 1;
        struct pollfd pfd = {.fd = g.fd, .events = POLLIN};
        if (poll(&pfd, 1, ms) < 0 && errno != EINTR)
            die("poll: %s", strerror(errno));
        if (pfd.revents & (POLLIN | POLLERR))
            receive_all(round);
        check_timers(round, now_mono());
    }
    /* Out of time: whatever is in flight or not started has failed. */
    double now = now_mono();
    for (int i = 0; i < g.window; i++)
        if (g.slots[i].user >= 0)
            finish_user(g.slots[i].user, round, 0, now);
    g.st[round].failed += g.users - next;
    return 1;
}

static double pct(struct stats *st, double p)
{
    if (st->nlat == 0)
        return 0;
    long i = (long)(p * (double)(st->nlat - 1) + 0.5);
    return st->lat[i] * 1000;
}

static void print_round(const char *name, struct stats *st)
{
    double secs = st->last_done > st->first_send ? st->last_done - st->first_send : 0;
    sort_doubles(st->lat, (size_t)st->nlat);
    printf(" %s_ok=%ld %s_failed=%ld %s_timeouts=%ld %s_seconds=%.3f %s_rps=%.1f %s_p50_ms=%.2f"
           " %s_p99_ms=%.2f %s_max_ms=%.2f",
           name, st->ok, name, st->failed, name, st->timeouts, name, secs, name,
           secs > 0 ? st->ok / secs : 0.0, name, pct(st, 0.5), name, pct(st, 0.99), name,
           pct(st, 1.0));
}

static void usage(void)
{
    fprintf(stderr,
            "usage: regload --target IP:PORT --domain DOMAIN --users N [options]\n"
            "  --prefix P        user names are P<index> (default \"user\")\n"
            "  --start I         first index (default 0)\n"
            "  --password PW     the password of every user (default \"secret\")\n"
            "  --window W        transactions in flight (default 200)\n"
            "  --expires S       Expires of each REGISTER (default 600)\n"
            "  --refresh         a second REGISTER per user after the fresh round\n"
            "  --max-seconds S   hard limit for the whole run (default 120)\n"
            "  --bind IP         local address (default 127.0.0.1)\n"
            "  --verbose         report the first failures on stderr\n"
            "  --sync            between rounds, print \"regload-phase fresh-done\" and wait\n"
            "                    for a line on stdin (lets a script sample CPU per round)\n"
            "Prints one line: regload users=... fresh_ok=... fresh_rps=... [refresh_...]\n"
            "Exit status: 0 all registered, 1 some failed, 2 usage or system error.\n");
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    static const struct option opts[] = {
        {"target", required_argument, NULL, 't'},
        {"domain", required_argument, NULL, 'd'},
        {"users", required_argument, NULL, 'n'},
        {"prefix", required_argument, NULL, 'p'},
        {"start", required_argument, NULL, 's'},
        {"password", required_argument, NULL, 'a'},
        {"window", required_argument, NULL, 'w'},
        {"expires", required_argument, NULL, 'x'},
        {"refresh", no_argument, NULL, 'r'},
        {"max-seconds", required_argument, NULL, 'm'},
        {"bind", required_argument, NULL, 'b'},
        {"verbose", no_argument, NULL, 'v'},
        {"sync", no_argument, NULL, 'y'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static char target[128];
    g.prefix = "user";
    g.password = "secret";
    g.bind_ip = "127.0.0.1";
    g.window = 200;
    g.expires = 600;
    g.max_seconds = 120;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': {
            snprintf(target, sizeof target, "%s", optarg);
            char *colon = strrchr(target, ':');
            if (!colon)
                die("--target wants IP:PORT");
            *colon = '\0';
            g.target_ip = target;
            g.target_port = (int)parse_num(colon + 1, "--target port", 1, 65535, NUM_INTEGER);
            break;
        }
        case 'd':
            g.domain = optarg;
            break;
        case 'n':
            g.users = (int)parse_num(optarg, "--users", 1, 10000000, NUM_INTEGER);
            break;
        case 'p':
            g.prefix = optarg;
            break;
        case 's':
            g.start = (int)parse_num(optarg, "--start", 0, 1000000000, NUM_INTEGER);
            break;
        case 'a':
            g.password = optarg;
            break;
        case 'w':
            g.window = (int)parse_num(optarg, "--window", 1, 100000, NUM_INTEGER);
            break;
        case 'x':
            g.expires = (int)parse_num(optarg, "--expires", 0, 604800, NUM_INTEGER);
            break;
        case 'r':
            g.refresh = 1;
            break;
        case 'm':
            g.max_seconds = parse_num(optarg, "--max-seconds", 1, 86400, NUM_INTEGER);
            break;
        case 'b':
            g.bind_ip = optarg;
            break;
        case 'v':
            g.verbose = 1;
            break;
        case 'y':
            g.sync = 1;
            break;
        default:
            usage();
        }
    }
    if (optind != argc || !g.target_ip || !g.domain || g.users <= 0)
        usage();
    if (strlen(g.prefix) > 64 || strlen(g.domain) > 128 || strlen(g.password) > 128)
        die("prefix, domain or password too long");
}

/* Blocking, unlike the other tools' sockets: a full send buffer waits rather than failing
 * (answers are read with MSG_DONTWAIT). Connected, so send() needs no address. */
static void open_socket(void)
{
    struct sockaddr_in local = {.sin_family = AF_INET}, remote = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, g.bind_ip, &local.sin_addr) != 1)
        die("--bind: '%s' is not an IPv4 address", g.bind_ip);
    if (inet_pton(AF_INET, g.target_ip, &remote.sin_addr) != 1)
        die("--target: '%s' is not an IPv4 address", g.target_ip);
    remote.sin_port = htons((uint16_t)g.target_port);
    g.fd = udp_open(local.sin_addr, 0);
    if (connect(g.fd, (struct sockaddr *)&remote, sizeof remote) != 0)
        die("connect %s:%d: %s", g.target_ip, g.target_port, strerror(errno));
    socklen_t sl = sizeof local;
    if (getsockname(g.fd, (struct sockaddr *)&local, &sl) != 0)
        die("getsockname: %s", strerror(errno));
    inet_ntop(AF_INET, &local.sin_addr, g.local_ip, sizeof g.local_ip);
    g.local_port = ntohs(local.sin_port);
}

int main(int argc, char **argv)
{
    bench_init("regload");
    parse_args(argc, argv);
    note_limit(g.verbose ? 20 : 0);
    g.rng = rnd_seed();
    snprintf(g.run_id, sizeof g.run_id, "%08" PRIx32, (uint32_t)rnd(&g.rng));
    snprintf(g.uri, sizeof g.uri, "sip:%s", g.domain);
    md5_fmt(g.ha2, "REGISTER:%s", g.uri);

    g.ua = calloc((size_t)g.users, sizeof *g.ua);
    g.slots = calloc((size_t)g.window, sizeof *g.slots);
    for (int r = 0; r < ROUND_COUNT; r++)
        g.st[r].lat = calloc((size_t)g.users, sizeof(double));
    if (!g.ua || !g.slots || !g.st[ROUND_FRESH].lat || !g.st[ROUND_REFRESH].lat)
        die("out of memory for %d users", g.users);
    for (int i = 0; i < g.users; i++)
        g.ua[i].slot = -1;
    for (int i = 0; i < g.window; i++)
        g.slots[i].user = -1;
    open_socket();

    double begin = now_mono(), deadline = begin + g.max_seconds;
    int cut = run_round(ROUND_FRESH, deadline);
    if (!cut && g.refresh) {
        if (g.sync) {
            char line[64];
            printf("regload-phase fresh-done\n");
            fflush(stdout);
            if (!fgets(line, sizeof line, stdin))
                die("--sync: stdin closed before the refresh round");
        }
        for (int i = 0; i < g.users; i++)
            g.ua[i].state = ST_IDLE;
        cut = run_round(ROUND_REFRESH, deadline);
    }

    printf("regload users=%d window=%d", g.users, g.window);
    print_round("fresh", &g.st[ROUND_FRESH]);
    if (g.refresh) {
        print_round("refresh", &g.st[ROUND_REFRESH]);
        printf(" refresh_reused=%ld refresh_rechallenged=%ld", g.st[ROUND_REFRESH].reused,
               g.st[ROUND_REFRESH].rechallenged);
    }
    printf(" retransmits=%ld stray=%ld parse_errors=%ld send_errors=%ld deadline_hit=%d"
           " elapsed=%.3f codes=",
           g.retransmits, g.stray, g.parse_errors, g.send_errors, cut, now_mono() - begin);
    print_codes(&g.codes);
    printf("\n");
    fflush(stdout);

    long failed = g.st[ROUND_FRESH].failed + (g.refresh ? g.st[ROUND_REFRESH].failed : 0);
    close(g.fd);
    for (int r = 0; r < ROUND_COUNT; r++)
        free(g.st[r].lat);
    free(g.slots);
    free(g.ua);
    return failed || cut ? 1 : 0;
}
