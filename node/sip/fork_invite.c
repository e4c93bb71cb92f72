/* Sending a fork's INVITE, and sending it again when the callee answers 422 Session Interval Too
 * Small (RFC 4028 6, 7.4): same dialog identifiers, a new CSeq, the callee's Min-SE asked. */
#include "sip/b2bua.h"

#include "common/log.h"
#include "sip/session_timer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sip_header.h>

/* What the fork's next INVITE carries: its session-timer lines first, then the kept ones. */
static int send_invite(struct call *c, struct fork *f)
{
    char st[160];
    session_timer_fork_headers(c, f->a_leg, f->st_asked, f->st_min_se, st, sizeof st);
    size_t n = strlen(st) + (f->headers ? strlen(f->headers) : 0) + 1;
    char *all = malloc(n);
    if (!all)
        return -1;
    snprintf(all, n, "%s%s", st, f->headers ? f->headers : "");
    f->invite_cseq = f->side.local_cseq + 1;
    f->orq = dlg_send_with(c->calls, &f->side, sip_method_invite, "INVITE", 0, f->offer,
                           all[0] ? all : NULL, f->cb, (nta_outgoing_magic_t *)f);
    free(all);
    return f->orq ? 0 : -1;
}

/* *dst becomes a copy of src (NULL stays NULL); -1 when out of memory. */
static int keep(char **dst, const char *src)
{
    if (src == *dst)
        return 0;
    char *copy = src ? strdup(src) : NULL;
    if (src && !copy)
        return -1;
    free(*dst);
    *dst = copy;
    return 0;
}

int b2bua_fork_invite(struct call *c, struct fork *f, const char *sdp, const char *headers,
                      nta_response_f *cb)
{
    if (keep(&f->offer, sdp) != 0 || keep(&f->headers, headers) != 0)
        return -1;
    f->cb = cb;
    return send_invite(c, f);
}

void b2bua_fork_free(struct fork *f)
{
    if (!f)
        return;
    free(f->offer);
    free(f->headers);
    free(f);
}

int b2bua_fork_422(struct call *c, struct fork *f, sip_t const *sip, int *status,
                   const char **phrase)
{
    const struct tandem_config *cfg = calls_deps(c->calls)->cfg;
    int asked = f->st_asked > 0 ? f->st_asked : f->a_leg ? cfg->calls_session_expires : c->st_asked;
    long min_se = sip && sip->sip_min_se
                      ? (sip->sip_min_se->min_delta > 0x7fffffff ? 0x7fffffffL
                                                                 : (long)sip->sip_min_se->min_delta)
                      : 0;
    int next = st_retry_interval(asked, min_se, ST_MAX_INTERVAL, f->st_retries);
    if (next > 0) {
        nta_outgoing_t *answered = f->orq; /* nta has ACKed its 422 */
        f->st_retries++;
        f->st_asked = next;
        f->st_min_se = next;
        if (send_invite(c, f) == 0) {
            nta_outgoing_destroy(answered);
            log_info(c->a.call_id, "call %s: %s asks for Min-SE %ld: INVITE sent again", c->uuid,
                     f->side.remote_target, min_se);
            return 1;
        }
        f->orq = answered; /* the caller ends it with the fork */
    }
    /* The caller never sees the callee's 422: its Min-SE is no value the caller could offer
     * (the node asked on its behalf), so the callee counts as failed. */
    log_warn(c->a.call_id, "call %s: %s answered 422 (Min-SE %ld, asked %d s, %d retries): %s",
             c->uuid, f->side.remote_target, min_se, asked, f->st_retries,
             next == -2 ? "above the node's limit" : "not retried");
    *status = 500;
    *phrase = next == -2 ? "Session Interval Above Limit" : "Session Interval Not Agreed";
    return 0;
}
