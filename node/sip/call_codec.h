/* Codec negotiation of a call's two legs, with transcoding where they share no codec: what the
 * node adds to an offer, how it fits the answer to the offer, and the transcoding it then asks
 * of the media session (media_leg_set_transcode). Used by b2bua.c (set-up) and dialog.c
 * (re-INVITE, UPDATE); the state lives in struct call. */
#ifndef TANDEM_CALL_CODEC_H
#define TANDEM_CALL_CODEC_H

#include "media/media.h"
#include "sip/sdp_codecs.h"

#include <stddef.h>

struct call;

/* Per call. Zeroed with the call; nothing in it is allocated. */
struct call_codecs {
    int pending;               /* an offer crossed the node and awaits its answer */
    int offer_leg;             /* MEDIA_LEG_A or MEDIA_LEG_B: who made it */
    struct sdp_codecs offer;   /* the offer as its party sent it */
    struct sdp_codecs seen[2]; /* each party's current list: names its payload types */
    char name[2][24];          /* the codec each party sends, as negotiated; "" unknown */
    int transcoding;           /* the last answer set transcoding up on a leg */
    /* The transcoding the last answer set toward each leg (xc_on[leg] 0: none), kept for the
     * record: a successor sets up the same (call_codec_restore). */
    int xc_on[2];
    struct media_transcode xc[2];
};

/* sdp: an offer from party `from`, already anchored on the node (malloc'ed; taken). When the
 * call's media is on this node and the offer has a codec the node can transcode, the codecs
 * it can transcode that the offer lacks are appended (lowest preference), so the other party
 * can pick one if it shares none. Returns the SDP to send (malloc'ed), sdp itself when nothing
 * changes; on failure the offer goes unchanged. */
char *call_codec_offer(struct call *c, int from, char *sdp);

/* sdp: the answer from party `from` to the pending offer, already anchored (malloc'ed; taken).
 * The answer to the offerer keeps only codecs of its own offer; when none is shared, it gets
 * its own first transcodable codec and the media session transcodes between the two. Sets or
 * clears transcoding on both legs. Returns the SDP for the offerer as call_codec_offer does. */
char *call_codec_answer(struct call *c, int from, char *sdp);

/* A recovered call's new media session (c->media) gets the transcoding of c->codecs.xc, and
 * each party's list (c->codecs.seen, from its stored SDP) with its payload clocks. */
void call_codec_restore(struct call *c);

/* sdp, a re-offer to party `leg` (malloc'ed, taken), keeps only the codecs the leg negotiated:
 * those of the party's last SDP (with its numbers) that the node had also sent it, so the
 * party stays on the codec the transcoding expects. Returns sdp itself when nothing changes. */
char *call_codec_reoffer(const struct call *c, int leg, char *sdp);

/* Name of payload type pt as party `leg` negotiated it ("opus", "PCMU"...), else what
 * media_payload_name says. */
const char *call_codec_name(const struct call *c, int leg, int pt, char *buf, size_t len);

#endif
