/* What the call set-up files share (b2bua.c: extensions and the common machinery,
 * b2bua_gateway.c: calls to and from gateways). Internal to node/sip. */
#ifndef TANDEM_B2BUA_H
#define TANDEM_B2BUA_H

#include "sip/auth.h"
#include "sip/call.h"
#include "sip/route_plan.h"

/* One outgoing INVITE: to a registered contact, or to a gateway. */
struct fork {
    struct fork *next;
    struct call *call;
    nta_outgoing_t *orq;
    struct dlg_side side;
    unsigned long invite_cseq;
    int done, answered;
    /* gateway attempts only */
    const struct rt_attempt *attempt;
    su_timer_t *timer; /* originate, then progress timeout */
    int provisional;   /* a 1xx came back */
    int auth_tried;    /* our credentials were sent once already */
    int a_leg;         /* originate: a fork toward the party called first */
    /* fork_invite.c: the INVITE's body and extra header lines (owned), kept to send it again
     * after a 422; the session interval and Min-SE it raised (0: the call's), and how often. */
    char *offer, *headers;
    nta_response_f *cb;
    int st_asked, st_min_se, st_retries;
};

/* What set-up needs beyond the call itself; freed once the forks are out. */
struct invite_ctx {
    struct call *call;
    sip_t const *sip;
    struct sip_source src;
    struct auth_credentials cr;
    int from_gateway;
    void (*after_tenant)(
        struct invite_ctx *x); /* set-up goes on here once the tenant slot is held */
};

/* The gateways a call to an outside number will try, in order. */
struct gw_plan {
    struct rt_attempt attempts[ROUTE_PLAN_MAX];
    int n, next;
    char *sdp_b;  /* the offer every attempt sends */
    int all_down; /* every gateway was down at set-up: try them anyway */
    char *extra;  /* the caller's Diversion header lines, passed on ("...\r\n"); may be NULL */
};

void b2bua_random_tag(char *out, size_t len);
void b2bua_copy(char *dst, size_t len, const char *src);
/* Answers A's INVITE with a failure and ends the call. */
void b2bua_fail(struct call *c, int status, const char *phrase, const char *why);
/* The same with a Retry-After (seconds) on the response, when retry_after is not NULL. */
void b2bua_fail_retry(struct call *c, int status, const char *phrase, const char *why,
                      const char *retry_after);
/* Takes the call's tenant slot (tenant limits, gateway_health.h) and goes on with next(x), or
 * refuses the call with 503 when the tenant is at its max_calls or max_cps; takes x. */
void b2bua_tenant_slot(struct invite_ctx *x, void (*next)(struct invite_ctx *x));
/* First thing in every set-up continuation; 1 when a CANCEL meanwhile ended the call. */
int b2bua_resumed(struct invite_ctx *x);
/* The media session and the offer to send to B (malloc'ed); NULL after failing the call. */
char *b2bua_prepare_media(struct call *c);
/* The dialog a 2xx creates (remote tag, target, route set), and its ACK. */
void b2bua_learn_dialog(struct fork *f, sip_t const *sip);
void b2bua_ack_fork(struct call *c, struct fork *f);
int b2bua_on_fork_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, sip_t const *sip);
void b2bua_start_answer_timer(struct call *c, const struct calls_deps *d);
/* Rings the extension c->callee of c->domain (its registered contacts); takes x. */
void b2bua_ring_extension(struct invite_ctx *x);

struct user_info;
/* The callee's directory entry arrived (a user_lookup_f): ring it, or route out. */
void b2bua_on_callee(void *arg, const struct user_info *u);

/* fork_invite.c */
/* Sends the fork's INVITE (body sdp, extra header lines headers, both may be NULL, kept), with
 * the session-timer lines of session_timer_fork_headers; answers go to cb. 0 when sent. */
int b2bua_fork_invite(struct call *c, struct fork *f, const char *sdp, const char *headers,
                      nta_response_f *cb);
/* Frees a fork (not its transaction) and what it kept. */
void b2bua_fork_free(struct fork *f);
/* A 422 to the fork's INVITE: 1 when the INVITE went again with the callee's Min-SE; 0 when
 * it is not retried (bounded, RFC 4028 7.4), with *status and *phrase what the fork failed with
 * (500: the caller is never shown the callee's 422). */
int b2bua_fork_422(struct call *c, struct fork *f, sip_t const *sip, int *status,
                   const char **phrase);

/* b2bua_gateway.c */
/* The callee is no extension: route the number to the tenant's gateways; takes x. */
void gateway_route(struct invite_ctx *x);
/* An INVITE from a gateway's address: the number must be one of its tenant's DIDs; takes x. */
void gateway_inbound(struct invite_ctx *x, const struct rt_source *s);
/* A gateway fork ended with status: 1 when the call moved on to the next gateway (or has
 * already been failed), 0 when status is the call's answer. */
int gateway_fork_failed(struct call *c, struct fork *f, int status);
/* A 401/407 from a gateway that has credentials: the INVITE goes again with them (1). */
int gateway_authenticate(struct call *c, struct fork *f, sip_t const *sip);
void gateway_fork_progress(struct fork *f);
void gateway_plan_free(struct call *c);

#endif
