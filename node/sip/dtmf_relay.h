/* DTMF between a party with RFC 4733 telephone-event and one without it, either way round: the
 * events of the one with it (detected on the media threads) become SIP INFO to the other, and
 * the other's INFO (application/dtmf-relay or application/dtmf) becomes RFC 4733 packets to it.
 * When both legs have telephone-event the events are simply relayed with the audio. */
#ifndef TANDEM_DTMF_RELAY_H
#define TANDEM_DTMF_RELAY_H

#include "sip/call.h"

struct dtmf_relay;

/* Takes events from the media engine through a mailbox into the signalling loop. */
struct dtmf_relay *dtmf_relay_create(su_root_t *root, struct media_engine *media);
/* The call table events are looked up in (created after the relay, which it depends on). */
void dtmf_relay_bind(struct dtmf_relay *d, struct calls *cs);
/* After the calls (and so every media session) are gone. */
void dtmf_relay_destroy(struct dtmf_relay *d);

/* The offer for B (malloc'ed, taken): when A's offer has no telephone-event, B is offered it
 * (a payload type free in the offer, 101 if it can), so a B that has it can translate. */
char *dtmf_relay_offer(struct call *c, char *sdp);

/* B's SDP (offer answer) is about to reach A as *sdp (malloc'ed, B's rewritten for A): when A
 * offered telephone-event and B's SDP has none, the call translates, and *sdp gets A's
 * telephone-event type back so A keeps sending events to the node. When B took the events
 * the node offered for an A without them, it translates the other way, and *sdp loses them. */
void dtmf_relay_answer(struct call *c, const char *b_sdp, size_t b_len, char **sdp);

/* Mid-call SDP from from_leg (body) on its way to the other leg as sdp (an offer or an answer,
 * codecs fitted; malloc'ed, taken): a translating call stays translating across re-INVITEs and
 * UPDATEs. The leg with events keeps being given them (in an answer only if its offer had
 * them), the leg without never sees them, and a renumbered event type is followed. */
char *dtmf_relay_midcall(struct call *c, int from_leg, const char *body, size_t len, int offer,
                         char *sdp);

/* An INFO in a call held here: 1 when it was a digit from the party without telephone-event,
 * answered here and played to the other party as RFC 4733; 0 to relay it as usual. */
int dtmf_relay_info(struct call *c, int from_a, nta_incoming_t *irq, sip_t const *sip);

#endif
