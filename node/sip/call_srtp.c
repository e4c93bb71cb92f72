/* SRTP with SDES keys on a call's legs: which leg is SRTP, the node's keys, and the SDP each
 * party is sent. The node terminates SRTP on every SRTP leg (it never passes a party's key on),
 * so an SRTP phone can talk to a plain-RTP gateway, and the relay can still rewrite payloads. */
#include "sip/call.h"

#include "common/log.h"
#include "media/media.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(SDP_SRTP_KEY_LEN == MEDIA_SRTP_KEY_LEN, "one SRTP key length on both sides");

int call_srtp_offer(struct call *c, const struct sdp_audio *a_offer)
{
    memset(c->srtp, 0, sizeof c->srtp);
    c->srtp_call = a_offer->savp && a_offer->has_crypto;
    if (!c->srtp_call)
        return 0;
    const struct sdp_crypto *k = &a_offer->crypto;
    /* The answer to A must repeat the tag and suite of the line it accepts (RFC 4568 5.1.2). */
    if (sdp_crypto_generate(&c->srtp[MEDIA_LEG_A].node, k->tag, k->suite) != 0)
        return -1;
    c->srtp[MEDIA_LEG_A].on = 1;
    if (!c->plan) { /* a gateway leg stays plain: trunks rarely speak SDES */
        if (sdp_crypto_generate(&c->srtp[MEDIA_LEG_B].node, 1, k->suite) != 0)
            return -1;
        c->srtp[MEDIA_LEG_B].on = 1;
    }
    return call_srtp_learn(c, MEDIA_LEG_A, a_offer);
}

int call_srtp_learn(struct call *c, int from, const struct sdp_audio *sdp)
{
    if (!c->media || (from != MEDIA_LEG_A && from != MEDIA_LEG_B) || !c->srtp[from].on)
        return 0;
    if (!sdp->savp || !sdp->has_crypto) {
        /* The callee answered our SAVP offer with plain RTP: it runs plain, and so do we. */
        log_info(c->a.call_id, "call %s: leg %c answered without SRTP: plain RTP on it", c->uuid,
                 from == MEDIA_LEG_A ? 'A' : 'B');
        c->srtp[from].on = 0;
        return media_leg_set_srtp(c->media, from, NULL, NULL, NULL);
    }
    /* Same key again (a re-INVITE, the 200 after a 183): keep the contexts, whose rollover
     * counters a fresh context would lose after 65536 packets. */
    if (c->srtp[from].have_party &&
        memcmp(&c->srtp[from].party, &sdp->crypto, sizeof sdp->crypto) == 0)
        return 0;
    if (media_leg_set_srtp(c->media, from, sdp->crypto.suite, sdp->crypto.key,
                           c->srtp[from].node.key) != 0) {
        log_warn(c->a.call_id, "call %s: SRTP keys for leg %c refused", c->uuid,
                 from == MEDIA_LEG_A ? 'A' : 'B');
        return -1;
    }
    c->srtp[from].party = sdp->crypto;
    c->srtp[from].have_party = 1;
    return 0;
}

char *call_srtp_rewrite(struct call *c, int toward, const char *sdp, size_t len, int port)
{
    char *out;
    if (!c->srtp_call || (toward != MEDIA_LEG_A && toward != MEDIA_LEG_B))
        out = sdp_rewrite_audio(sdp, len, c->media_ip, port);
    else
        out = sdp_rewrite_audio_srtp(sdp, len, c->media_ip, port,
                                     c->srtp[toward].on ? &c->srtp[toward].node : NULL);
    if (out)
        call_note_sdp(c, toward, 0, out, strlen(out));
    return out;
}

void call_note_sdp(struct call *c, int leg, int party, const char *sdp, size_t len)
{
    if (leg != MEDIA_LEG_A && leg != MEDIA_LEG_B)
        return;
    char *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, sdp, len);
    copy[len] = 0;
    char **slot = party ? &c->sdp_party[leg] : &c->sdp_sent[leg];
    free(*slot);
    *slot = copy;
}
