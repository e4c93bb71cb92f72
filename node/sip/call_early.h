/* Calls still ringing when their node dies (call_early.c): what their record keeps once they
 * ring, and how a successor ends them (503 to the caller, CANCEL to the callees). */
#ifndef TANDEM_CALL_EARLY_H
#define TANDEM_CALL_EARLY_H

#include <jansson.h>

#include "sip/call.h"

/* Keeps the Via headers of the caller's INVITE (as received, with received/rport). */
void call_early_note_vias(struct call *c, sip_t const *sip);
/* Writes the ringing call's record with its forks' branches; called on the first 180/183. */
void call_early_publish(struct call *c);
/* On the successor: ends a ringing call read from record (c is its parsed copy, not in any
 * table): 503 to the caller statelessly, CANCEL to every fork, CDR, record deleted. */
void call_early_abort(struct calls *cs, struct call *c, json_t *record);

#endif
