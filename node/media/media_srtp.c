/* SRTP on a leg (RFC 3711, keys from SDES, RFC 4568) through libsrtp2: packets received on an
 * SRTP leg are unprotected before the relay looks at them, packets sent toward one are protected.
 * Contexts are created on the signalling thread (a call's setup, never per packet) and used
 * under the session lock on the media thread; libsrtp's global init runs once per process. */
#include "media/media_internal.h"

#include <pthread.h>
#include <string.h>

static pthread_once_t srtp_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t srtp_init_status = srtp_err_status_fail;

static void srtp_init_once(void)
{
    srtp_init_status = srtp_init();
}

int media_srtp_global_init(void)
{
    /* srtp_shutdown is never called: the crypto kernel is process-wide and several engines
     * (the unit tests) may come and go; its few static tables stay reachable. */
    pthread_once(&srtp_once, srtp_init_once);
    return srtp_init_status == srtp_err_status_ok ? 0 : -1;
}

/* Sets the policy's RTP and RTCP crypto for a suite name; -1 for one we do not support. RFC 4568
 * 6.2.1: with the 32-bit suite SRTCP still carries an 80-bit tag. */
static int suite_policy(const char *suite, srtp_policy_t *p)
{
    if (strcmp(suite, "AES_CM_128_HMAC_SHA1_80") == 0)
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtp);
    else if (strcmp(suite, "AES_CM_128_HMAC_SHA1_32") == 0)
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p->rtp);
    else
        return -1;
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
    return 0;
}

static int make_ctx(const char *suite, const uint8_t *key, int inbound, srtp_t *out)
{
    srtp_policy_t p;
    memset(&p, 0, sizeof p);
    if (suite_policy(suite, &p) != 0)
        return -1;
    uint8_t k[MEDIA_SRTP_KEY_LEN];
    memcpy(k, key, sizeof k);
    p.key = k;
    p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    p.window_size = 128;
    /* The plain leg's phone may resend a packet; that must not kill the stream toward us. */
    p.allow_repeat_tx = 1;
    srtp_err_status_t st = srtp_create(out, &p);
    memset(k, 0, sizeof k);
    if (st != srtp_err_status_ok) {
        *out = NULL;
        return -1;
    }
    return 0;
}

int media_leg_set_srtp(struct media_session *s, int leg, const char *suite, const uint8_t *rx_key,
                       const uint8_t *tx_key)
{
    if (leg != MEDIA_LEG_A && leg != MEDIA_LEG_B)
        return -1;
    srtp_t rx = NULL, tx = NULL;
    if (suite) {
        if (!rx_key || !tx_key || media_srtp_global_init() != 0)
            return -1;
        if (make_ctx(suite, rx_key, 1, &rx) != 0)
            return -1;
        if (make_ctx(suite, tx_key, 0, &tx) != 0) {
            srtp_dealloc(rx);
            return -1;
        }
    }
    pthread_mutex_lock(&s->lock);
    struct media_leg *l = &s->leg[leg];
    srtp_t old_rx = l->srtp_rx, old_tx = l->srtp_tx;
    l->srtp_rx = rx;
    l->srtp_tx = tx;
    pthread_mutex_unlock(&s->lock);
    if (old_rx)
        srtp_dealloc(old_rx);
    if (old_tx)
        srtp_dealloc(old_tx);
    return 0;
}

int media_srtp_unprotect(struct media_leg *l, int kind, uint8_t *pkt, size_t *len)
{
    if (!l->srtp_rx)
        return 0;
    if (*len > MEDIA_MAX_PACKET)
        return -1;
    int n = (int)*len;
    srtp_err_status_t st = kind == MEDIA_RTP ? srtp_unprotect(l->srtp_rx, pkt, &n)
                                             : srtp_unprotect_rtcp(l->srtp_rx, pkt, &n);
    if (st != srtp_err_status_ok || n < 0)
        return -1;
    *len = (size_t)n;
    return 0;
}

int media_srtp_protect(struct media_leg *l, int kind, uint8_t *pkt, size_t *len)
{
    if (!l->srtp_tx)
        return 0;
    /* The caller's buffer holds MEDIA_SRTP_ROOM past MEDIA_MAX_PACKET (media_internal.h). */
    if (*len > MEDIA_MAX_PACKET)
        return -1;
    int n = (int)*len;
    srtp_err_status_t st = kind == MEDIA_RTP ? srtp_protect(l->srtp_tx, pkt, &n)
                                             : srtp_protect_rtcp(l->srtp_tx, pkt, &n);
    if (st != srtp_err_status_ok || n < 0)
        return -1;
    *len = (size_t)n;
    return 0;
}

void media_srtp_free_leg(struct media_leg *l)
{
    if (l->srtp_rx)
        srtp_dealloc(l->srtp_rx);
    if (l->srtp_tx)
        srtp_dealloc(l->srtp_tx);
    l->srtp_rx = l->srtp_tx = NULL;
}
