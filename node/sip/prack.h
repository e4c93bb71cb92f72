/* Reliable provisional responses (RFC 3262, 100rel), hop by hop as a B2BUA: the node PRACKs
 * the callee's reliable 18x itself and sends its own reliable 18x to a caller that supports
 * 100rel, answering that caller's PRACKs. Internal to node/sip. */
#ifndef TANDEM_PRACK_H
#define TANDEM_PRACK_H

#include "sip/b2bua.h"

/* What A's INVITE says about 100rel: 0 nothing, 1 Supported, 2 Require (RFC 3262 3). */
int prack_caller_mode(sip_t const *sip);

/* A 1xx (101..199) to A's INVITE with our Contact and an SDP (may be NULL): reliable when A
 * supports 100rel, else plain. 0 when sent. */
int prack_reply_a(struct call *c, int status, const char *phrase, const char *contact,
                  const char *sdp);

/* After the 2xx to A: 1 when nta holds it back until A PRACKs a reliable 18x with SDP (RFC
 * 3262 3); prack.c then keeps A's INVITE (c->irq is NULL) and lets it go at that PRACK. */
int prack_hold_final(struct call *c);

/* The call ends: A's INVITE held for a PRACK is let go, the early-dialog state freed. */
void prack_abandon(struct call *c);

/* A 1xx from the callee on fork f: when it is reliable (RSeq and Require: 100rel) the node
 * learns the early dialog and PRACKs it. Returns 1 when the response repeats an RSeq already
 * PRACKed (a retransmission: the caller must not see it again), else 0. */
int prack_fork_provisional(struct call *c, struct fork *f, sip_t const *sip);

/* B's SDP for the 2xx to A. B may answer only in a reliable 18x and send a 2xx without SDP
 * (RFC 3262 5): then its early SDP is used, unless A already got that answer in a reliable
 * 18x, in which case A's 2xx carries none (*body NULL). body/len come from B's 2xx. */
void prack_final_answer(struct call *c, const char **body, size_t *len);

/* Keeps B's SDP from a 18x for prack_final_answer (copied; freed with the call). */
void prack_remember_early_answer(struct call *c, const char *sdp, size_t len);

#endif
