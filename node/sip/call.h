/* A call as the B2BUA holds it: two dialogs (A toward the caller, B toward the callee) and the
 * media session between them. Shared by b2bua.c (set-up), dialog.c (in-dialog requests) and
 * calls.c (the node's table of calls, persistence in Redis, clean-up). */
#ifndef TANDEM_CALL_H
#define TANDEM_CALL_H

#include <jansson.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/sip.h>

#include "common/config.h"
#include "common/node_status.h"
#include "sip/call_codec.h"
#include "sip/sdp_rewrite.h"
#include "sip/session_expires.h"
#include "sip/sip_server.h"

struct calls;
struct fork;
struct relay;
struct prack_state;
struct dtmf_relay;
struct gw_plan;
struct gateway_health;
struct routing_store;
struct media_engine;
struct media_session;
struct user_store;
struct reg_store;
struct call_store;
struct cdr;
struct cdr_writer;

/* One dialog, from our side: enough to send any in-dialog request on it from any node. */
struct dlg_side {
    char call_id[256];
    char local_hdr[640];  /* our From value when we send on this dialog (with our tag) */
    char remote_hdr[640]; /* our To value (the peer, with its tag once known) */
    char remote_target[512];
    char route[1024];      /* Route values in sending order, comma-separated; empty for none */
    char destination[160]; /* next hop: "sip:ip:port;transport=x" (the NAT-facing address) */
    unsigned long local_cseq, remote_cseq;
    int media_port; /* this node's RTP port facing the peer */
    char via[64];   /* address requests on this dialog leave from (a VIP taken over); "": ours */
    int via_port;   /* and its SIP port */
};

enum call_state { CALL_EARLY, CALL_CONFIRMED, CALL_ENDED };

struct call {
    char uuid[40];
    char domain[256], caller[128], callee[128];
    char node[64]; /* the node that holds the media */
    char media_ip[64];
    enum call_state state;
    long long created_ms, progress_ms, answered_ms;
    long long recovered_ms; /* when this node took the call over from a dead one; 0: its own */
    /* For the CDR: who the call was for after routing, and how it ended. */
    char tenant_id[40];
    char callee_routed[512]; /* the contact or number actually called */
    char gateway[128];       /* empty for calls between the tenant's own users */
    int final_status;        /* SIP status that ended set-up (200 when answered) */
    int q850_cause;          /* 16 normal clearing, 17 busy, 19 no answer, ... */
    char hangup_by[16];      /* "caller", "callee" or "system" */
    struct dlg_side a, b;

    /* Runtime state on the node that set the call up (absent in records read from Redis). */
    struct calls *calls;
    nta_incoming_t *irq; /* A's INVITE until its final response */
    struct fork *forks;
    int pending; /* forks without a final response */
    int best_status;
    char best_phrase[64];
    struct media_session *media;
    char *offer; /* A's SDP */
    int ringing_sent;
    int looking_up; /* a store lookup holds the call: a CANCEL must not free it */
    int cancelled;
    su_timer_t *setup_timer; /* rings for calls.answer_timeout at most */
    struct gw_plan *plan;    /* calls to gateways: the attempts in order */
    int tenant_max_calls;    /* the tenant's limits (0 / "": none), read with the caller */
    char tenant_max_cps[24];
    double answered_mono; /* clock_mono() at answer: media silence counts from here */
    int on_hold;
    int originated; /* set up by the node (REST originate): A was called first, no irq */
    struct relay *pending_relay; /* dialog.c: relayed requests awaiting the other party */
    /* prack.c (RFC 3262): A's 100rel (0 none, 1 Supported, 2 Require), and the early-dialog
     * state (reliable 18x to A, B's early SDP) prack.c owns; NULL until needed. */
    int a_100rel;
    struct prack_state *prack;
    /* session_timer.c (RFC 4028): what A's INVITE said, the interval asked of B, and once
     * answered the session's interval (0: no timer), refresher and deadline (unix ms). The last
     * three are in the record, so any node can refresh and a restarted owner still ends it. */
    struct st_params st_a;
    int st_asked;
    int st_interval;
    int st_party;
    long long st_deadline_ms;
    /* dtmf_relay.c: A has telephone-event (payload type dtmf_pt_a) and B has not, so the node
     * turns A's RFC 4733 events into INFO to B and B's INFO into events to A. */
    int dtmf_translate;
    int dtmf_pt_a;
    /* The other way round: B has telephone-event (payload type dtmf_pt_b, offered to it by the
     * node) and A has not; B's events become INFO to A, A's INFO events to B. */
    int dtmf_translate_b;
    int dtmf_pt_b;
    /* call_srtp.c, per leg (MEDIA_LEG_A, MEDIA_LEG_B): SDES SRTP terminated on the node. */
    int srtp_call; /* A offered SRTP: every SDP the node sends says the leg's profile */
    struct {
        int on;
        struct sdp_crypto node;  /* the node's key: it sends with it, tells the party */
        struct sdp_crypto party; /* the party's key from its SDP: the node receives with it */
        int have_party;
    } srtp[2];
    /* The latest SDP bodies per leg (MEDIA_LEG_A, MEDIA_LEG_B), malloc'ed: what the leg's party
     * sent, and what the node sent it. In the record, so a successor can rebuild the media
     * session (addresses, SRTP keys) and re-offer it (call_recover.c). */
    char *sdp_party[2], *sdp_sent[2];
    char failover_from[64];    /* the node that carried the call before a failover; "" if none */
    int node_sip_port;         /* the SIP port of the node that set the call up (its successor
                                * listens there on the node's address) */
    char *a_vias;              /* the caller's INVITE's Via headers while ringing (call_early.c) */
    int stored;                /* a record was written: the end must delete it */
    struct call_codecs codecs; /* call_codec.c: offer/answer and transcoding per leg */
    /* Ids of the gateway and tenant whose call slots the call holds (gateway_limits.c), for the
     * record: a successor renews them for as long as it carries the call. "": none. */
    char gw_slot[40], tenant_slot[40];
};

struct calls_deps {
    nta_agent_t *agent;
    su_root_t *root;
    const struct tandem_config *cfg;
    struct node_status *status;
    struct user_store *users;
    struct reg_store *regs;
    struct call_store *store;
    struct media_engine *media;
    struct ratelimit *rl;
    struct cdr_writer *cdrs; /* may be NULL: no CDRs */
    struct routing_store *routing;
    struct gateway_health *gateways; /* gateway_health.h: up/down, call limits; may be NULL */
    struct dtmf_relay *dtmf;         /* dtmf_relay.h: INFO <-> RFC 4733; may be NULL */
};

struct calls *calls_create(const struct calls_deps *deps);
void calls_destroy(struct calls *cs);

/* An INVITE without a To tag: a new call (b2bua.c). Takes ownership of irq. */
void calls_invite(struct calls *cs, nta_incoming_t *irq, sip_t const *sip,
                  const struct sip_source *src);

/* A request with a To tag: in-dialog (dialog.c). Takes ownership of irq. */
void calls_in_dialog(struct calls *cs, nta_incoming_t *irq, sip_t const *sip,
                     const struct sip_source *src);

/* ---- shared by the call modules (calls.c) ---- */
const struct calls_deps *calls_deps(const struct calls *cs);
struct call *call_new(struct calls *cs);
/* Adds the call to the node's table under both Call-IDs and writes its record to Redis. */
void call_publish(struct call *c);
/* Makes the call findable by its Call-IDs on this node without writing it to Redis. */
void call_index(struct call *c);
/* Gives the call the uuid the REST API already announced; -1 when taken or malformed. */
int call_rekey(struct call *c, const char *uuid);
/* Frees a call that is in no table and holds no media (a record read from Redis). */
void call_free_record(struct call *c);
/* The call is over: media released, record deleted, memory freed. */
void call_end(struct call *c, const char *why);
/* call_srtp.c: SRTP per leg. The caller's leg is SRTP iff its offer is RTP/SAVP with a key the
 * node supports; the callee's leg is offered the same profile (a node key of its own), except a
 * gateway leg, which is always plain RTP/AVP. */
/* From A's offer, before B is offered anything: picks each leg's mode and the node's keys, and
 * keys leg A. 0, or -1 when the media session refuses the keys (answer 488). */
int call_srtp_offer(struct call *c, const struct sdp_audio *a_offer);
/* A party's SDP (offer or answer) on leg `from`: keys the leg's receive side with its key.
 * An SRTP leg whose party answered plain RTP/AVP falls back to plain. 0, or -1 on refusal. */
int call_srtp_learn(struct call *c, int from, const struct sdp_audio *sdp);
/* sdp rewritten for the party on leg `toward` at the node's port (sdp_rewrite_audio_srtp with
 * the leg's node key, or plain); a call without SRTP keeps sdp_rewrite_audio. NULL on error. */
char *call_srtp_rewrite(struct call *c, int toward, const char *sdp, size_t len, int port);
/* Keeps a copy of the SDP a leg's party sent (party 1) or the node sent it (party 0) for the
 * record. Out of memory keeps the older copy: recovery then re-offers stale media. */
void call_note_sdp(struct call *c, int leg, int party, const char *sdp, size_t len);

/* call_cdr.c: the call's CDR as of end_ms (unix ms), and its submission to deps->cdrs (skipped
 * for what never was a call: no tenant yet, or why "challenged"). */
void call_cdr_fill(const struct call *c, long long end_ms, struct cdr *out);
void call_cdr_submit(const struct call *c, const char *why, long long end_ms);
struct call *calls_find_local(struct calls *cs, const char *call_id);
/* This node gives its calls up (it lost quorum, or it stops while a successor is ready): media
 * released and memory freed here, without CDRs, records left in Redis for the successor that
 * claims them. Calls still being set up are answered 503. Returns how many. */
int calls_let_go(struct calls *cs);
/* The same for the calls held here since before before_ms (unix ms; set up here, or recovered
 * here): those another node's claim took. */
int calls_let_go_before(struct calls *cs, long long before_ms);
/* Calls this node holds. */
int calls_count(struct calls *cs);
/* Calls of this node whose dialogs speak from address (a VIP taken over). */
int calls_count_via(struct calls *cs, const char *address);
struct call *calls_find_uuid(struct calls *cs, const char *uuid);
json_t *call_to_json(const struct call *c);
int call_from_json(struct call *c, json_t *j);
/* Our Contact URI for a dialog whose next hop uses this transport. */
void calls_contact(const struct calls *cs, const char *transport, char *out, size_t len);
/* Our Contact URI on a dialog: its VIP (dlg_side.via) when it has one, else calls_contact. */
void calls_side_contact(const struct calls *cs, const struct dlg_side *side, char *out, size_t len);

/* originate.c: a call the REST API asked for (JSON text from the mailbox): ring the extension
 * "from" first, then connect it to "to" (an extension or a number for the routes). */
void calls_originate(void *cs, const char *order);

/* dialog.c: a relayed request still open is answered 487 when its call goes. */
void dialog_abandon(struct call *c);
/* dialog.c, at stop (before the calls and nta go): relayed requests still waiting for the
 * other party are answered 503 and freed. */
void dialog_shutdown(void);

/* b2bua.c: cancels and frees the call's outstanding forks and answers A's INVITE if it is
 * still open (with status), before the call's memory goes. */
void b2bua_abandon(struct call *c, int status, const char *phrase);

/* Ends a confirmed call from this node (media timeout, API hang-up): BYE to both parties. */
void call_hangup(struct call *c, int q850, const char *why);

/* dlg_send with extra header lines ("Name: value\r\n..."), e.g. credentials, caller-id. */
nta_outgoing_t *dlg_send_with(struct calls *cs, struct dlg_side *side, sip_method_t method,
                              const char *name, unsigned long cseq_for_ack, const char *sdp,
                              const char *headers, nta_response_f *cb, nta_outgoing_magic_t *magic);

/* dlg_send_with with a body of any content type (INFO: application/dtmf-relay, ...). */
nta_outgoing_t *dlg_send_body(struct calls *cs, struct dlg_side *side, sip_method_t method,
                              const char *name, unsigned long cseq_for_ack, const char *ctype,
                              const char *body, const char *headers, nta_response_f *cb,
                              nta_outgoing_magic_t *magic);

/* Sends a request on one side of a dialog (BYE, ACK, re-INVITE...); bumps local_cseq except
 * for ACK. body may be NULL. cb may be NULL for fire-and-forget. */
nta_outgoing_t *dlg_send(struct calls *cs, struct dlg_side *side, sip_method_t method,
                         const char *name, unsigned long cseq_for_ack, const char *sdp,
                         nta_response_f *cb, nta_outgoing_magic_t *magic);

#endif
