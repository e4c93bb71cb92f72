/* A call's CDR: what call control recorded on struct call, turned into a struct cdr and handed
 * to the CDR writer (a queue; never I/O on the signalling loop). Gaps call control left (a call
 * torn down by shutdown or a lookup cut short) get the values a billing system expects. */
#include "sip/call.h"

#include "media/media.h"
#include "store/cdr.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* A measurement as a JSON number with two decimals, or null when unknown (negative) or not a
 * number at all: the row must stay valid JSON whatever the arithmetic produced. */
static const char *json_num(char *buf, size_t len, double v)
{
    if (!isfinite(v) || v < 0)
        return "null";
    snprintf(buf, len, "%.2f", v);
    return buf;
}

/* One leg's media statistics as the JSON object of the media_a / media_b columns, and its
 * codec from the payload type the relay last saw on it. Numbers only: nothing to escape. */
static void media_fill(const struct call *c, int leg, char *json, size_t jlen, char *codec,
                       size_t clen)
{
    struct media_leg_stats st;
    media_leg_stats(c->media, leg, &st);
    char name[32], n[6][32];
    snprintf(codec, clen, "%s", call_codec_name(c, leg, st.payload_type, name, sizeof name));
    snprintf(json, jlen,
             "{\"packets_in\": %" PRIu64 ", \"packets_out\": %" PRIu64 ", \"bytes_in\": %" PRIu64
             ", \"bytes_out\": %" PRIu64 ", \"dropped\": %" PRIu64 ", \"lost\": %" PRId64
             ", \"loss_pct\": %s, \"jitter_ms\": %s, \"rtt_ms\": %s, \"mos\": %s, "
             "\"payload_type\": %d, \"rtcp_packets_in\": %" PRIu64
             ", \"reported_loss_pct\": %s, \"reported_jitter_ms\": %s}",
             st.packets_in, st.packets_out, st.bytes_in, st.bytes_out, st.dropped, st.lost,
             json_num(n[0], sizeof n[0], st.loss_pct), json_num(n[1], sizeof n[1], st.jitter_ms),
             json_num(n[2], sizeof n[2], st.rtt_ms),
             st.payload_type >= 0 ? json_num(n[3], sizeof n[3], st.mos) : "null", st.payload_type,
             st.rtcp_packets_in, json_num(n[4], sizeof n[4], st.reported_loss_pct),
             json_num(n[5], sizeof n[5], st.reported_jitter_ms));
}

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
    out->failover = c->failover_from[0] != 0;
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
    /* Only the node holding the media knows its statistics; elsewhere the columns stay NULL. */
    if (c->media) {
        media_fill(c, MEDIA_LEG_A, out->media_a, sizeof out->media_a, out->codec_a,
                   sizeof out->codec_a);
        media_fill(c, MEDIA_LEG_B, out->media_b, sizeof out->media_b, out->codec_b,
                   sizeof out->codec_b);
    }
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
