/* callload: a call generator for a B2BUA with anchored media (both ends of every call).
 *
 * Caller side (one UDP socket, the "phones" c0..cM-1, which need not be registered):
 *   INVITE (SDP) -> 100 -> 407 -> ACK -> INVITE with Proxy-Authorization -> 100/180/200 -> ACK
 *   -> RTP both ways -> BYE -> 200.
 * Callee side (another UDP socket, where the users e0..eM-1 are registered first, REGISTER ->
 * 401 -> REGISTER with digest -> 200): answers every INVITE with 180 and 200 (SDP), takes the ACK,
 * answers BYE and keepalive OPTIONS with 200.
 * Call i goes from c(B + i % M) to e(B + i % M), B = --user-base (default 0). Give every run its
 * own B: a run's callee bindings stay registered after it (an hour), and a later run calling the
 * same users would fork to the dead sockets of the earlier one too. The From display name
 * "call-<i>" is what the B2BUA hands to the callee unchanged, so the callee side knows the call
 * without a table of Call-IDs.
 *
 * Two modes:
 *   --rate R --seconds S   (calls per second) start R calls/s for S s; each call, once answered,
 *                          sends --rtp packets each way (172-byte PCMU every 20 ms) from one RTP
 *                          socket per side and hangs up after --hold-ms. A call fails on a
 *                          non-2xx final, no answer within --call-timeout, a BYE not answered
 *                          with 200, or no RTP arriving in either direction.
 *   --hold N               set up N calls at --rate with the SDP ports given by --sdp-a/--sdp-b
 *                          (round robin: an RTP generator such as rtpflood owns those ports and
 *                          sends the media), print for each established call
 *                          "callload-media <i> <relay port for A> <relay port for B>" and then
 *                          "callload-phase established ok=.. failed=..", keep the calls (answering
 *                          keepalives) until a line "bye" on stdin, then hang all up at --rate.
 * CALLLOAD_TRACE=1 in the environment prints every SIP message sent and received to stderr.
 * Retransmissions are ours (INVITE until a provisional, BYE until a final: T1 = 500 ms doubling,
 * capped at 4 s). The result is one line "callload key=value ..."; diagnostics go to stderr.
 * A hard limit (--max-seconds) ends the run whatever happens.
 *
 * Why not SIPp: not installable here (as for regload); this stays small: two sockets, one
 * thread, no SIP stack, messages parsed only as far as the flow above needs.
 *
 * Build: cc -std=c11 -O2 -Wall -Wextra -Werror callload.c benchutil.c -o callload -lcrypto */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* recvmmsg */
#endif
#include "benchutil.h"

#include <arpa/inet.h>
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
#define MSG_MAX 2048
#define RECV_BATCH 32
#define RTP_LEN 172
#define RTP_MAGIC 0x434c4c44u /* "CLLD" */
#define MAX_SDP_PORTS 1024

enum cstate { C_WAIT, C_INVITE1, C_INVITE2, C_CONFIRMED, C_BYE, C_DONE };
enum fail { F_NONE, F_CODE, F_TIMEOUT, F_BYE, F_MEDIA };

struct call {
    uint8_t state, fail, provisional, callee_answered, callee_acked, callee_byed;
    int code;  /* the final answer to the last INVITE */
    int sends; /* of the current request (INVITE or BYE) */
    double next_tx, interval, started, answered, deadline, hangup_at;
    int relay_a, relay_b; /* where the caller and the callee send RTP (from the SDPs) */
    int rtp_sent[2], rtp_recv[2];
    double next_rtp[2];
    struct digest_challenge auth; /* the 407's */
    char to_hdr[256], target[256];
    size_t len;
    char *msg; /* the request in flight, for identical retransmissions */
};

static struct {
    /* options */
    const char *target_ip, *domain, *password;
    int target_port, users, user_base, hold, rtp_packets, hold_ms, trace;
    double rate, seconds, call_timeout, max_seconds;
    int sdp_a[MAX_SDP_PORTS], sdp_b[MAX_SDP_PORTS], n_sdp_a, n_sdp_b;
    /* run state */
    int fd_uac, fd_uas, fd_rtp_a, fd_rtp_b;
    int port_uac, port_uas, port_rtp_a, port_rtp_b;
    struct sockaddr_in server;
    struct call *calls;
    int ncalls, started, lo;
    char run[9];
    uint64_t rng;
    char ha1_realm[DIGEST_VALUE_MAX];
    char (*ha1)[33]; /* per caller user, for ha1_realm */
    long ok, failed, fail_code, fail_timeout, fail_bye, fail_media, retransmits, stray, send_errors,
        options, active, peak_active;
    long rtp_sent, rtp_recv;
    struct code_counts codes;
    double *setup; /* INVITE sent -> 200, per successful call */
    long nsetup;
    double first_start, last_end;
} g;

/* -------- parsing (just enough) -------- */

struct msg {
    char *buf;
    size_t len;
    int code;        /* responses; 0 for requests */
    char method[16]; /* requests */
    char ruri[192];
    const char *body;
    size_t body_len;
};

/* Every Via line as it came, for responses (the B2BUA sends one, but be correct). */
static size_t copy_vias(const struct msg *m, char *out, size_t outlen)
{
    size_t n = 0;
    const char *at = memchr(m->buf, '\n', m->len);
    struct sip_line l;
    while (sip_next_line(&at, m->buf + m->len, &l)) {
        size_t ll = l.line_len;
        if ((ll > 4 && !strncasecmp(l.line, "Via:", 4)) ||
            (ll > 2 && !strncasecmp(l.line, "v:", 2))) {
            if (n + ll + 2 >= outlen)
                return n;
            memcpy(out + n, l.line, ll);
            memcpy(out + n + ll, "\r\n", 2);
            n += ll + 2;
        }
    }
    out[n] = '\0';
    return n;
}

static int parse(char *buf, size_t len, struct msg *m)
{
    memset(m, 0, sizeof *m);
    m->buf = buf;
    m->len = len;
    buf[len] = '\0';
    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep)
        return -1;
    m->body = sep + 4;
    m->body_len = len - (size_t)(m->body - buf);
    if (!strncmp(buf, "SIP/2.0 ", 8)) {
        m->code = atoi(buf + 8);
        return m->code >= 100 && m->code <= 699 ? 0 : -1;
    }
    return sscanf(buf, "%15s %191s SIP/2.0", m->method, m->ruri) == 2 ? 0 : -1;
}

/* The port of the first m=audio line (the address is 127.0.0.1 everywhere here). */
static int sdp_port(const struct msg *m)
{
    const char *p = m->body;
    while (p && p < m->body + m->body_len) {
        if (!strncmp(p, "m=audio ", 8))
            return atoi(p + 8);
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return 0;
}

/* "call-<i>" in a From header's display name; -1 when absent. */
static int call_index_from(const char *from)
{
    const char *p = strstr(from, "\"call-");
    if (!p)
        return -1;
    char *end;
    long i = strtol(p + 6, &end, 10);
    return *end == '"' && i >= 0 && i < g.ncalls ? (int)i : -1;
}

/* -------- sending -------- */

static void send_to(int fd, const char *text, size_t len, const struct sockaddr_in *to)
{
    if (g.trace && (fd == g.fd_uac || fd == g.fd_uas))
        fprintf(stderr, "--> %s to %d\n%.*s\n", fd == g.fd_uac ? "caller" : "callee",
                ntohs(to->sin_port), (int)len, text);
    if (sendto(fd, text, len, 0, (const struct sockaddr *)to, sizeof *to) != (ssize_t)len)
        g.send_errors++;
}

static size_t sdp_body(char *out, size_t outlen, int i, int port)
{
    int n = snprintf(out, outlen,
                     "v=0\r\no=- %d 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                     "m=audio %d RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n"
                     "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
                     "a=sendrecv\r\n",
                     i + 1, port);
    return n > 0 && (size_t)n < outlen ? (size_t)n : 0;
}

static int caller_sdp_port(int i)
{
    return g.n_sdp_a ? g.sdp_a[i % g.n_sdp_a] : g.port_rtp_a;
}

static int callee_sdp_port(int i)
{
    return g.n_sdp_b ? g.sdp_b[i % g.n_sdp_b] : g.port_rtp_b;
}

static void transmit(struct call *c, double now)
{
    send_to(g.fd_uac, c->msg, c->len, &g.server);
    c->sends++;
    c->next_tx = now + c->interval;
    c->interval = c->interval * 2 > T2 ? T2 : c->interval * 2;
}

static void send_request(struct call *c, double now)
{
    c->sends = 0;
    c->interval = T1;
    transmit(c, now);
}

static void build_invite(int i, int with_auth)
{
    struct call *c = &g.calls[i];
    int u = i % g.users, un = g.user_base + u; /* slot, and the number in the name */
    char sdp[512], auth[1024] = "";
    size_t sl = sdp_body(sdp, sizeof sdp, i, caller_sdp_port(i));
    if (with_auth) {
        if (strcmp(c->auth.realm, g.ha1_realm)) { /* one realm (the domain) in practice */
            snprintf(g.ha1_realm, sizeof g.ha1_realm, "%s", c->auth.realm);
            for (int k = 0; k < g.users; k++)
                md5_fmt(g.ha1[k], "c%d:%s:%s", g.user_base + k, g.ha1_realm, g.password);
        }
        char user[16], uri[256], ha2[33], cnonce[17];
        snprintf(user, sizeof user, "c%d", un);
        snprintf(uri, sizeof uri, "sip:e%d@%s", un, g.domain);
        snprintf(cnonce, sizeof cnonce, "%016" PRIx64, rnd(&g.rng));
        md5_fmt(ha2, "INVITE:%s", uri);
        digest_authorization(auth, sizeof auth, "Proxy-Authorization", user, uri, &c->auth,
                             g.ha1[u], ha2, 1, cnonce);
    }
    int n = snprintf(c->msg, MSG_MAX,
                     "INVITE sip:e%d@%s SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s.%d.%d;rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: \"call-%d\" <sip:c%d@%s>;tag=f%s.%d\r\n"
                     "To: <sip:e%d@%s>\r\n"
                     "Call-ID: %s-%d@callload\r\n"
                     "CSeq: %d INVITE\r\n"
                     "Contact: <sip:c%d@127.0.0.1:%d>\r\n"
                     "%s"
                     "Content-Type: application/sdp\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     un, g.domain, g.port_uac, g.run, i, with_auth ? 2 : 1, i, un, g.domain, g.run,
                     i, un, g.domain, g.run, i, with_auth ? 2 : 1, un, g.port_uac, auth, sl, sdp);
    if (n <= 0 || n >= MSG_MAX)
        die("INVITE too long");
    c->len = (size_t)n;
}

/* ACK for a non-2xx (same branch as the INVITE) or for the 2xx (new branch, to the Contact). */
static void send_ack(int i, const char *to_hdr, int cseq, int for_2xx)
{
    struct call *c = &g.calls[i];
    int u = i % g.users;
    char buf[1024], ruri[256];
    u += g.user_base;
    if (for_2xx)
        snprintf(ruri, sizeof ruri, "%s", c->target);
    else
        snprintf(ruri, sizeof ruri, "sip:e%d@%s", u, g.domain);
    int n = snprintf(buf, sizeof buf,
                     "ACK %s SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s.%d.%s;rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: \"call-%d\" <sip:c%d@%s>;tag=f%s.%d\r\n"
                     "To: %s\r\n"
                     "Call-ID: %s-%d@callload\r\n"
                     "CSeq: %d ACK\r\n"
                     "Content-Length: 0\r\n\r\n",
                     ruri, g.port_uac, g.run, i, for_2xx ? "a" : "1", i, u, g.domain, g.run, i,
                     to_hdr, g.run, i, cseq);
    if (n > 0 && n < (int)sizeof buf)
        send_to(g.fd_uac, buf, (size_t)n, &g.server);
}

static void build_bye(int i)
{
    struct call *c = &g.calls[i];
    int u = g.user_base + i % g.users;
    int n =
        snprintf(c->msg, MSG_MAX,
                 "BYE %s SIP/2.0\r\n"
                 "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s.%d.b;rport\r\n"
                 "Max-Forwards: 70\r\n"
                 "From: \"call-%d\" <sip:c%d@%s>;tag=f%s.%d\r\n"
                 "To: %s\r\n"
                 "Call-ID: %s-%d@callload\r\n"
                 "CSeq: 3 BYE\r\n"
                 "Content-Length: 0\r\n\r\n",
                 c->target, g.port_uac, g.run, i, i, u, g.domain, g.run, i, c->to_hdr, g.run, i);
    if (n <= 0 || n >= MSG_MAX)
        die("BYE too long");
    c->len = (size_t)n;
}

/* A response from the callee side (or to an OPTIONS/BYE on either side). */
static void respond(int fd, const struct msg *req, const struct sockaddr_in *to, int code,
                    const char *phrase, const char *to_tag, int contact_port,
                    const char *contact_user, const char *body, size_t body_len)
{
    char vias[1024], from[256], tohdr[256], callid[192], cseq[64], buf[MSG_MAX];
    copy_vias(req, vias, sizeof vias);
    if (sip_header(req->buf, req->len, "From", "f", from, sizeof from) ||
        sip_header(req->buf, req->len, "To", "t", tohdr, sizeof tohdr) ||
        sip_header(req->buf, req->len, "Call-ID", "i", callid, sizeof callid) ||
        sip_header(req->buf, req->len, "CSeq", NULL, cseq, sizeof cseq))
        return;
    char tag[80] = "";
    if (to_tag && !strstr(tohdr, "tag="))
        snprintf(tag, sizeof tag, ";tag=%s", to_tag);
    char contact[160] = "";
    if (contact_port)
        snprintf(contact, sizeof contact, "Contact: <sip:%s@127.0.0.1:%d>\r\n", contact_user,
                 contact_port);
    int n = snprintf(buf, sizeof buf,
                     "SIP/2.0 %d %s\r\n%sFrom: %s\r\nTo: %s%s\r\nCall-ID: %s\r\nCSeq: %s\r\n%s"
                     "%sContent-Length: %zu\r\n\r\n%.*s",
                     code, phrase, vias, from, tohdr, tag, callid, cseq, contact,
                     body_len ? "Content-Type: application/sdp\r\n" : "", body_len, (int)body_len,
                     body ? body : "");
    if (n > 0 && n < (int)sizeof buf)
        send_to(fd, buf, (size_t)n, to);
}

/* -------- calls -------- */

static void finish(int i, int fail, double now)
{
    struct call *c = &g.calls[i];
    if (c->state == C_DONE)
        return;
    if (!fail && g.rtp_packets && !g.hold && (!c->rtp_recv[0] || !c->rtp_recv[1]))
        fail = F_MEDIA;
    c->state = C_DONE;
    c->fail = (uint8_t)fail;
    g.active--;
    g.last_end = now;
    if (!fail) {
        g.ok++;
    } else {
        g.failed++;
        if (fail == F_CODE)
            g.fail_code++;
        else if (fail == F_TIMEOUT)
            g.fail_timeout++;
        else if (fail == F_BYE)
            g.fail_bye++;
        else
            g.fail_media++;
        note("call %d failed: %s (code %d, rtp %d/%d)", i,
             fail == F_CODE      ? "final response"
             : fail == F_TIMEOUT ? "timeout"
             : fail == F_BYE     ? "BYE"
                                 : "no media",
             c->code, c->rtp_recv[0], c->rtp_recv[1]);
    }
    free(c->msg);
    c->msg = NULL;
}

static void start_call(int i, double now)
{
    struct call *c = &g.calls[i];
    c->msg = malloc(MSG_MAX);
    if (!c->msg)
        die("out of memory");
    c->started = now;
    c->deadline = now + g.call_timeout;
    c->hangup_at = 1e300;
    c->state = C_INVITE1;
    g.started = i + 1;
    if (!g.first_start)
        g.first_start = now;
    g.active++;
    if (g.active > g.peak_active)
        g.peak_active = g.active;
    build_invite(i, 0);
    send_request(c, now);
}

static void hang_up(int i, double now)
{
    struct call *c = &g.calls[i];
    c->state = C_BYE;
    c->deadline = now + g.call_timeout;
    build_bye(i);
    send_request(c, now);
}

static void send_rtp(int i, int dir)
{
    struct call *c = &g.calls[i];
    unsigned char p[RTP_LEN];
    memset(p, 0xff, sizeof p);
    uint32_t ssrc = (uint32_t)(2 * i + dir), magic = htonl(RTP_MAGIC), idx = htonl((uint32_t)i);
    uint16_t seq = htons((uint16_t)c->rtp_sent[dir]);
    uint32_t ts = htonl((uint32_t)c->rtp_sent[dir] * 160u), s = htonl(ssrc);
    p[0] = 0x80;
    p[1] = 0;
    memcpy(p + 2, &seq, 2);
    memcpy(p + 4, &ts, 4);
    memcpy(p + 8, &s, 4);
    memcpy(p + 12, &magic, 4);
    memcpy(p + 16, &idx, 4);
    p[20] = (unsigned char)dir;
    struct sockaddr_in to = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                             .sin_port = htons((uint16_t)(dir == 0 ? c->relay_a : c->relay_b))};
    send_to(dir == 0 ? g.fd_rtp_a : g.fd_rtp_b, (const char *)p, sizeof p, &to);
    c->rtp_sent[dir]++;
    g.rtp_sent++;
}

static void on_caller_response(struct msg *m, double now)
{
    char callid[192], cseq[64];
    if (sip_header(m->buf, m->len, "Call-ID", "i", callid, sizeof callid) ||
        sip_header(m->buf, m->len, "CSeq", NULL, cseq, sizeof cseq)) {
        g.stray++;
        return;
    }
    size_t rl = strlen(g.run);
    char *end;
    long i =
        strncmp(callid, g.run, rl) || callid[rl] != '-' ? -1 : strtol(callid + rl + 1, &end, 10);
    if (i < 0 || i >= g.started) {
        g.stray++;
        return;
    }
    struct call *c = &g.calls[i];
    int n = atoi(cseq);
    int is_invite = strstr(cseq, "INVITE") != NULL;
    if (c->state == C_DONE) {
        if (is_invite && m->code >= 200 && m->code < 300 && !c->fail) {
            char to[256];
            if (!sip_header(m->buf, m->len, "To", "t", to, sizeof to))
                send_ack((int)i, to, n, 1); /* our ACK was lost */
        }
        return;
    }
    if (is_invite && m->code < 200) {
        if (m->code > 100 || c->state == C_INVITE1 || c->state == C_INVITE2)
            c->provisional = 1;
        return;
    }
    if (is_invite && n == 1 && m->code == 407 && c->state == C_INVITE1) {
        char to[256], ch[512];
        count_code(&g.codes, 407);
        if (sip_header(m->buf, m->len, "To", "t", to, sizeof to) ||
            sip_header(m->buf, m->len, "Proxy-Authenticate", NULL, ch, sizeof ch) ||
            strncasecmp(ch, "Digest", 6) ||
            digest_challenge_parse(ch + 6, strlen(ch + 6), &c->auth)) {
            c->code = 407;
            finish((int)i, F_CODE, now);
            return;
        }
        send_ack((int)i, to, 1, 0);
        c->state = C_INVITE2;
        c->provisional = 0;
        build_invite((int)i, 1);
        send_request(c, now);
        return;
    }
    if (is_invite && n == 1) {
        if (c->state == C_INVITE1) { /* anything but 407 to the first INVITE */
            c->code = m->code;
            count_code(&g.codes, m->code);
            finish((int)i, F_CODE, now);
            return;
        }
        if (m->code >= 300) { /* the ACK for a retransmitted 407 */
            char to[256];
            if (!sip_header(m->buf, m->len, "To", "t", to, sizeof to))
                send_ack((int)i, to, 1, 0);
        }
        return;
    }
    if (is_invite && n == 2) {
        char to[256];
        if (sip_header(m->buf, m->len, "To", "t", to, sizeof to))
            return;
        if (c->state != C_INVITE2) {
            if (m->code < 300 && c->state >= C_CONFIRMED)
                send_ack((int)i, c->to_hdr, 2, 1); /* a retransmitted 2xx: our ACK was lost */
            else if (m->code >= 300)
                send_ack((int)i, to, 2, 0);
            return;
        }
        c->code = m->code;
        count_code(&g.codes, m->code);
        if (m->code >= 300) {
            send_ack((int)i, to, 2, 0);
            finish((int)i, F_CODE, now);
            return;
        }
        char contact[256];
        snprintf(c->to_hdr, sizeof c->to_hdr, "%s", to);
        if (sip_header(m->buf, m->len, "Contact", "m", contact, sizeof contact) == 0) {
            char *lt = strchr(contact, '<'), *gt = lt ? strchr(lt, '>') : NULL;
            if (lt && gt) {
                *gt = '\0';
                snprintf(c->target, sizeof c->target, "%s", lt + 1);
            } else {
                snprintf(c->target, sizeof c->target, "%s", contact);
            }
        } else {
            snprintf(c->target, sizeof c->target, "sip:e%d@%s", g.user_base + (int)(i % g.users),
                     g.domain);
        }
        c->relay_a = sdp_port(m);
        send_ack((int)i, c->to_hdr, 2, 1);
        c->state = C_CONFIRMED;
        c->answered = now;
        g.setup[g.nsetup++] = now - c->started;
        if (g.hold) {
            c->hangup_at = 1e300;
        } else {
            c->hangup_at = now + g.hold_ms / 1000.0;
            c->next_rtp[0] = now;
        }
        return;
    }
    if (strstr(cseq, "BYE") && m->code >= 200 && c->state == C_BYE) {
        c->code = m->code;
        finish((int)i, m->code < 300 ? F_NONE : F_BYE, now);
        return;
    }
}

static void on_callee_request(struct msg *m, const struct sockaddr_in *from, double now)
{
    char fromhdr[256];
    if (!strcmp(m->method, "OPTIONS")) {
        g.options++;
        respond(g.fd_uas, m, from, 200, "OK", NULL, 0, NULL, NULL, 0);
        return;
    }
    if (!strcmp(m->method, "ACK") || !strcmp(m->method, "BYE") || !strcmp(m->method, "INVITE")) {
        int i = sip_header(m->buf, m->len, "From", "f", fromhdr, sizeof fromhdr)
                    ? -1
                    : call_index_from(fromhdr);
        if (i < 0 || i >= g.started) {
            g.stray++;
            note("callee: %s for an unknown call (From %s)", m->method, fromhdr);
            if (strcmp(m->method, "ACK"))
                respond(g.fd_uas, m, from, 481, "Call/Transaction Does Not Exist", "x", 0, NULL,
                        NULL, 0);
            return;
        }
        struct call *c = &g.calls[i];
        char tag[32], user[16];
        snprintf(tag, sizeof tag, "t%s.%d", g.run, i);
        snprintf(user, sizeof user, "e%d", g.user_base + i % g.users);
        if (!strcmp(m->method, "INVITE")) {
            if (!c->callee_answered) {
                c->relay_b = sdp_port(m);
                respond(g.fd_uas, m, from, 180, "Ringing", tag, g.port_uas, user, NULL, 0);
            }
            char sdp[512];
            size_t sl = sdp_body(sdp, sizeof sdp, i, callee_sdp_port(i));
            respond(g.fd_uas, m, from, 200, "OK", tag, g.port_uas, user, sdp, sl);
            c->callee_answered = 1;
        } else if (!strcmp(m->method, "ACK")) {
            if (!c->callee_acked && !g.hold)
                c->next_rtp[1] = now;
            c->callee_acked = 1;
        } else {
            c->callee_byed = 1;
            respond(g.fd_uas, m, from, 200, "OK", NULL, 0, NULL, NULL, 0);
        }
        return;
    }
    respond(g.fd_uas, m, from, 405, "Method Not Allowed", "x", 0, NULL, NULL, 0);
}

static void receive_sip(int fd, int callee_side)
{
    static char buf[RECV_BATCH][MSG_MAX + 1];
    struct iovec iov[RECV_BATCH];
    struct sockaddr_in from[RECV_BATCH];
    struct mmsghdr msgs[RECV_BATCH];
    for (;;) {
        for (int j = 0; j < RECV_BATCH; j++) {
            iov[j] = (struct iovec){buf[j], MSG_MAX};
            msgs[j].msg_hdr = (struct msghdr){.msg_name = &from[j],
                                              .msg_namelen = sizeof from[j],
                                              .msg_iov = &iov[j],
                                              .msg_iovlen = 1};
        }
        int r = recvmmsg(fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
        if (r <= 0)
            return;
        double now = now_mono();
        for (int j = 0; j < r; j++) {
            struct msg m;
            if (g.trace)
                fprintf(stderr, "<-- %s\n%.*s\n", callee_side ? "callee" : "caller",
                        (int)msgs[j].msg_len, buf[j]);
            if (parse(buf[j], msgs[j].msg_len, &m) != 0) {
                g.stray++;
                continue;
            }
            if (callee_side) {
                if (m.code)
                    g.stray++; /* we send no requests from the callee side during calls */
                else
                    on_callee_request(&m, &from[j], now);
            } else if (m.code) {
                on_caller_response(&m, now);
            } else if (!strcmp(m.method, "ACK")) {
                continue;
            } else { /* OPTIONS, or a BYE from the node (media timeout): answer, count */
                if (strcmp(m.method, "OPTIONS"))
                    note("caller side got %s", m.method);
                respond(fd, &m, &from[j], 200, "OK", NULL, 0, NULL, NULL, 0);
            }
        }
        if (r < RECV_BATCH)
            return;
    }
}

static void receive_rtp(int fd, int want_dir)
{
    unsigned char buf[RECV_BATCH][256];
    struct iovec iov[RECV_BATCH];
    struct mmsghdr msgs[RECV_BATCH];
    for (;;) {
        for (int j = 0; j < RECV_BATCH; j++) {
            iov[j] = (struct iovec){buf[j], sizeof buf[j]};
            msgs[j].msg_hdr = (struct msghdr){.msg_iov = &iov[j], .msg_iovlen = 1};
        }
        int r = recvmmsg(fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
        if (r <= 0)
            return;
        for (int j = 0; j < r; j++) {
            uint32_t magic, idx;
            memcpy(&magic, buf[j] + 12, 4);
            memcpy(&idx, buf[j] + 16, 4);
            idx = ntohl(idx);
            if (msgs[j].msg_len != RTP_LEN || ntohl(magic) != RTP_MAGIC ||
                idx >= (uint32_t)g.started || buf[j][20] != want_dir)
                continue;
            g.calls[idx].rtp_recv[want_dir]++;
            g.rtp_recv++;
        }
        if (r < RECV_BATCH)
            return;
    }
}

/* Timers of every call not yet done: retransmissions, timeouts, RTP, hang-up. O(active). */
static double run_timers(double now)
{
    double next = now + 0.005;
    while (g.lo < g.started && g.calls[g.lo].state == C_DONE)
        g.lo++;
    for (int i = g.lo; i < g.started; i++) {
        struct call *c = &g.calls[i];
        if (c->state == C_DONE)
            continue;
        if (now >= c->deadline && c->state != C_CONFIRMED) {
            finish(i, c->state == C_BYE ? F_BYE : F_TIMEOUT, now);
            continue;
        }
        if ((c->state == C_INVITE1 || c->state == C_INVITE2) && !c->provisional &&
            now >= c->next_tx) {
            transmit(c, now);
            g.retransmits++;
        } else if (c->state == C_BYE && now >= c->next_tx) {
            transmit(c, now);
            g.retransmits++;
        }
        if (c->state == C_CONFIRMED) {
            for (int dir = 0; dir < 2; dir++)
                if (c->rtp_sent[dir] < g.rtp_packets && c->next_rtp[dir] &&
                    now >= c->next_rtp[dir] && (dir == 0 ? c->relay_a : c->relay_b)) {
                    send_rtp(i, dir);
                    c->next_rtp[dir] += 0.020;
                }
            if (now >= c->hangup_at)
                hang_up(i, now);
        }
        double t = c->state == C_CONFIRMED ? c->hangup_at : c->next_tx;
        if (t < next)
            next = t;
    }
    return next;
}

/* -------- registering the callee users -------- */

static int wait_response(int fd, const char *callid, char *buf, struct msg *m, double timeout)
{
    double deadline = now_mono() + timeout;
    for (;;) {
        double left = deadline - now_mono();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
            continue;
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, buf, MSG_MAX, 0, (struct sockaddr *)&from, &fl);
        if (n <= 0 || parse(buf, (size_t)n, m) != 0)
            continue;
        char cid[192];
        if (!m->code) {
            respond(fd, m, &from, 200, "OK", NULL, 0, NULL, NULL, 0); /* keepalive OPTIONS */
            continue;
        }
        if (!sip_header(m->buf, m->len, "Call-ID", "i", cid, sizeof cid) && !strcmp(cid, callid) &&
            m->code >= 200)
            return 0;
    }
}

static void register_callees(void)
{
    static char buf[MSG_MAX + 1];
    for (int u = g.user_base; u < g.user_base + g.users; u++) {
        char callid[64], auth[1024] = "", req[MSG_MAX];
        snprintf(callid, sizeof callid, "reg-%s-%d@callload", g.run, u);
        int done = 0;
        for (int cseq = 1; cseq <= 4 && !done; cseq++) {
            int n =
                snprintf(req, sizeof req,
                         "REGISTER sip:%s SIP/2.0\r\n"
                         "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s.r%d.%d;rport\r\n"
                         "Max-Forwards: 70\r\nFrom: <sip:e%d@%s>;tag=r%d\r\nTo: <sip:e%d@%s>\r\n"
                         "Call-ID: %s\r\nCSeq: %d REGISTER\r\n"
                         "Contact: <sip:e%d@127.0.0.1:%d>\r\nExpires: 3600\r\n%s"
                         "Content-Length: 0\r\n\r\n",
                         g.domain, g.port_uas, g.run, u, cseq, u, g.domain, u, u, g.domain, callid,
                         cseq, u, g.port_uas, auth);
            struct msg m;
            send_to(g.fd_uas, req, (size_t)n, &g.server);
            if (wait_response(g.fd_uas, callid, buf, &m, 2.0) != 0)
                continue; /* a retransmission, as a new transaction */
            if (m.code >= 200 && m.code < 300) {
                done = 1;
            } else if (m.code == 401) {
                char ch[512], user[16], uri[256], ha1[33], ha2[33];
                struct digest_challenge dc;
                if (sip_header(m.buf, m.len, "WWW-Authenticate", NULL, ch, sizeof ch) ||
                    strncasecmp(ch, "Digest", 6) ||
                    digest_challenge_parse(ch + 6, strlen(ch + 6), &dc))
                    die("REGISTER e%d: unusable challenge", u);
                snprintf(user, sizeof user, "e%d", u);
                snprintf(uri, sizeof uri, "sip:%s", g.domain);
                md5_fmt(ha1, "%s:%s:%s", user, dc.realm, g.password);
                md5_fmt(ha2, "REGISTER:%s", uri);
                digest_authorization(auth, sizeof auth, "Authorization", user, uri, &dc, ha1, ha2,
                                     1, "0a4f113b");
            } else {
                die("REGISTER e%d: %d", u, m.code);
            }
        }
        if (!done)
            die("REGISTER e%d: no 200 after 4 attempts", u);
    }
}

/* -------- the run -------- */

static double pct(double p)
{
    if (!g.nsetup)
        return 0;
    size_t k = (size_t)(p * (double)(g.nsetup - 1));
    return g.setup[k] * 1000;
}

/* Runs until every started call is done (or the deadline); stdin "bye" ends a hold. */
static void loop(double t0, double deadline, int *holding)
{
    struct pollfd pfd[5] = {{.fd = g.fd_uac, .events = POLLIN},
                            {.fd = g.fd_uas, .events = POLLIN},
                            {.fd = g.fd_rtp_a, .events = POLLIN},
                            {.fd = g.fd_rtp_b, .events = POLLIN},
                            {.fd = 0, .events = POLLIN}};
    int announced = 0;
    double bye_t0 = 0;
    int bye_next = 0;
    for (;;) {
        double now = now_mono();
        if (now >= deadline)
            return;
        while (g.started < g.ncalls && now >= t0 + g.started / g.rate)
            start_call(g.started, now);
        if (*holding && bye_t0) {
            while (bye_next < g.started && now >= bye_t0 + bye_next / g.rate) {
                if (g.calls[bye_next].state == C_CONFIRMED)
                    hang_up(bye_next, now);
                bye_next++;
            }
        }
        double next = run_timers(now);
        if (g.started == g.ncalls && g.lo >= g.ncalls && now >= g.last_end + 0.3)
            return; /* 300 ms more for the callee side's BYEs from the node */
        if (*holding && !announced && g.started == g.ncalls) {
            int settled = 1;
            for (int i = g.lo; i < g.ncalls && settled; i++)
                settled = g.calls[i].state == C_CONFIRMED || g.calls[i].state == C_DONE;
            if (settled) {
                long up = 0;
                for (int i = 0; i < g.ncalls; i++)
                    if (g.calls[i].state == C_CONFIRMED) {
                        printf("callload-media %d %d %d\n", i, g.calls[i].relay_a,
                               g.calls[i].relay_b);
                        up++;
                    }
                sort_doubles(g.setup, (size_t)g.nsetup);
                printf("callload-phase established ok=%ld failed=%ld setup_p99_ms=%.1f\n", up,
                       g.failed, pct(0.99));
                fflush(stdout);
                announced = 1;
            }
        }
        if (g.started < g.ncalls && t0 + g.started / g.rate < next)
            next = t0 + g.started / g.rate;
        if (*holding && bye_t0 && bye_next < g.started && bye_t0 + bye_next / g.rate < next)
            next = bye_t0 + bye_next / g.rate;
        double wait = next - now_mono();
        int ms = wait <= 0 ? 0 : (int)(wait * 1000) + 1;
        if (ms > 5)
            ms = 5;
        int nfds = *holding && announced && !bye_t0 ? 5 : 4;
        if (poll(pfd, (nfds_t)nfds, ms) <= 0)
            continue;
        if (pfd[0].revents & POLLIN)
            receive_sip(g.fd_uac, 0);
        if (pfd[1].revents & POLLIN)
            receive_sip(g.fd_uas, 1);
        if (pfd[2].revents & POLLIN)
            receive_rtp(g.fd_rtp_a, 1);
        if (pfd[3].revents & POLLIN)
            receive_rtp(g.fd_rtp_b, 0);
        if (nfds == 5 && (pfd[4].revents & (POLLIN | POLLHUP))) {
            char line[64];
            if (!fgets(line, sizeof line, stdin) || !strncmp(line, "bye", 3)) {
                bye_t0 = now_mono();
                for (int i = 0; i < g.ncalls; i++) /* the callee side's BYE comes from the node */
                    if (g.calls[i].state == C_CONFIRMED)
                        g.calls[i].deadline = 1e300;
            }
        }
    }
}

static void usage(void)
{
    fprintf(stderr,
            "usage: callload --target IP:PORT --domain D --password P [--users M] [--user-base B]\n"
            "                (--rate R --seconds S [--rtp N] [--hold-ms MS] | --hold N --rate R\n"
            "                 [--sdp-a P,P,...] [--sdp-b P,P,...])\n"
            "                [--call-timeout S] [--max-seconds S]\n");
    exit(2);
}

static int port_list(const char *s, int *out)
{
    int n = 0;
    char *copy = strdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t && n < MAX_SDP_PORTS;
         t = strtok_r(NULL, ",", &save))
        out[n++] = (int)parse_num(t, "port", 1, 65535, NUM_REAL);
    free(copy);
    return n;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"target", required_argument, 0, 't'},
                                         {"domain", required_argument, 0, 'd'},
                                         {"password", required_argument, 0, 'p'},
                                         {"users", required_argument, 0, 'u'},
                                         {"rate", required_argument, 0, 'r'},
                                         {"seconds", required_argument, 0, 's'},
                                         {"rtp", required_argument, 0, 'R'},
                                         {"hold-ms", required_argument, 0, 'H'},
                                         {"hold", required_argument, 0, 'N'},
                                         {"sdp-a", required_argument, 0, 'a'},
                                         {"sdp-b", required_argument, 0, 'b'},
                                         {"call-timeout", required_argument, 0, 'T'},
                                         {"max-seconds", required_argument, 0, 'L'},
                                         {"user-base", required_argument, 0, 'U'},
                                         {0, 0, 0, 0}};
    g.users = 100;
    g.rate = 10;
    g.seconds = 5;
    g.rtp_packets = 5;
    g.hold_ms = 200;
    g.call_timeout = 8;
    g.max_seconds = 300;
    g.trace = getenv("CALLLOAD_TRACE") != NULL; /* every SIP message to stderr */
    bench_init("callload");
    note_limit(20);
    char target[64] = "";
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            snprintf(target, sizeof target, "%s", optarg);
            break;
        case 'd':
            g.domain = optarg;
            break;
        case 'p':
            g.password = optarg;
            break;
        case 'u':
            g.users = (int)parse_num(optarg, "--users", 1, 100000, NUM_REAL);
            break;
        case 'U':
            g.user_base = (int)parse_num(optarg, "--user-base", 0, 10000000, NUM_REAL);
            break;
        case 'r':
            g.rate = parse_num(optarg, "--rate", 0.1, 100000, NUM_REAL);
            break;
        case 's':
            g.seconds = parse_num(optarg, "--seconds", 0.1, 3600, NUM_REAL);
            break;
        case 'R':
            g.rtp_packets = (int)parse_num(optarg, "--rtp", 0, 100000, NUM_REAL);
            break;
        case 'H':
            g.hold_ms = (int)parse_num(optarg, "--hold-ms", 0, 3600000, NUM_REAL);
            break;
        case 'N':
            g.hold = (int)parse_num(optarg, "--hold", 1, 100000, NUM_REAL);
            break;
        case 'a':
            g.n_sdp_a = port_list(optarg, g.sdp_a);
            break;
        case 'b':
            g.n_sdp_b = port_list(optarg, g.sdp_b);
            break;
        case 'T':
            g.call_timeout = parse_num(optarg, "--call-timeout", 0.5, 600, NUM_REAL);
            break;
        case 'L':
            g.max_seconds = parse_num(optarg, "--max-seconds", 1, 7200, NUM_REAL);
            break;
        default:
            usage();
        }
    }
    char *colon = strrchr(target, ':');
    if (!colon || !g.domain || !g.password)
        usage();
    *colon = '\0';
    g.server = (struct sockaddr_in){
        .sin_family = AF_INET,
        .sin_port = htons((uint16_t)parse_num(colon + 1, "port", 1, 65535, NUM_REAL))};
    if (inet_pton(AF_INET, target, &g.server.sin_addr) != 1)
        die("--target: '%s' is not an IPv4 address", target);
    alarm((unsigned)g.max_seconds + 5); /* the hard limit, should the loop's own fail */

    g.rng = rnd_seed();
    snprintf(g.run, sizeof g.run, "%08" PRIx32, (uint32_t)rnd(&g.rng));
    g.ncalls = g.hold ? g.hold : (int)(g.rate * g.seconds + 0.5);
    g.calls = calloc((size_t)g.ncalls, sizeof *g.calls);
    g.setup = calloc((size_t)g.ncalls, sizeof(double));
    g.ha1 = calloc((size_t)g.users, sizeof *g.ha1);
    if (!g.calls || !g.setup || !g.ha1)
        die("out of memory for %d calls", g.ncalls);
    struct in_addr lo = {htonl(INADDR_LOOPBACK)};
    g.fd_uac = udp_open(lo, SOCK_NONBLOCK);
    g.port_uac = udp_port(g.fd_uac);
    g.fd_uas = udp_open(lo, SOCK_NONBLOCK);
    g.port_uas = udp_port(g.fd_uas);
    g.fd_rtp_a = udp_open(lo, SOCK_NONBLOCK);
    g.port_rtp_a = udp_port(g.fd_rtp_a);
    g.fd_rtp_b = udp_open(lo, SOCK_NONBLOCK);
    g.port_rtp_b = udp_port(g.fd_rtp_b);

    double begin = now_mono(), deadline = begin + g.max_seconds;
    register_callees();
    printf("callload-phase registered users=%d\n", g.users);
    fflush(stdout);
    double t0 = now_mono();
    int holding = g.hold > 0;
    loop(t0, deadline, &holding);
    double end = now_mono();
    for (int i = 0; i < g.started; i++)
        if (g.calls[i].state != C_DONE)
            finish(i,
                   g.calls[i].state == C_BYE || g.calls[i].state == C_CONFIRMED ? F_BYE : F_TIMEOUT,
                   end);
    long not_started = g.ncalls - g.started;
    sort_doubles(g.setup, (size_t)g.nsetup);
    long callee_byes = 0;
    for (int i = 0; i < g.started; i++)
        callee_byes += g.calls[i].callee_byed;
    double span = g.last_end > g.first_start ? g.last_end - g.first_start : 0;
    printf("callload calls=%d rate=%.1f ok=%ld failed=%ld not_started=%ld fail_code=%ld "
           "fail_timeout=%ld fail_bye=%ld fail_media=%ld callee_byes=%ld setup_p50_ms=%.1f "
           "setup_p99_ms=%.1f setup_max_ms=%.1f rtp_sent=%ld rtp_received=%ld retransmits=%ld "
           "stray=%ld send_errors=%ld options=%ld peak_active=%ld span=%.3f deadline_hit=%d codes=",
           g.ncalls, g.rate, g.ok, g.failed, not_started, g.fail_code, g.fail_timeout, g.fail_bye,
           g.fail_media, callee_byes, pct(0.5), pct(0.99), pct(1.0), g.rtp_sent, g.rtp_recv,
           g.retransmits, g.stray, g.send_errors, g.options, g.peak_active, span, end >= deadline);
    print_codes(&g.codes);
    printf("\n");
    fflush(stdout);
    (void)begin;
    return g.failed || not_started ? 1 : 0;
}
