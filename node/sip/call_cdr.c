/* A call's CDR: what call control recorded on struct call, turned into a struct cdr and handed
 * to the CDR writer (a queue; never I/O on the signalling loop). Gaps call control left (a call
 * torn down by shutdown or a lookup cut short) get the values a billing system expects. */
#include "sip/call.h"

#include "store/cdr.h"

#include <stdio.h>
#include <string.h>

void call_cdr_fill(const struct call *c, long long end_ms, struct cdr *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->call_uuid, sizeof out->call_uuid, "%s", c->uuid);
    snprintf(out->tenant_id, sizeof out->tenant_id, "%s", c->tenant_id);
    snprintf(out->a_call_id, sizeof out->a_call_id, "%s", c->a.call_id);
    snprintf(out->b_call_id, sizeof out->b_call_id, "%s", c->b.call_id);
    snprintf(out->caller, sizeof out->caller, "%s", c->caller);
    snprintf(out->callee_dialled, sizeof out->callee_dialled, "%s", c->callee);
    snprintf(out->callee_routed, sizeof out->callee_routed, "%s", c->callee_routed);
    snprintf(out->gateway, sizeof out->gateway, "%s", c->gateway);
    snprintf(out->node, sizeof out->node, "%s", c->node);
    out->start_ms = c->created_ms;
    out->progress_ms = c->progress_ms;
    out->answer_ms = c->answered_ms;
    out->end_ms = end_ms;
    int answered = c->answered_ms != 0;
    /* A CANCEL that arrived during a lookup is answered 487 without fail() recording it. */
    out->sip_status = c->final_status ? c->final_status
                      : answered      ? 200
                      : c->cancelled  ? 487
                                      : 500; /* what b2bua_abandon answers at release */
    out->q850_cause = c->q850_cause              ? c->q850_cause
                      : answered || c->cancelled ? 16  /* normal clearing */
                                                 : 38; /* as b2bua maps a 500 */
    const char *by = c->hangup_by;
    if (strcmp(by, "caller") && strcmp(by, "callee"))
        by = !answered && c->cancelled ? "caller" : "system";
    snprintf(out->hangup_by, sizeof out->hangup_by, "%s", by);
}

void call_cdr_submit(const struct call *c, const char *why, long long end_ms)
{
    /* No tenant: the caller never authenticated, so it was never a call; a 407 is a step of
     * set-up that the retried INVITE (a new call) completes. */
    if (!c->calls || !c->tenant_id[0] || !strcmp(why, "challenged"))
        return;
    struct cdr_writer *w = calls_deps(c->calls)->cdrs;
    if (!w)
        return;
    struct cdr r;
    call_cdr_fill(c, end_ms, &r);
    cdr_writer_submit(w, &r); /* logs the record itself if it cannot be kept */
}
