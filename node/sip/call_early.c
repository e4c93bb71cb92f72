/* Calls still ringing when their node dies. Once a call rings, its record also holds what a
 * successor needs to end it cleanly without the dead node's transactions: the Via headers of
 * the caller's INVITE (for a stateless final response) and each outgoing INVITE's branch (for
 * a CANCEL that matches it). The successor answers the caller 503 and cancels the callees. */
#include "sip/call_early.h"

#include "common/clock.h"
#include "common/log.h"
#include "sip/b2bua.h"
#include "sip/sip_tports.h"
#include "store/call_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/nta_stateless.h>
#include <sofia-sip/sip_header.h>

void call_early_note_vias(struct call *c, sip_t const *sip)
{
    su_home_t home[1] = {SU_HOME_INIT(home)};
    size_t used = 0, size = 0;
    char *out = NULL;
    for (sip_via_t const *v = sip->sip_via; v; v = v->v_next) {
        const char *text = sip_header_as_string(home, (sip_header_t const *)v);
        size_t n = text ? strlen(text) : 0;
        if (!n)
            continue;
        char *grown = realloc(out, size = used + n + 3);
        if (!grown) {
            free(out);
            out = NULL;
            break;
        }
        out = grown;
        used += (size_t)snprintf(out + used, size - used, "%s%s", used ? ", " : "", text);
    }
    su_home_deinit(home);
    free(c->a_vias);
    c->a_vias = out;
}

/* The To of a fork's INVITE: without the tag a provisional response may have taught us. */
static void strip_tag(char *hdr)
{
    char *t = strstr(hdr, ";tag=");
    if (t)
        *t = 0;
}

void call_early_publish(struct call *c)
{
    json_t *j = call_to_json(c);
    json_t *forks = json_array();
    if (!j || !forks || !c->a_vias) {
        json_decref(j);
        json_decref(forks);
        return;
    }
    json_object_set_new(j, "a_vias", json_string(c->a_vias));
    json_object_set_new(j, "a_invite_cseq", json_integer((json_int_t)c->a.remote_cseq));
    for (struct fork *f = c->forks; f; f = f->next) {
        const char *branch = f->orq && !f->done ? nta_outgoing_branch(f->orq) : NULL;
        if (!branch)
            continue;
        if (!strncmp(branch, "branch=", 7))
            branch += 7;
        char to[sizeof f->side.remote_hdr];
        snprintf(to, sizeof to, "%s", f->side.remote_hdr);
        strip_tag(to);
        json_array_append_new(
            forks, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "call_id", f->side.call_id,
                             "from", f->side.local_hdr, "to", to, "target", f->side.remote_target,
                             "destination", f->side.destination, "route", f->side.route, "cseq",
                             (json_int_t)f->invite_cseq, "branch", branch));
    }
    json_object_set_new(j, "forks", forks);
    if (call_store_save(calls_deps(c->calls)->store, c->uuid, c->a.call_id, NULL, j,
                        CALL_RECORD_TTL_S) == 0)
        c->stored = 1;
    json_decref(j);
}

static int on_cancel_answered(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, sip_t const *sip)
{
    (void)magic;
    if (sip && sip->sip_status && sip->sip_status->st_status < 200)
        return 0;
    nta_outgoing_destroy(orq);
    return 0;
}

static void cancel_fork(nta_agent_t *agent, json_t *f, tport_t *tp)
{
    const char *s[7];
    static const char *const keys[] = {"call_id", "from",   "to",         "target",
                                       "route",   "branch", "destination"};
    for (int i = 0; i < 7; i++)
        if (!(s[i] = json_string_value(json_object_get(f, keys[i]))))
            return;
    uint32_t cseq = (uint32_t)json_integer_value(json_object_get(f, "cseq"));
    msg_t *msg = nta_msg_create(agent, 0);
    sip_t *sip = msg ? sip_object(msg) : NULL;
    su_home_t *home = msg ? msg_home(msg) : NULL;
    if (!sip ||
        sip_add_tl(
            msg, sip,
            SIPTAG_REQUEST(sip_request_create(home, SIP_METHOD_CANCEL, (url_string_t *)s[3], NULL)),
            TAG_IF(s[4][0], SIPTAG_ROUTE_STR(s[4])), SIPTAG_FROM_STR(s[1]), SIPTAG_TO_STR(s[2]),
            SIPTAG_CALL_ID_STR(s[0]), SIPTAG_CSEQ(sip_cseq_create(home, cseq, SIP_METHOD_CANCEL)),
            SIPTAG_MAX_FORWARDS_STR("70"),
            SIPTAG_REASON_STR("Q.850;cause=41;text=\"node failure\""), TAG_END()) < 0) {
        if (msg)
            msg_destroy(msg);
        return;
    }
    /* The same branch as the INVITE, from the same address: the callee's UAS matches it. */
    nta_outgoing_t *orq =
        nta_outgoing_mcreate(agent, on_cancel_answered, NULL, URL_STRING_MAKE(s[6]), msg,
                             NTATAG_BRANCH_KEY(s[5]), TAG_IF(tp, NTATAG_TPORT(tp)), TAG_END());
    if (!orq)
        log_warn(s[0], "cannot CANCEL a ringing leg after failover");
}

static void answer_caller(nta_agent_t *agent, struct call *c, const char *caller_vias,
                          uint32_t cseq, tport_t *tp)
{
    /* nta_msg_tsend forwards responses as a proxy does: it takes off the top Via (its own)
     * and sends to the next. So ours goes on top of the caller's. */
    char vias[8192];
    if ((size_t)snprintf(vias, sizeof vias, "SIP/2.0/UDP %s;branch=z9hG4bK-tandem-failover, %s",
                         c->a.via[0] ? c->a.via : "0.0.0.0", caller_vias) >= sizeof vias)
        return;
    msg_t *msg = nta_msg_create(agent, 0);
    sip_t *sip = msg ? sip_object(msg) : NULL;
    su_home_t *home = msg ? msg_home(msg) : NULL;
    if (!sip ||
        sip_add_tl(msg, sip,
                   SIPTAG_STATUS(sip_status_create(home, 503, "Service Unavailable", NULL)),
                   SIPTAG_VIA_STR(vias), SIPTAG_FROM_STR(c->a.remote_hdr),
                   SIPTAG_TO_STR(c->a.local_hdr), SIPTAG_CALL_ID_STR(c->a.call_id),
                   SIPTAG_CSEQ(sip_cseq_create(home, cseq, SIP_METHOD_INVITE)),
                   SIPTAG_REASON_STR("Q.850;cause=41;text=\"node failure\""),
                   SIPTAG_RETRY_AFTER_STR("5"), SIPTAG_CONTENT_LENGTH_STR("0"), TAG_END()) < 0) {
        if (msg)
            msg_destroy(msg);
        log_warn(c->a.call_id, "call %s: cannot build the caller's final response", c->uuid);
        return;
    }
    if (nta_msg_tsend(agent, msg, NULL, TAG_IF(tp, NTATAG_TPORT(tp)), TAG_END()) != 0)
        log_warn(c->a.call_id, "call %s: cannot send the caller's final response", c->uuid);
}

void call_early_abort(struct calls *cs, struct call *c, json_t *record)
{
    const struct calls_deps *d = calls_deps(cs);
    const char *vias = json_string_value(json_object_get(record, "a_vias"));
    uint32_t cseq = (uint32_t)json_integer_value(json_object_get(record, "a_invite_cseq"));
    const char *transport = strstr(c->a.destination, "transport=tcp") ? "tcp" : "udp";
    tport_t *tp =
        c->a.via[0] ? sip_tports_find(d->agent, c->a.via, c->a.via_port, transport) : NULL;
    if (vias && cseq)
        answer_caller(d->agent, c, vias, cseq, tp);
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(record, "forks"), i, f)
    {
        const char *dest = json_string_value(json_object_get(f, "destination"));
        const char *fproto = dest && strstr(dest, "transport=tcp") ? "tcp" : "udp";
        cancel_fork(d->agent, f,
                    c->a.via[0] ? sip_tports_find(d->agent, c->a.via, c->a.via_port, fproto)
                                : NULL);
    }
    c->final_status = 503;
    c->q850_cause = 41; /* temporary failure */
    snprintf(c->hangup_by, sizeof c->hangup_by, "system");
    log_info(c->a.call_id, "call %s was ringing on %s: caller answered 503, %zu leg(s) cancelled",
             c->uuid, c->failover_from, json_array_size(json_object_get(record, "forks")));
    call_cdr_submit(c, "node failed while ringing", clock_wall_ms());
    call_store_delete(d->store, c->uuid, c->a.call_id, c->b.call_id, c->tenant_id, c->node);
}
