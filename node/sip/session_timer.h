/* Session timers (RFC 4028) on the B2BUA: negotiated on set-up, kept alive by the re-INVITEs and
 * UPDATEs the parties send through any node, and enforced by the node that holds the call, which
 * ends a session nobody refreshed (BYE to both, Q.850 102). The deadline lives in the call's
 * record and in its owner's schedule in Redis, so it survives the owner's restart. */
#ifndef TANDEM_SESSION_TIMER_H
#define TANDEM_SESSION_TIMER_H

#include "sip/call.h"

/* A's INVITE: remembers what it says; answers 422 with Min-SE and ends the call (-1) when its
 * Session-Expires is below calls.min_se. */
int session_timer_invite(struct call *c, sip_t const *sip);

/* Header lines for the INVITE to B ("Session-Expires: ...\r\nMin-SE: ...\r\n"), "" for none. */
void session_timer_b_headers(const struct call *c, char *out, size_t len);
/* The same for one fork: asked and min_se, when a 422 raised them (else 0), override the call's.
 * first_party: the INVITE of an originated call to the party called first, which is asked
 * for calls.session_expires and to refresh itself (the node refreshes nothing). */
void session_timer_fork_headers(const struct call *c, int first_party, int asked, int min_se,
                                char *out, size_t len);
/* Originate: the party called first answered (2xx sip) the INVITE that asked for asked
 * seconds (0: calls.session_expires) with Min-SE min_se (0: calls.min_se). It then plays the
 * caller's part: what it took on (refreshing or not) is what the callee is asked for. */
void session_timer_first_party(struct call *c, int asked, int min_se, sip_t const *sip);

/* B answered with a 2xx: the session's interval and refresher are settled and its deadline
 * scheduled (the record is written by the caller). */
void session_timer_answered(struct call *c, sip_t const *sip);

/* Header lines for the 2xx to A's INVITE, "" when the session has no timer. */
void session_timer_a_headers(const struct call *c, char *out, size_t len);

/* Header lines for a re-INVITE or UPDATE passed on, and for its 2xx. */
void session_timer_refresh_headers(const struct call *c, char *out, size_t len);

/* A re-INVITE or UPDATE got a 2xx: the session is refreshed (deadline and schedule moved). */
void session_timer_refreshed(struct call *c);

/* The session fields of the call's record (schema/redis.md). */
void session_timer_to_json(const struct call *c, json_t *record);
void session_timer_from_json(struct call *c, json_t *record);

/* The node's sweep (once a second) of its schedule in Redis. */
struct session_timers;
struct session_timers *session_timers_create(su_root_t *root, struct calls *cs);
void session_timers_destroy(struct session_timers *st);

#endif
