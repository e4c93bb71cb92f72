/* The record's "media" and "slots" objects: per leg the transcoding toward it (codecs by rtpmap
 * name and clock, not by enum value, so nodes of different builds read each other's records) and
 * its RFC 4733 translation; and the ids of the gateway and tenant whose call slots the call
 * holds. The codec lists and payload clocks come back from the stored SDP (call_codec_restore). */
#include "sip/call_media_record.h"

#include "common/log.h"
#include "media/media.h"
#include "media/media_codec.h"
#include "sip/call.h"

#include <stdio.h>
#include <string.h>

static const char *const leg_key[2] = {"a", "b"};

/* The DTMF translation state of struct call, per leg: the leg's telephone-event payload type and
 * whether the node translates (the leg has events, the other party has not). The one place that
 * maps the call's dtmf_* fields to legs: a field added there is added here, nowhere else. */
static void dtmf_get(const struct call *c, int leg, int *pt, int *translate)
{
    *pt = -1;
    *translate = 0;
    if (leg == MEDIA_LEG_A && c->dtmf_translate) {
        *pt = c->dtmf_pt_a;
        *translate = 1;
    } else if (leg == MEDIA_LEG_B && c->dtmf_translate_b) {
        *pt = c->dtmf_pt_b;
        *translate = 1;
    }
}

static void dtmf_set(struct call *c, int leg, int pt, int translate)
{
    if (leg == MEDIA_LEG_A) {
        c->dtmf_translate = translate;
        c->dtmf_pt_a = translate ? pt : 0;
    } else if (leg == MEDIA_LEG_B) {
        c->dtmf_translate_b = translate;
        c->dtmf_pt_b = translate ? pt : 0;
    }
}

static json_t *codec_json(int codec)
{
    const struct media_codec_info *k = media_codec_info(codec);
    return k ? json_pack("{s:s, s:i}", "name", k->name, "clock", k->rtp_clock) : json_null();
}

static int codec_from(json_t *o)
{
    const char *name = json_string_value(json_object_get(o, "name"));
    int clock = (int)json_integer_value(json_object_get(o, "clock"));
    return name ? media_codec_find(name, clock) : MEDIA_CODEC_NONE;
}

static json_t *transcode_json(const struct media_transcode *t)
{
    return json_pack("{s:i, s:o, s:i, s:o, s:i, s:i, s:i, s:i}", "from_pt", t->from_pt,
                     "from_codec", codec_json(t->from_codec), "to_pt", t->to_pt, "to_codec",
                     codec_json(t->to_codec), "from_event_pt", t->from_event_pt, "from_event_hz",
                     t->from_event_hz, "to_event_pt", t->to_event_pt, "to_event_hz",
                     t->to_event_hz);
}

/* 0 and *t filled, or -1 when o is no transcoding this build can run. */
static int transcode_from(json_t *o, struct media_transcode *t)
{
    if (!json_is_object(o))
        return -1;
    *t = (struct media_transcode){
        .from_pt = (int)json_integer_value(json_object_get(o, "from_pt")),
        .from_codec = codec_from(json_object_get(o, "from_codec")),
        .to_pt = (int)json_integer_value(json_object_get(o, "to_pt")),
        .to_codec = codec_from(json_object_get(o, "to_codec")),
        .from_event_pt = (int)json_integer_value(json_object_get(o, "from_event_pt")),
        .from_event_hz = (int)json_integer_value(json_object_get(o, "from_event_hz")),
        .to_event_pt = (int)json_integer_value(json_object_get(o, "to_event_pt")),
        .to_event_hz = (int)json_integer_value(json_object_get(o, "to_event_hz")),
    };
    return t->from_codec != MEDIA_CODEC_NONE && t->to_codec != MEDIA_CODEC_NONE ? 0 : -1;
}

void call_media_record_to_json(const struct call *c, json_t *j)
{
    json_t *media = j ? json_object() : NULL;
    if (!media)
        return;
    for (int leg = MEDIA_LEG_A; leg <= MEDIA_LEG_B; leg++) {
        int pt, translate;
        dtmf_get(c, leg, &pt, &translate);
        json_t *l = json_pack("{s:i, s:b}", "dtmf_pt", pt, "dtmf_translate", translate);
        if (l && c->codecs.xc_on[leg])
            json_object_set_new(l, "transcode", transcode_json(&c->codecs.xc[leg]));
        if (l)
            json_object_set_new(media, leg_key[leg], l);
    }
    json_object_set_new(j, "media", media);
    if (c->gw_slot[0] || c->tenant_slot[0])
        json_object_set_new(
            j, "slots", json_pack("{s:s, s:s}", "gateway", c->gw_slot, "tenant", c->tenant_slot));
}

void call_media_record_from_json(struct call *c, json_t *j)
{
    json_t *media = json_object_get(j, "media");
    for (int leg = MEDIA_LEG_A; leg <= MEDIA_LEG_B; leg++) {
        json_t *l = json_object_get(media, leg_key[leg]);
        json_t *pt = json_object_get(l, "dtmf_pt");
        dtmf_set(c, leg, json_is_integer(pt) ? (int)json_integer_value(pt) : -1,
                 json_is_true(json_object_get(l, "dtmf_translate")) && json_is_integer(pt));
        json_t *t = json_object_get(l, "transcode");
        c->codecs.xc_on[leg] = t && transcode_from(t, &c->codecs.xc[leg]) == 0;
        if (t && !c->codecs.xc_on[leg])
            log_warn(c->a.call_id,
                     "call %s: the record's transcoding toward leg %s is unknown here", c->uuid,
                     leg_key[leg]);
    }
    json_t *slots = json_object_get(j, "slots");
    const char *gw = json_string_value(json_object_get(slots, "gateway"));
    const char *tenant = json_string_value(json_object_get(slots, "tenant"));
    snprintf(c->gw_slot, sizeof c->gw_slot, "%s", gw ? gw : "");
    snprintf(c->tenant_slot, sizeof c->tenant_slot, "%s", tenant ? tenant : "");
}

void call_media_restore(struct call *c)
{
    if (!c->media)
        return;
    call_codec_restore(c);
    for (int leg = MEDIA_LEG_A; leg <= MEDIA_LEG_B; leg++) {
        int pt, translate;
        dtmf_get(c, leg, &pt, &translate);
        if (translate && media_leg_set_events(c->media, leg, pt, 1) != 0)
            log_warn(c->a.call_id, "call %s: DTMF translation on leg %s not restored", c->uuid,
                     leg_key[leg]);
        else if (translate)
            log_info(c->a.call_id,
                     "call %s: DTMF translation (leg %s, telephone-event %d) restored", c->uuid,
                     leg_key[leg], pt);
    }
}
