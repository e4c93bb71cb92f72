/* Calls the REST API asks for (third-party call control, RFC 3725 flow I): the node first calls
 * the extension "from" with an offer for its own media port; when that phone answers, its answer
 * becomes the offer to "to" (an extension or, through the routes, a number). The media are
 * anchored on the node, so "from" never needs a second offer when "to" answers. */
#include "sip/b2bua.h"
#include "sip/prack.h"
#include "sip/session_timer.h"

#include "common/log.h"
#include "media/media.h"
#include "store/reg_store.h"
#include "store/user_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_tagarg.h>

static int str_field(json_t *o, const char *key, char *dst, size_t len)
{
    const char *v = json_string_value(json_object_get(o, key));
    if (!v || !*v || strlen(v) >= len)
        return -1;
    strcpy(dst, v);
    return 0;
}

static void end_unanswered(struct call *c, const char *why)
{
    c->final_status = 480;
    c->q850_cause = 19;
    snprintf(c->hangup_by, sizeof c->hangup_by, "system");
    call_end(c, why);
}

static int a_forks_open(const struct call *c)
{
    for (const struct fork *f = c->forks; f; f = f->next)
        if (f->a_leg && !f->done)
            return 1;
    return 0;
}

static void connect_b(struct call *c)
{
    struct invite_ctx *x = calloc(1, sizeof *x);
    if (!x) {
        b2bua_fail(c, 500, "Server Internal Error", "out of memory");
        return;
    }
    x->call = c;
    c->looking_up = 1;
    user_store_lookup(calls_deps(c->calls)->users, c->domain, c->callee, b2bua_on_callee, x);
}

static int on_a_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, sip_t const *sip)
{
    struct fork *f = (struct fork *)magic;
    struct call *c = f->call;
    int status = sip && sip->sip_status ? sip->sip_status->st_status : 408;
    if (status < 200) {
        prack_fork_provisional(c, f, sip); /* a reliable 18x from the phone called first */
        return 0;
    }
    const char *phrase = sip && sip->sip_status ? sip->sip_status->st_phrase : "";
    if (status == 422 && !c->a.call_id[0] && b2bua_fork_422(c, f, sip, &status, &phrase))
        return 0; /* sent again with the phone's Min-SE (RFC 4028 7.4) */
    if (status < 300) {
        if (f->answered) {
            b2bua_ack_fork(c, f);
            return 0;
        }
        f->done = 1;
        b2bua_learn_dialog(f, sip);
        b2bua_ack_fork(c, f);
        if (c->a.call_id[0]) { /* another of the phone's contacts answered first */
            nta_outgoing_t *bye =
                dlg_send(c->calls, &f->side, sip_method_bye, "BYE", 0, NULL, NULL, NULL);
            if (bye)
                nta_outgoing_destroy(bye);
            return 0;
        }
        f->answered = 1;
        for (struct fork *o = c->forks; o; o = o->next)
            if (o != f && o->a_leg && !o->done && o->orq) {
                nta_outgoing_cancel(o->orq);
                o->done = 1;
            }
        c->a = f->side;
        call_index(c);
        free(c->offer);
        c->offer =
            sip->sip_payload ? strndup(sip->sip_payload->pl_data, sip->sip_payload->pl_len) : NULL;
        if (!c->offer) {
            b2bua_fail(c, 488, "Not Acceptable Here", "the first party answered without SDP");
            return 0;
        }
        /* what the phone took on for session timers is what the callee is asked for */
        session_timer_first_party(c, f->st_asked, f->st_min_se, sip);
        log_info(c->a.call_id, "call %s: %s answered, calling %s", c->uuid, c->caller, c->callee);
        connect_b(c);
        return 0;
    }
    f->done = 1;
    nta_outgoing_destroy(orq);
    f->orq = NULL;
    if (!c->a.call_id[0] && !a_forks_open(c))
        end_unanswered(c, "the first party did not answer");
    return 0;
}

static void ring_a(void *arg, json_t *bindings)
{
    struct call *c = arg;
    c->looking_up = 0;
    if (!bindings || !json_array_size(bindings)) {
        end_unanswered(c, bindings ? "the first party is not registered" : "Redis unavailable");
        return;
    }
    char offer[600];
    const char *ip = c->media_ip;
    int v6 = strchr(ip, ':') != NULL;
    snprintf(offer, sizeof offer,
             "v=0\r\no=tandem 1 1 IN %s %s\r\ns=tandem\r\nc=IN %s %s\r\nt=0 0\r\n"
             "m=audio %d RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
             "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n",
             v6 ? "IP6" : "IP4", ip, v6 ? "IP6" : "IP4", ip, c->a.media_port);
    size_t i;
    json_t *b;
    int started = 0;
    json_array_foreach(bindings, i, b)
    {
        const char *contact = json_string_value(json_object_get(b, "contact"));
        const char *received = json_string_value(json_object_get(b, "received"));
        const char *transport = json_string_value(json_object_get(b, "transport"));
        struct fork *f = contact && received && transport ? calloc(1, sizeof *f) : NULL;
        if (!f)
            continue;
        f->call = c;
        f->a_leg = 1;
        char tag[24];
        b2bua_random_tag(tag, sizeof tag);
        snprintf(f->side.call_id, sizeof f->side.call_id, "%s-a%zu@tandem", c->uuid, i);
        /* The phone shows whom it is being connected to. */
        snprintf(f->side.local_hdr, sizeof f->side.local_hdr, "\"%s\" <sip:%s@%s>;tag=%s",
                 c->callee, c->callee, c->domain, tag);
        snprintf(f->side.remote_hdr, sizeof f->side.remote_hdr, "<sip:%s@%s>", c->caller,
                 c->domain);
        b2bua_copy(f->side.remote_target, sizeof f->side.remote_target, contact);
        snprintf(f->side.destination, sizeof f->side.destination, "sip:%s;transport=%s", received,
                 transport);
        f->side.media_port = c->a.media_port;
        /* with Session-Expires per calls.session_expires (fork_invite.c) */
        if (b2bua_fork_invite(c, f, offer, NULL, on_a_response) != 0) {
            b2bua_fork_free(f);
            continue;
        }
        f->next = c->forks;
        c->forks = f;
        started++;
    }
    if (!started)
        end_unanswered(c, "the first party could not be called");
    else
        b2bua_start_answer_timer(c, calls_deps(c->calls));
}

void calls_originate(void *arg, const char *order)
{
    struct calls *cs = arg;
    const struct calls_deps *d = calls_deps(cs);
    json_t *o = json_loads(order, 0, NULL);
    struct call *c = o ? call_new(cs) : NULL;
    char uuid[40];
    if (!c || str_field(o, "uuid", uuid, sizeof uuid) || call_rekey(c, uuid) ||
        str_field(o, "tenant_id", c->tenant_id, sizeof c->tenant_id) ||
        str_field(o, "domain", c->domain, sizeof c->domain) ||
        str_field(o, "from", c->caller, sizeof c->caller) ||
        str_field(o, "to", c->callee, sizeof c->callee)) {
        log_error(NULL, "originate: unusable order: %s", order);
        if (c)
            call_end(c, "bad originate order");
        json_decref(o);
        return;
    }
    json_decref(o);
    c->originated = 1;
    b2bua_copy(c->media_ip, sizeof c->media_ip, d->cfg->media_address);
    char err[256];
    c->media = media_session_create(d->media, c->uuid, err, sizeof err);
    if (!c->media) {
        log_warn(NULL, "originate %s: no media session: %s", c->uuid, err);
        end_unanswered(c, "no media session");
        return;
    }
    c->a.media_port = media_leg_local_port(c->media, MEDIA_LEG_A);
    c->b.media_port = media_leg_local_port(c->media, MEDIA_LEG_B);
    log_info(NULL, "call %s: originating %s@%s -> %s", c->uuid, c->caller, c->domain, c->callee);
    c->looking_up = 1;
    if (reg_store_lookup(d->regs, c->domain, c->caller, ring_a, c) != 0) {
        c->looking_up = 0;
        end_unanswered(c, "Redis unavailable");
    }
}
