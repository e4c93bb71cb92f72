/* 100rel as a B2BUA (RFC 3262): each side is its own hop. Toward the callee the node is the UAC:
 * it PRACKs every reliable 18x on the fork's early dialog. Toward the caller it is the UAS: nta
 * keeps the reliable 18x (RSeq, retransmission, holding back a 2xx until an 18x with SDP is
 * PRACKed) and matches the caller's PRACK to it; a PRACK nta cannot match reaches dialog.c and
 * gets 481. */
#include "sip/prack.h"

#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_tagarg.h>

int prack_caller_mode(sip_t const *sip)
{
    if (sip->sip_require && sip_has_feature(sip->sip_require, "100rel"))
        return 2;
    if (sip->sip_supported && sip_has_feature(sip->sip_supported, "100rel"))
        return 1;
    return 0;
}

/* Reliable 18x to A that nta still lists, each with the call as its callback's magic: every one
 * leaves the list (nta_reliable_destroy) when PRACKed or flushed by a final response, so nta
 * never calls back into a call that is gone. */
#define PRACK_MAX_REL 8

struct prack_state {
    int answered_early; /* A got B's SDP in a reliable 18x: the 2xx carries none */
    char *b_early_sdp;  /* B's SDP from its 18x, for a 2xx that carries none */
    struct {
        nta_reliable_t *rel;
        int sdp;
    } rel[PRACK_MAX_REL];
    int nrel;
    nta_incoming_t *held; /* A's INVITE whose 2xx nta holds until an 18x with SDP is PRACKed */
};

static struct prack_state *state(struct call *c)
{
    if (!c->prack)
        c->prack = calloc(1, sizeof *c->prack);
    return c->prack;
}

static int sdp_pending(const struct prack_state *p)
{
    for (int i = 0; i < p->nrel; i++)
        if (p->rel[i].sdp)
            return 1;
    return 0;
}

static void forget_rel(struct prack_state *p, nta_reliable_t *rel)
{
    for (int i = 0; i < p->nrel; i++)
        if (p->rel[i].rel == rel) {
            p->rel[i] = p->rel[--p->nrel];
            break;
        }
    /* nta 1.12.11 also queues a new reliable 18x behind any one still listed, PRACKed or not,
     * so a listed PRACKed 183 would hold a later 180 back until the final response. */
    nta_reliable_destroy(rel);
}

/* A PRACK from the caller for one of our reliable 18x (prack set), or nta flushing an unPRACKed
 * one as a final response goes out (prack NULL). */
static int on_prack_from_a(nta_reliable_magic_t *magic, nta_reliable_t *rel, nta_incoming_t *prack,
                           sip_t const *sip)
{
    struct call *c = (struct call *)magic;
    struct prack_state *p = c->prack;
    forget_rel(p, rel);
    if (!prack)
        return 0;
    if (sip && sip->sip_payload && sip->sip_payload->pl_len) {
        /* An offer in PRACK (RFC 3262 5) would start a second negotiation in the early dialog;
         * the node anchors media on the first one only. */
        nta_incoming_treply(prack, SIP_488_NOT_ACCEPTABLE, TAG_END());
    } else {
        nta_incoming_treply(prack, SIP_200_OK, TAG_END());
    }
    nta_incoming_destroy(prack);
    log_debug(c->a.call_id, "call %s: PRACK from the caller (RAck %u)", c->uuid,
              sip && sip->sip_rack ? sip->sip_rack->ra_response : 0);
    if (p->held && !sdp_pending(p)) {
        /* nta sends the held 2xx once we return; destroying now (inside its callback) only
         * marks the transaction, it sends no 500. */
        nta_incoming_destroy(p->held);
        p->held = NULL;
    }
    return 0;
}

int prack_reply_a(struct call *c, int status, const char *phrase, const char *contact,
                  const char *sdp)
{
    struct prack_state *p = c->a_100rel ? state(c) : NULL;
    if (p && p->nrel < PRACK_MAX_REL && status > 100 && status < 200) {
        nta_reliable_t *rel = nta_reliable_treply(
            c->irq, on_prack_from_a, (nta_reliable_magic_t *)c, status, phrase,
            SIPTAG_CONTACT_STR(contact), TAG_IF(sdp, SIPTAG_CONTENT_TYPE_STR("application/sdp")),
            TAG_IF(sdp, SIPTAG_PAYLOAD_STR(sdp)), TAG_END());
        if (rel) {
            p->rel[p->nrel].rel = rel;
            p->rel[p->nrel++].sdp = sdp != NULL;
            if (sdp)
                p->answered_early = 1;
            return 0;
        }
        /* nta refuses after a final response or with RSeq exhausted: fall back to plain. */
        log_warn(c->a.call_id, "call %s: reliable %d to the caller refused, sent unreliably",
                 c->uuid, status);
    }
    /* (Beyond PRACK_MAX_REL unPRACKed ones nta itself still sends reliably to a caller that
     * requires 100rel, with its own callback that answers the PRACK.) */
    return nta_incoming_treply(c->irq, status, phrase, SIPTAG_CONTACT_STR(contact),
                               TAG_IF(sdp, SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                               TAG_IF(sdp, SIPTAG_PAYLOAD_STR(sdp)), TAG_END());
}

int prack_hold_final(struct call *c)
{
    struct prack_state *p = c->prack;
    if (!p || !c->irq || !sdp_pending(p))
        return 0;
    p->held = c->irq;
    c->irq = NULL;
    return 1;
}

void prack_abandon(struct call *c)
{
    struct prack_state *p = c->prack;
    if (!p)
        return;
    if (p->held) /* the call ended before A PRACKed: its 2xx becomes a 500, flushing the 18x */
        nta_incoming_destroy(p->held);
    while (p->nrel) /* only when A's INVITE is still open; its final response follows */
        forget_rel(p, p->rel[0].rel);
    free(p->b_early_sdp);
    free(p);
    c->prack = NULL;
}

static int on_prack_answer(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, sip_t const *sip)
{
    (void)magic;
    int status = sip && sip->sip_status ? sip->sip_status->st_status : 408;
    if (status < 200)
        return 0;
    if (status >= 300)
        log_warn(sip && sip->sip_call_id ? sip->sip_call_id->i_id : NULL,
                 "callee answered our PRACK with %d", status);
    nta_outgoing_destroy(orq);
    return 0;
}

int prack_fork_provisional(struct call *c, struct fork *f, sip_t const *sip)
{
    if (!sip->sip_rseq || !sip->sip_require || !sip_has_feature(sip->sip_require, "100rel") ||
        !sip->sip_to || !sip->sip_to->a_tag || !f->orq)
        return 0;
    uint32_t rseq = (uint32_t)sip->sip_rseq->rs_response;
    uint32_t last = nta_outgoing_rseq(f->orq);
    if (last && rseq <= last)
        return 1; /* RFC 3262 4: a retransmission is neither PRACKed again nor processed */
    /* The 18x creates the early dialog the PRACK travels in (its To tag, Contact, route). */
    b2bua_learn_dialog(f, sip);
    char rack[64];
    snprintf(rack, sizeof rack, "RAck: %u %lu INVITE\r\n", rseq, f->invite_cseq);
    nta_outgoing_t *pr = dlg_send_with(c->calls, &f->side, sip_method_prack, "PRACK", 0, NULL, rack,
                                       on_prack_answer, NULL);
    if (!pr) {
        log_warn(c->a.call_id, "call %s: cannot PRACK the callee's %d", c->uuid,
                 sip->sip_status->st_status);
        return 0;
    }
    nta_outgoing_setrseq(f->orq, rseq);
    return 0;
}

void prack_remember_early_answer(struct call *c, const char *sdp, size_t len)
{
    struct prack_state *p = state(c);
    char *copy = p ? strndup(sdp, len) : NULL;
    if (!copy)
        return; /* only a 2xx without SDP would miss it; that call then fails to negotiate */
    free(p->b_early_sdp);
    p->b_early_sdp = copy;
}

void prack_final_answer(struct call *c, const char **body, size_t *len)
{
    const struct prack_state *p = c->prack;
    if ((*body && *len) || !p)
        return;
    if (!p->b_early_sdp || p->answered_early) {
        *body = NULL;
        *len = 0;
        return;
    }
    *body = p->b_early_sdp;
    *len = strlen(p->b_early_sdp);
}
