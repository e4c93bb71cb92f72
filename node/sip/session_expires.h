/* RFC 4028 session-timer negotiation as pure functions: what the node asks of the callee, who
 * refreshes once the callee answered, and when an unrefreshed session ends. No I/O; unit-tested. */
#ifndef TANDEM_SESSION_EXPIRES_H
#define TANDEM_SESSION_EXPIRES_H

enum st_refresher { ST_NONE = 0, ST_UAC = 1, ST_UAS = 2 };
/* Who refreshes a call's session: the caller (A), the callee (B), or nobody (no timer). */
enum st_party { ST_NOBODY = 0, ST_PARTY_A = 1, ST_PARTY_B = 2 };

/* What one request or response says about session timers. */
struct st_params {
    int expires;   /* Session-Expires delta-seconds; 0 when absent */
    int refresher; /* its refresher parameter (enum st_refresher) */
    int min_se;    /* Min-SE delta-seconds; 0 when absent */
    int timer;     /* "timer" is in Supported or Require */
};

/* On A's INVITE (RFC 4028 9): the interval the node asks of B, 0 for no session timer, or -1
 * when A's Session-Expires is below the node's Min-SE (answer 422 with *min_se_422). A's own
 * Min-SE raises the floor for the default. node_default 0: the node asks for none itself. */
int st_request_interval(const struct st_params *a, int node_min_se, int node_default,
                        int *min_se_422);

/* The refresher the node asks of B (in its Session-Expires toward B): A when A can refresh and
 * did not ask the node to (the node passes A's refreshes on, so it is the UAC side), else B. */
int st_ask_refresher(const struct st_params *a);

/* B's 2xx is in: the session's interval and refresher (*party); 0 interval with ST_NOBODY when
 * no party can refresh (then the node runs no timer: it cannot refresh by itself). */
int st_answer(const struct st_params *a, int asked, const struct st_params *b, int *party);

/* The refresher parameter naming party on either leg: A refreshing is "uac" (the caller on leg
 * A, the node passing it on as UAC on leg B), B refreshing is "uas". */
const char *st_refresher_name(int party);

/* When the node ends a session not refreshed since now_ms (RFC 4028 10: the non-refresher
 * sends BYE min(32 s, interval/3) before the session would expire). */
long long st_deadline_ms(long long now_ms, int interval);

/* The longest Session-Expires the node takes or asks for (a day), and how often one INVITE is
 * sent again after a 422 before the node gives up on that callee. */
#define ST_MAX_INTERVAL 86400
#define ST_MAX_422_RETRIES 2

/* A 422 (RFC 4028 6, 7.4) to an INVITE that asked for `asked` seconds (0: no Session-Expires),
 * after `tries` retries: the interval to ask next, the 422's Min-SE, which also goes in the
 * retry's Min-SE. -1 when the 422 names no Min-SE above what was asked (the same INVITE would
 * get the same answer) or tries reached ST_MAX_422_RETRIES; -2 when its Min-SE is above max. */
int st_retry_interval(int asked, long min_se_422, int max, int tries);

/* "uac"/"uas" (any case) to enum st_refresher; ST_NONE for NULL or anything else. */
int st_parse_refresher(const char *s);

#endif
