/* Offer/answer with transcoding (RFC 3264): the node offers the other party the caller's codecs
 * first and then the ones it can transcode to; when the answer picks one of those, the offerer
 * is answered with its own first transcodable codec and the media session transcodes. The same
 * runs for every offer in either direction (set-up, re-INVITE, UPDATE), so a codec change
 * mid-call is just another answer. Only the node holding the media does this: elsewhere the SDP
 * passes as before. */
#include "sip/call.h"

#include "common/log.h"
#include "media/media.h"
#include "media/media_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Codecs appended to offers, cheapest to transcode first: if the other party takes G.711 the
 * node spends the least. */
static const int added_order[] = {MEDIA_CODEC_PCMU, MEDIA_CODEC_PCMA, MEDIA_CODEC_G722,
                                  MEDIA_CODEC_OPUS};

static int codec_of(const struct sdp_codec *e)
{
    return media_codec_find(e->name, (int)e->rate);
}

/* Audio in the sense of "what the party sends as its voice": not events, comfort noise or
 * redundancy. */
static int is_voice(const struct sdp_codec *e)
{
    return !sdp_codec_is_event(e) && strcasecmp(e->name, "CN") != 0 &&
           strcasecmp(e->name, "red") != 0;
}

static int first_voice(const struct sdp_codecs *l)
{
    for (int i = 0; i < l->n; i++)
        if (is_voice(&l->c[i]))
            return i;
    return -1;
}

static int first_transcodable(const struct sdp_codecs *l)
{
    for (int i = 0; i < l->n; i++)
        if (codec_of(&l->c[i]) != MEDIA_CODEC_NONE)
            return i;
    return -1;
}

/* The telephone-event entry of l, preferring one at `rate`; -1 none. */
static int event_entry(const struct sdp_codecs *l, unsigned rate)
{
    int any = -1;
    for (int i = 0; i < l->n; i++)
        if (sdp_codec_is_event(&l->c[i])) {
            if (l->c[i].rate == rate)
                return i;
            if (any < 0)
                any = i;
        }
    return any;
}

static int pt_used(const struct sdp_codecs *l, int pt)
{
    for (int i = 0; i < l->n; i++)
        if (l->c[i].pt == pt)
            return 1;
    return 0;
}

/* A payload type for e in an offer to party `to`: the one that party already uses for the
 * codec (numbers must not change within a session, RFC 3264 8.3.2), else the lowest dynamic
 * type free in both the offer and that party's list. -1 when none is free. */
static int pick_pt(const struct call *c, int to, const struct sdp_codecs *out,
                   const struct sdp_codec *e)
{
    const struct sdp_codecs *known = &c->codecs.seen[to];
    int k = sdp_codecs_find(known, e);
    if (k >= 0 && !pt_used(out, known->c[k].pt))
        return known->c[k].pt;
    for (int pt = 96; pt <= 127; pt++)
        if (!pt_used(out, pt) && !pt_used(known, pt))
            return pt;
    return -1;
}

static void append(const struct call *c, int to, struct sdp_codecs *out, const char *name,
                   unsigned rate, const char *params, const char *fmtp, int static_pt)
{
    if (out->n >= SDP_MAX_CODECS)
        return;
    struct sdp_codec e = {0};
    snprintf(e.name, sizeof e.name, "%s", name);
    e.rate = rate;
    snprintf(e.params, sizeof e.params, "%s", params);
    snprintf(e.fmtp, sizeof e.fmtp, "%s", fmtp);
    e.pt = static_pt >= 0 && !pt_used(out, static_pt) ? static_pt : pick_pt(c, to, out, &e);
    if (e.pt >= 0)
        out->c[out->n++] = e;
}

/* Replaces sdp with the same SDP carrying list (sdp_codecs_write); keeps sdp on failure. */
static char *with_codecs(const struct call *c, char *sdp, const struct sdp_codecs *list)
{
    char *out = sdp_codecs_write(sdp, strlen(sdp), list);
    if (!out) {
        log_warn(c->a.call_id, "call %s: codec list not written; SDP passed unchanged", c->uuid);
        return sdp;
    }
    free(sdp);
    return out;
}

static char *codec_offer(struct call *c, int from, char *sdp)
{
    struct call_codecs *cc = &c->codecs;
    if (!sdp || !c->media || (from != MEDIA_LEG_A && from != MEDIA_LEG_B))
        return sdp;
    struct sdp_codecs offer;
    if (sdp_codecs_read(sdp, strlen(sdp), &offer) != 0) {
        cc->pending = 0;
        return sdp;
    }
    cc->pending = 1;
    cc->offer_leg = from;
    cc->offer = offer;
    cc->seen[from] = offer;
    if (first_transcodable(&offer) < 0)
        return sdp; /* nothing the node could transcode from */
    struct sdp_codecs out = offer;
    int to = !from, added_opus = 0;
    for (size_t i = 0; i < sizeof added_order / sizeof added_order[0]; i++) {
        const struct media_codec_info *k = media_codec_info(added_order[i]);
        struct sdp_codec probe = {0};
        snprintf(probe.name, sizeof probe.name, "%s", k->name);
        probe.rate = (unsigned)k->rtp_clock;
        if (k->channels > 1)
            snprintf(probe.params, sizeof probe.params, "%d", k->channels & 0xff);
        if (sdp_codecs_find(&out, &probe) >= 0)
            continue;
        append(c, to, &out, k->name, probe.rate, probe.params, "", k->static_pt);
        added_opus |= added_order[i] == MEDIA_CODEC_OPUS;
    }
    /* Events ride at the voice codec's clock (RFC 4733 2.1): with Opus added, offer them at
     * 48 kHz too, so a party that takes Opus can keep them on one clock. */
    int ev = event_entry(&offer, 48000);
    if (added_opus && ev >= 0 && offer.c[ev].rate != 48000)
        append(c, to, &out, offer.c[ev].name, 48000, "", offer.c[ev].fmtp, -1);
    return out.n == offer.n ? sdp : with_codecs(c, sdp, &out);
}

/* The transcoding spec for audio from `src` (entry of the sender's list) to `dst`, with the
 * senders' and receivers' event entries (NULL: none). */
static struct media_transcode spec_for(const struct sdp_codec *src, const struct sdp_codec *dst,
                                       const struct sdp_codec *ev_src,
                                       const struct sdp_codec *ev_dst)
{
    struct media_transcode t = {src->pt, codec_of(src), dst->pt, codec_of(dst), -1, 0, -1, 0};
    if (ev_src && ev_dst) {
        t.from_event_pt = ev_src->pt;
        t.from_event_hz = (int)ev_src->rate;
        t.to_event_pt = ev_dst->pt;
        t.to_event_hz = (int)ev_dst->rate;
    }
    return t;
}

/* Each payload type a party may send, with its clock, for the relay's jitter figures. */
static void tell_clocks(struct call *c, int leg, const struct sdp_codecs *l)
{
    for (int i = 0; i < l->n; i++)
        media_leg_set_clock(c->media, leg, l->c[i].pt,
                            sdp_codec_is_event(&l->c[i]) ? 0 : (int)l->c[i].rate);
}

static void set_leg(struct call *c, int leg, const struct media_transcode *t)
{
    int refused = media_leg_set_transcode(c->media, leg, t) != 0;
    if (refused)
        log_warn(c->a.call_id, "call %s: transcoding toward leg %c refused", c->uuid,
                 leg == MEDIA_LEG_A ? 'A' : 'B');
    c->codecs.xc_on[leg] = t && !refused;
    if (c->codecs.xc_on[leg])
        c->codecs.xc[leg] = *t;
}

static char *codec_answer(struct call *c, int from, char *sdp)
{
    struct call_codecs *cc = &c->codecs;
    if (!sdp || !c->media || !cc->pending || cc->offer_leg == from ||
        (from != MEDIA_LEG_A && from != MEDIA_LEG_B))
        return sdp;
    struct sdp_codecs ans_r;
    if (sdp_codecs_read(sdp, strlen(sdp), &ans_r) != 0)
        return sdp;
    int o = cc->offer_leg, r = from;
    const struct sdp_codecs *offer = &cc->offer;
    cc->seen[r] = ans_r;

    /* What the offerer may be answered: the answer's codecs that it offered itself, with its
     * own numbers and parameters, in the answerer's order. */
    struct sdp_codecs ans_o = {0};
    for (int i = 0; i < ans_r.n; i++) {
        int k = sdp_codecs_find(offer, &ans_r.c[i]);
        if (k >= 0 && sdp_codecs_find(&ans_o, &offer->c[k]) < 0)
            ans_o.c[ans_o.n++] = offer->c[k];
    }
    int rv = first_voice(&ans_r);
    const struct sdp_codec *r_voice = rv >= 0 ? &ans_r.c[rv] : NULL;
    int r_transcodable = r_voice && codec_of(r_voice) != MEDIA_CODEC_NONE;
    int fallback = first_voice(&ans_o) < 0;
    if (fallback) {
        /* Nothing in common: the offerer's own first transcodable codec, and events if both
         * sides have them. */
        int k = first_transcodable(offer);
        if (!r_transcodable || k < 0) {
            set_leg(c, o, NULL);
            set_leg(c, r, NULL);
            cc->transcoding = 0;
            return sdp; /* nothing the node can do: the parties sort it out as before */
        }
        ans_o.n = 0;
        ans_o.c[ans_o.n++] = offer->c[k];
        int eo = event_entry(offer, offer->c[k].rate);
        if (eo >= 0 && event_entry(&ans_r, r_voice->rate) >= 0)
            ans_o.c[ans_o.n++] = offer->c[eo];
    }
    int ov = first_transcodable(&ans_o);
    const struct sdp_codec *o_voice = ov >= 0 ? &ans_o.c[ov] : NULL;
    int eo = o_voice ? event_entry(&ans_o, o_voice->rate) : -1;
    int er = r_voice ? event_entry(&ans_r, r_voice->rate) : -1;
    const struct sdp_codec *ev_o = eo >= 0 ? &ans_o.c[eo] : NULL;
    const struct sdp_codec *ev_r = er >= 0 ? &ans_r.c[er] : NULL;

    /* Toward the offerer: the answerer sends its first voice codec, which the offerer may not
     * have offered (it picked one the node added). */
    int to_o = r_transcodable && o_voice && sdp_codecs_find(offer, r_voice) < 0;
    /* Toward the answerer: the offerer sends from ans_o, which the answerer lacks only in the
     * fallback. */
    int to_r = fallback && o_voice;
    struct media_transcode t;
    if (to_o) {
        t = spec_for(r_voice, o_voice, ev_r, ev_o);
        set_leg(c, o, &t);
    } else {
        set_leg(c, o, NULL);
    }
    if (to_r) {
        t = spec_for(o_voice, r_voice, ev_o, ev_r);
        set_leg(c, r, &t);
    } else {
        set_leg(c, r, NULL);
    }
    cc->transcoding = to_o || to_r;
    tell_clocks(c, r, &ans_r);
    tell_clocks(c, o, &ans_o);
    cc->seen[o] = ans_o;
    int fo = first_voice(&ans_o);
    snprintf(cc->name[o], sizeof cc->name[o], "%s", fo >= 0 ? ans_o.c[fo].name : "");
    snprintf(cc->name[r], sizeof cc->name[r], "%s", r_voice ? r_voice->name : "");
    if (cc->transcoding)
        log_info(c->a.call_id, "call %s: transcoding %s (leg %c) <-> %s (leg %c)", c->uuid,
                 cc->name[MEDIA_LEG_A], 'A', cc->name[MEDIA_LEG_B], 'B');
    int same = !fallback && ans_o.n == ans_r.n;
    for (int i = 0; same && i < ans_o.n; i++)
        same = ans_o.c[i].pt == ans_r.c[i].pt;
    return same ? sdp : with_codecs(c, sdp, &ans_o);
}

/* The SDP that goes to the other party is what the record keeps as sent to it (sdp_sent): a
 * successor re-offers that party exactly what it was last given (call_recover.c). */
static char *noted(struct call *c, int from, char *sdp)
{
    if (sdp && c->media && (from == MEDIA_LEG_A || from == MEDIA_LEG_B))
        call_note_sdp(c, !from, 0, sdp, strlen(sdp));
    return sdp;
}

char *call_codec_offer(struct call *c, int from, char *sdp)
{
    return noted(c, from, codec_offer(c, from, sdp));
}

char *call_codec_answer(struct call *c, int from, char *sdp)
{
    return noted(c, from, codec_answer(c, from, sdp));
}

void call_codec_restore(struct call *c)
{
    if (!c->media)
        return;
    for (int leg = MEDIA_LEG_A; leg <= MEDIA_LEG_B; leg++) {
        const char *p = c->sdp_party[leg];
        if (p && sdp_codecs_read(p, strlen(p), &c->codecs.seen[leg]) == 0)
            tell_clocks(c, leg, &c->codecs.seen[leg]);
        set_leg(c, leg, c->codecs.xc_on[leg] ? &c->codecs.xc[leg] : NULL);
    }
    c->codecs.pending = 0;
    c->codecs.transcoding = c->codecs.xc_on[MEDIA_LEG_A] || c->codecs.xc_on[MEDIA_LEG_B];
    if (c->codecs.transcoding)
        log_info(c->a.call_id, "call %s: transcoding %s (leg A) <-> %s (leg B) restored", c->uuid,
                 c->codecs.name[MEDIA_LEG_A], c->codecs.name[MEDIA_LEG_B]);
}

/* A transcoded call's leg is re-offered only the voice codec its transcoder speaks (with its
 * events and comfort noise): offered two, the party could answer the other and send what the
 * transcoder cannot decode. */
static void narrow_to_transcoded(const struct call *c, int leg, struct sdp_codecs *keep)
{
    const struct call_codecs *cc = &c->codecs;
    if (!(cc->xc_on[MEDIA_LEG_A] || cc->xc_on[MEDIA_LEG_B]) || !cc->name[leg][0])
        return;
    struct sdp_codecs only = {0};
    int voice = 0;
    for (int i = 0; i < keep->n; i++) {
        const struct sdp_codec *e = &keep->c[i];
        if (!is_voice(e) || (!voice && strcasecmp(e->name, cc->name[leg]) == 0)) {
            voice += is_voice(e);
            only.c[only.n++] = *e;
        }
    }
    if (voice)
        *keep = only;
}

char *call_codec_reoffer(const struct call *c, int leg, char *sdp)
{
    const char *p = c->sdp_party[leg], *s = c->sdp_sent[leg];
    struct sdp_codecs party, sent, keep = {0};
    if (!sdp || !p || !s || sdp_codecs_read(p, strlen(p), &party) != 0 ||
        sdp_codecs_read(s, strlen(s), &sent) != 0)
        return sdp;
    for (int i = 0; i < party.n; i++)
        if (sdp_codecs_find(&sent, &party.c[i]) >= 0)
            keep.c[keep.n++] = party.c[i];
    if (first_voice(&keep) < 0)
        return sdp; /* nothing in common that carries voice: offer what was sent before */
    narrow_to_transcoded(c, leg, &keep);
    return with_codecs(c, sdp, &keep);
}

const char *call_codec_name(const struct call *c, int leg, int pt, char *buf, size_t len)
{
    if ((leg == MEDIA_LEG_A || leg == MEDIA_LEG_B) && pt >= 0) {
        const struct sdp_codecs *l = &c->codecs.seen[leg];
        for (int i = 0; i < l->n; i++)
            if (l->c[i].pt == pt && !sdp_codec_is_event(&l->c[i])) {
                snprintf(buf, len, "%s", l->c[i].name);
                return buf;
            }
    }
    return media_payload_name(pt, buf, len);
}
