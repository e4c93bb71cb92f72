/* Media engine: the RTP/RTCP relay anchored on this node, the whole API the SIP B2BUA uses.
 * A session is one call's media: two legs (A, B), each with its own local RTP+RTCP port pair.
 *
 * Threads: the engine runs media.threads epoll loops of its own; every function here is called
 * from the signalling thread and is safe while those loops run. Each session has one mutex; a
 * media thread holds it for one batch at most (one recvmmsg of up to 32 packets, the in-memory
 * bookkeeping and one sendmmsg), so a signalling call waits for microseconds, never behind other
 * sessions' traffic. A per-session lock was chosen over lock-free state swapping because every
 * setter touches several fields that must change together (address + latch reset), and the
 * uncontended mutex costs ~20 ns per batch, not per packet.
 *
 * Symmetric RTP: each leg latches on the source address of the first valid packet it receives
 * (RTP and RTCP separately) and sends there instead of the SDP address. A new source takes over
 * only after MEDIA_RELATCH_PACKETS valid packets in a row from it (a NAT rebinding); until then
 * its packets are dropped, so one stray or spoofed packet cannot hijack or inject into a call.
 * Per leg it also measures the RTP it receives (loss, jitter, RTCP round trip, a MOS estimate;
 * media_quality.h) and reports to a phone whose peer sends no RTCP (docs/media.md).
 * This module never parses SIP or SDP: the SIP side hands it addresses and payload types. */
#ifndef TANDEM_MEDIA_H
#define TANDEM_MEDIA_H

#include <stddef.h>
#include <stdint.h>

enum { MEDIA_LEG_A = 0, MEDIA_LEG_B = 1 };

/* Consecutive packets from one new source that move a latched leg to it. */
#define MEDIA_RELATCH_PACKETS 5

struct media_config {
    char address[64];       /* local IPv4 or IPv6 address every media socket binds to */
    int port_min, port_max; /* RTP on even ports, RTCP on RTP+1, both within the range */
    int max_sessions;       /* create fails beyond this many live sessions (caller answers 503) */
    int threads;            /* media threads (epoll loops); sessions are spread over them */
};

struct media_engine;
struct media_session;

struct media_leg_stats {
    uint64_t packets_in, bytes_in;   /* every datagram received on the leg's RTP+RTCP sockets */
    uint64_t packets_out, bytes_out; /* datagrams sent out of the leg's sockets to its remote */
    uint64_t dropped;                /* received on this leg and not forwarded, for any reason */
    double last_packet_mono; /* clock_mono() of the last valid packet received; 0 before any */
    uint32_t ssrc;           /* SSRC of the last valid RTP packet received on this leg */
    /* Quality of the RTP this leg's phone sends us, from the packets themselves (RFC 3550
     * A.1/A.8, all of the leg's sources): */
    int64_t lost;     /* expected minus received; negative when duplicates outnumber losses */
    double loss_pct;  /* cumulative loss, 0..100 */
    double jitter_ms; /* interarrival jitter */
    double rtt_ms;    /* round trip relay <-> this phone from its RTCP LSR/DLSR; -1 unknown */
    double mos;       /* E-model-lite estimate (media_quality.h); 0 before any RTP */
    int payload_type; /* last audio payload type received (events only if nothing else); -1 */
    /* What this leg's phone reports in RTCP about the stream we send it (its own view): */
    uint64_t rtcp_packets_in;  /* valid RTCP received from the phone */
    double reported_loss_pct;  /* from its last report block's fraction lost; -1 none */
    double reported_jitter_ms; /* from the same block; -1 none */
    uint64_t rtcp_generated;   /* receiver reports this node sent toward the phone */
};

/* Binds nothing yet but checks the address is local; starts the threads. NULL with a reason in
 * err on a bad configuration or when the system refuses threads or descriptors. */
struct media_engine *media_engine_create(const struct media_config *cfg, char *err, size_t errlen);
/* Stops and joins the threads and closes every socket; sessions not yet destroyed are freed
 * here, so their pointers must not be used afterwards. NULL is accepted. */
void media_engine_destroy(struct media_engine *eng);

/* Allocates both legs' ports and starts relaying. NULL with a reason in err when the port range
 * or max_sessions is exhausted (answer 503) or the system refuses a socket. call_id is copied
 * and used only in log lines. */
struct media_session *media_session_create(struct media_engine *eng, const char *call_id, char *err,
                                           size_t errlen);
/* A session of another (dead) node taken over: both legs bound on address (its VIP) at the
 * ports it used, which need not be in this node's range. It relays nothing until
 * media_session_start: the setters rebuild its remotes, keys and transcoders first, so no
 * packet queued meanwhile leaves untranscoded or unencrypted. max_sessions is not applied: a
 * failover must not drop calls because the survivor is full. NULL with a reason in err when a
 * port cannot be bound. */
struct media_session *media_session_adopt(struct media_engine *eng, const char *call_id,
                                          const char *address, int port_a, int port_b, char *err,
                                          size_t errlen);
/* An adopted session starts relaying. On failure it is destroyed: NULL with a reason in err. */
struct media_session *media_session_start(struct media_session *s, char *err, size_t errlen);
/* Closes the session's sockets and frees its ports at once; the memory is reclaimed by its
 * media thread shortly after. NULL is accepted. */
void media_session_destroy(struct media_session *s);

/* Local RTP port of a leg (RTCP is this + 1); the address is media_config.address. -1 for a
 * leg other than MEDIA_LEG_A or MEDIA_LEG_B. */
int media_leg_local_port(const struct media_session *s, int leg);

/* The leg's remote as the SDP says (rtcp_port is the a=rtcp value; 0 means rtp_port + 1).
 * Sending goes there until latching learns the real source; a changed address forgets what was
 * latched (a re-INVITE moved the media). 0, or -1 for a bad leg, address or port. */
int media_leg_set_remote(struct media_session *s, int leg, const char *ip, int rtp_port,
                         int rtcp_port);

/* RTP sent toward `leg` with payload type from_pt goes out with to_pt instead (the legs number
 * the same codec differently). The marker bit is kept. Mapping a type to itself removes the
 * entry. 0, or -1 for a bad leg, a type outside 0..127, or a to_pt in 64..95 (RFC 5761: with
 * the marker set those collide with RTCP packet types). */
int media_leg_map_payload(struct media_session *s, int leg, int from_pt, int to_pt);

/* When on, RTP toward `leg` is not sent (counted as dropped on the other leg). RTCP still flows,
 * as RFC 3264 wants for held streams, so quality reports and NAT bindings stay alive.
 * 0, or -1 for a bad leg. */
int media_leg_set_hold(struct media_session *s, int leg, int on);

/* RTP of payload type pt received on `leg` runs a clock of hz (for jitter); hz 0 marks a
 * payload that is not audio (RFC 4733 telephone-event). Defaults: 8000 Hz for every type
 * except 101, which is taken as telephone-event. 0, or -1 for a bad leg, type or rate. */
int media_leg_set_clock(struct media_session *s, int leg, int pt, int hz);

/* Transcoding of the RTP sent toward a leg (media_transcode.c), for legs that share no codec.
 * Codecs are enum media_codec values (media_codec.h). Audio arriving from the other leg with
 * from_pt is decoded, cut into 20 ms frames and sent re-encoded as to_codec with to_pt (a packet
 * carries what whole 20 ms frames are ready, up to 120 ms). RFC 4733 events arriving with
 * from_event_pt go out as to_event_pt, their durations rescaled from from_event_hz to
 * to_event_hz (-1: none; events from a side without a counterpart are dropped). Other payload
 * types pass through as before. The receiving phone sees one continuous stream across any
 * change: same SSRC, sequence numbers +1, timestamps moving by the frame length in its clock. */
struct media_transcode {
    int from_pt, from_codec;
    int to_pt, to_codec;
    int from_event_pt, from_event_hz;
    int to_event_pt, to_event_hz;
};

/* Sets (or with t NULL removes) transcoding toward `leg`; the coders are made here, on the
 * caller's thread. Setting what is already set keeps the running coders. 0, or -1 for a bad leg,
 * codec or type (to_pt 64..95 as in media_leg_map_payload), or out of memory. */
int media_leg_set_transcode(struct media_session *s, int leg, const struct media_transcode *t);

/* SRTP master key || salt length (AES_CM_128 suites). */
#define MEDIA_SRTP_KEY_LEN 30

/* Makes `leg` an SRTP leg (RFC 3711): packets its phone sends are unprotected with rx_key (the
 * key from the phone's SDP) before relaying, packets toward it are protected with tx_key (the
 * node's key, given to the phone in SDP). Keys are MEDIA_SRTP_KEY_LEN bytes; suite is
 * "AES_CM_128_HMAC_SHA1_80" or "AES_CM_128_HMAC_SHA1_32". suite NULL makes the leg plain RTP
 * again. Replaces earlier keys (a re-INVITE may rekey). Packets failing authentication are
 * dropped; payload mapping, latching and stats see the plain packets. 0, or -1 for a bad leg
 * or suite, or when libsrtp refuses the keys. */
int media_leg_set_srtp(struct media_session *s, int leg, const char *suite, const uint8_t *rx_key,
                       const uint8_t *tx_key);

/* RFC 4733 telephone-events (media_events.c). */
/* Called on a media thread, under the session's lock (so it must only queue), when a translating
 * leg's phone
 * ends an event (once per event): call_id as given to media_session_create, the leg, the event
 * code (0-9, 10 '*', 11 '#', 12-15 A-D) and its duration in ms (8 kHz clock). Must not block. */
typedef void media_event_f(void *arg, const char *call_id, int leg, int event, int duration_ms);
/* Where events go (NULL: nowhere). Set before sessions carry events, cleared after. */
void media_engine_set_event_sink(struct media_engine *eng, media_event_f *cb, void *arg);
/* The telephone-event payload type of the leg's phone (-1 none) and whether events it sends
 * are translated: taken out of the relay and reported to the sink instead. 0, or -1. */
int media_leg_set_events(struct media_session *s, int leg, int event_pt, int translate);
/* Sends one telephone-event packet toward leg (its event_pt set): first starts an event (new
 * timestamp, marker bit), duration counts timestamp units since its start, end sets E. The
 * packet continues the stream relayed toward the leg (SSRC, next sequence number), and later
 * relayed packets are renumbered after it. 0, or -1 when the leg has no event type or no
 * address yet, or the send failed. */
int media_leg_send_event(struct media_session *s, int leg, int event, uint32_t duration, int end,
                         int first);

/* A consistent snapshot of a leg's counters and quality; zeroes for a bad leg. */
void media_leg_stats(const struct media_session *s, int leg, struct media_leg_stats *out);

/* Name of an RTP payload type for CDRs: "PCMU", "PCMA", "G722", "G729", "telephone-event"
 * (101, by convention), else "pt<n>" written into buf; "" for a type outside 0..127. */
const char *media_payload_name(int pt, char *buf, size_t len);

#endif
