/* DTMF between the leg with telephone-event (A: c->dtmf_translate, B: c->dtmf_translate_b) and
 * the leg without: that leg's RFC 4733 events become INFO on the other dialog, INFO the other way.
 * Media threads never touch SIP: they report an event's end through the media engine's sink,
 * which only posts a line to a mailbox (node/common/mailbox, the API's way into the loop); the
 * loop then sends the INFO. The other way, a digit is played as RFC 4733 packets every 50 ms
 * from an su_timer on the loop: start (marker), updates with the growing duration, and the end
 * packet three times (RFC 4733 2.5.1.4). A call's digits play one after another. */
#include "sip/dtmf_relay.h"

#include "common/log.h"
#include "common/mailbox.h"
#include "media/media.h"
#include "sip/dtmf_info.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_tagarg.h>

#define TICK_MS 50
#define SAMPLES_PER_TICK (8 * TICK_MS) /* telephone-event/8000 */
#define END_PACKETS 3
#define MAX_TONES 256 /* digits waiting or playing, all calls together */

/* One digit being played toward a leg. */
struct tone {
    struct tone *next;
    char call_id[256]; /* A's: the call is looked up on every tick, never pointed at */
    int leg, event;
    uint32_t total, sent; /* duration in samples, and what the last packet said */
    int ends;             /* end packets sent */
};

struct dtmf_relay {
    struct media_engine *media;
    struct calls *cs;
    struct mailbox *events;
    su_timer_t *timer;
    int ticking;
    struct tone *tones; /* in arrival order */
    int ntones;
};

/* ---- events from the media threads -> INFO ---- */

static void on_media_event(void *arg, const char *call_id, int leg, int event, int ms)
{
    char line[320];
    snprintf(line, sizeof line, "%d %d %d %s", leg, event, ms, call_id);
    if (mailbox_post((struct mailbox *)arg, line) != 0)
        log_warn(call_id, "DTMF event lost: the signalling loop's queue is full");
}

/* The leg whose party has telephone-event when the call translates, or -1. */
static int event_leg(const struct call *c)
{
    return c->dtmf_translate ? MEDIA_LEG_A : c->dtmf_translate_b ? MEDIA_LEG_B : -1;
}

static void on_event_line(void *arg, const char *text)
{
    struct dtmf_relay *d = arg;
    int leg, event, ms, off = 0;
    if (!d->cs || sscanf(text, "%d %d %d %n", &leg, &event, &ms, &off) != 3 || !off)
        return;
    const char *call_id = text + off;
    struct call *c = calls_find_local(d->cs, call_id);
    if (!c || c->state != CALL_CONFIRMED || event_leg(c) < 0 || leg != event_leg(c))
        return;
    char body[64];
    if (ms < DTMF_INFO_MIN_MS)
        ms = DTMF_INFO_MIN_MS;
    if (dtmf_info_format(event, ms, body, sizeof body) < 0)
        return;
    struct dlg_side *other = leg == MEDIA_LEG_A ? &c->b : &c->a;
    nta_outgoing_t *o = dlg_send_body(c->calls, other, sip_method_info, "INFO", 0,
                                      "application/dtmf-relay", body, NULL, NULL, NULL);
    if (!o) {
        log_warn(c->a.call_id, "call %s: cannot send the INFO for a DTMF event", c->uuid);
        return;
    }
    nta_outgoing_destroy(o);
    log_info(c->a.call_id, "call %s: RFC 4733 event %d (%d ms) from the %s sent as INFO", c->uuid,
             event, ms, leg == MEDIA_LEG_A ? "caller" : "callee");
    call_publish(c); /* the other dialog's CSeq moved: any node continuing the call must know */
}

/* ---- INFO -> RFC 4733 ---- */

static void arm(struct dtmf_relay *d);

/* Sends the tone's next packet; 1 when it is finished (or its call is gone). */
static int step(struct dtmf_relay *d, struct tone *t)
{
    struct call *c = d->cs ? calls_find_local(d->cs, t->call_id) : NULL;
    if (!c || c->state != CALL_CONFIRMED || !c->media)
        return 1;
    int first = t->sent == 0;
    if (t->sent < t->total) {
        t->sent += SAMPLES_PER_TICK;
        if (t->sent > t->total)
            t->sent = t->total;
    }
    int end = t->sent >= t->total;
    if (media_leg_send_event(c->media, t->leg, t->event, t->sent, end, first) != 0)
        return 1;
    return end && ++t->ends >= END_PACKETS;
}

/* Plays the head tone of every call with one. */
static void tick(su_root_magic_t *m, su_timer_t *timer, su_timer_arg_t *arg)
{
    (void)m;
    (void)timer;
    struct dtmf_relay *d = (struct dtmf_relay *)arg;
    d->ticking = 0;
    for (struct tone **p = &d->tones; *p;) {
        struct tone *t = *p;
        int head = 1; /* no earlier tone of the same call */
        for (struct tone *o = d->tones; o != t; o = o->next)
            if (!strcmp(o->call_id, t->call_id))
                head = 0;
        if (head && step(d, t)) {
            *p = t->next;
            free(t);
            d->ntones--;
            continue;
        }
        p = &t->next;
    }
    arm(d);
}

static void arm(struct dtmf_relay *d)
{
    if (d->tones && !d->ticking && su_timer_set(d->timer, tick, (su_timer_arg_t *)d) == 0)
        d->ticking = 1;
}

int dtmf_relay_info(struct call *c, int from_a, nta_incoming_t *irq, sip_t const *sip)
{
    struct dtmf_relay *d = calls_deps(c->calls)->dtmf;
    int event, ms;
    /* A digit from the party without telephone-event, played toward the one with it. */
    int toward = from_a ? MEDIA_LEG_B : MEDIA_LEG_A;
    if (!d || event_leg(c) != toward || !sip->sip_payload || !sip->sip_content_type ||
        dtmf_info_parse(sip->sip_content_type->c_type, sip->sip_payload->pl_data,
                        sip->sip_payload->pl_len, &event, &ms) != 0)
        return 0;
    struct tone *t = d->ntones < MAX_TONES ? calloc(1, sizeof *t) : NULL;
    if (!t || strlen(c->a.call_id) >= sizeof t->call_id) {
        free(t);
        nta_incoming_treply(irq, SIP_503_SERVICE_UNAVAILABLE, TAG_END());
        nta_incoming_destroy(irq);
        return 1;
    }
    strcpy(t->call_id, c->a.call_id);
    t->leg = toward;
    t->event = event;
    t->total = (uint32_t)ms * 8;
    struct tone **p = &d->tones;
    while (*p)
        p = &(*p)->next;
    *p = t;
    d->ntones++;
    nta_incoming_treply(irq, SIP_200_OK, TAG_END());
    nta_incoming_destroy(irq);
    log_info(c->a.call_id, "call %s: INFO digit %d (%d ms) from the %s played as RFC 4733", c->uuid,
             event, ms, from_a ? "caller" : "callee");
    call_publish(c); /* the sender's CSeq moved */
    if (!d->ticking) /* the first packet goes now, the rest every TICK_MS */
        tick(NULL, NULL, (su_timer_arg_t *)d);
    return 1;
}

char *dtmf_relay_offer(struct call *c, char *sdp)
{
    if (!sdp || !c->offer || dtmf_sdp_event_pt(c->offer, strlen(c->offer)) >= 0 ||
        dtmf_sdp_event_pt(sdp, strlen(sdp)) >= 0)
        return sdp; /* A has events (relay, or the other way), or they are offered already */
    int pt = dtmf_sdp_free_pt(sdp, strlen(sdp));
    char *with = pt >= 0 ? dtmf_sdp_add_event(sdp, pt) : NULL;
    if (!with)
        return sdp; /* B is offered no events: its INFO still passes through */
    free(sdp);
    return with;
}

void dtmf_relay_answer(struct call *c, const char *b_sdp, size_t b_len, char **sdp)
{
    if (!c->media || !c->offer || !*sdp)
        return;
    int pt_a = dtmf_sdp_event_pt(c->offer, strlen(c->offer));
    int pt_b = dtmf_sdp_event_pt(b_sdp, b_len);
    c->dtmf_translate = 0;
    c->dtmf_translate_b = 0;
    if (pt_a < 0 && pt_b >= 0) {
        /* B took the events the node offered for A: A, which offered none, must not see them
         * in its answer (call_codec_answer leaves out what A did not offer; this is for an
         * answer it did not rewrite). */
        if (dtmf_sdp_event_pt(*sdp, strlen(*sdp)) >= 0) {
            char *without = dtmf_sdp_drop_event(*sdp);
            if (!without)
                return; /* A may then send events B's leg takes: still translated */
            free(*sdp);
            *sdp = without;
        }
        c->dtmf_translate_b = 1;
        c->dtmf_pt_b = pt_b;
        media_leg_set_events(c->media, MEDIA_LEG_B, pt_b, 1);
        return;
    }
    if (pt_a < 0 || pt_b >= 0) { /* both have it (plain relay) or neither: nothing to do */
        media_leg_set_events(c->media, MEDIA_LEG_A, pt_a, 0);
        return;
    }
    char *with = dtmf_sdp_add_event(*sdp, pt_a);
    if (!with)
        return; /* A then sends no events: DTMF is lost, the call goes on */
    free(*sdp);
    *sdp = with;
    c->dtmf_translate = 1;
    c->dtmf_pt_a = pt_a;
    media_leg_set_events(c->media, MEDIA_LEG_A, pt_a, 1);
}

/* Every telephone-event format out of sdp (taken): the transcoder offers one per clock. */
static char *drop_events(char *sdp)
{
    for (int i = 0; i < 4 && dtmf_sdp_event_pt(sdp, strlen(sdp)) >= 0; i++) {
        char *without = dtmf_sdp_drop_event(sdp);
        if (!without)
            break;
        free(sdp);
        sdp = without;
    }
    return sdp;
}

char *dtmf_relay_midcall(struct call *c, int from_leg, const char *body, size_t len, int offer,
                         char *sdp)
{
    if (!sdp || !(c->dtmf_translate || c->dtmf_translate_b))
        return sdp;
    int has = c->dtmf_translate ? MEDIA_LEG_A : MEDIA_LEG_B; /* the leg with events */
    int *pt = c->dtmf_translate ? &c->dtmf_pt_a : &c->dtmf_pt_b;
    if (from_leg == has) { /* it may renumber its events: follow */
        int now = dtmf_sdp_event_pt(body, len);
        if (now >= 0 && now != *pt) {
            *pt = now;
            if (c->media)
                media_leg_set_events(c->media, has, now, 1);
        }
    }
    int present = dtmf_sdp_event_pt(sdp, strlen(sdp)) >= 0;
    char *out = NULL;
    /* An answer may carry them only if the offer it answers (that leg's latest SDP) had them. */
    const char *asked = c->sdp_party[has];
    int may = offer || (asked && dtmf_sdp_event_pt(asked, strlen(asked)) >= 0);
    if (from_leg != has && may)             /* toward the leg with events: keep them at its type */
        out = dtmf_sdp_add_event(sdp, *pt); /* NULL when pt is listed already */
    else if (from_leg == has && present)
        return drop_events(sdp); /* toward the leg without: it never had them, at any clock */
    if (!out)
        return sdp;
    free(sdp);
    return out;
}

struct dtmf_relay *dtmf_relay_create(su_root_t *root, struct media_engine *media)
{
    struct dtmf_relay *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->media = media;
    d->events = mailbox_create(root, on_event_line, d);
    d->timer = su_timer_create(su_root_task(root), TICK_MS);
    if (!d->events || !d->timer) {
        dtmf_relay_destroy(d);
        return NULL;
    }
    if (media)
        media_engine_set_event_sink(media, on_media_event, d->events);
    return d;
}

void dtmf_relay_bind(struct dtmf_relay *d, struct calls *cs)
{
    d->cs = cs;
}

void dtmf_relay_destroy(struct dtmf_relay *d)
{
    if (!d)
        return;
    if (d->media)
        media_engine_set_event_sink(d->media, NULL, NULL);
    if (d->timer)
        su_timer_destroy(d->timer);
    mailbox_destroy(d->events);
    while (d->tones) {
        struct tone *t = d->tones;
        d->tones = t->next;
        free(t);
    }
    free(d);
}
