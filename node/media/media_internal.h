/* Media engine internals shared by its files: the session, leg, thread and engine structures
 * and the functions one file offers another. Nothing outside node/media includes this. */
#ifndef TANDEM_MEDIA_INTERNAL_H
#define TANDEM_MEDIA_INTERNAL_H

#include "media/media.h"
#include "media/media_dtmf.h"
#include "media/media_quality.h"
#include "media/media_transcode.h"

#include <pthread.h>
#include <srtp2/srtp.h>
#include <stdatomic.h>
#include <sys/socket.h>

/* Packets per recvmmsg/sendmmsg: 32 x 20 ms streams' worth per syscall, and the bound on how
 * long a media thread holds one session's lock. */
#define MEDIA_BATCH 32
/* Larger than any RTP over an Ethernet MTU; a truncated datagram is dropped as garbage. */
#define MEDIA_MAX_PACKET 2048
/* Room past MEDIA_MAX_PACKET in every relay buffer for what srtp_protect(_rtcp) appends: the
 * tag, MKI and the SRTCP index. A received datagram is never longer than MEDIA_MAX_PACKET. */
#define MEDIA_SRTP_ROOM (SRTP_MAX_TRAILER_LEN + 4)
#define MEDIA_MAX_THREADS 64

enum { MEDIA_RTP = 0, MEDIA_RTCP = 1 };

/* An address; len 0 means unset. */
struct media_peer {
    struct sockaddr_storage addr;
    socklen_t len;
};

/* Symmetric-RTP state of one leg and kind: where it sends now, and a challenger counting its
 * packets in a row toward MEDIA_RELATCH_PACKETS. */
struct media_latch {
    struct media_peer cur;
    struct media_peer cand;
    int cand_count;
};

/* One socket; epoll's data.ptr points here so an event names its session, leg and kind. */
struct media_sock {
    struct media_session *s;
    int fd; /* -1 once closed */
    int leg, kind;
};

/* SRs a leg's phone sent, remembered to match the LSR of the other phone's reports. */
#define MEDIA_SR_KEPT 4
/* Seconds between generated receiver reports (RFC 3550's 5 s minimum interval). */
#define MEDIA_RR_INTERVAL 5.0

/* Quality bookkeeping of one leg (media_report.c), under the session lock. */
struct media_leg_quality {
    struct media_rtp_source rtp; /* RTP received from the leg's phone */
    uint32_t clock_hz[128];      /* per received payload type; 0: not audio */
    int audio_pt, event_pt;      /* last seen of each kind, -1 none */
    struct {
        uint32_t ntp_mid; /* middle 32 bits of the SR's NTP time */
        double at;        /* clock_mono() when it arrived */
    } sr[MEDIA_SR_KEPT];
    int sr_next;
    double last_rtcp; /* clock_mono() of the last valid RTCP from the phone, 0 none */
    double rtt;       /* seconds, -1 unknown */
    int reported;     /* a report block about our stream toward this phone was seen */
    uint8_t rep_fraction;
    uint32_t rep_jitter; /* timestamp units of the stream we send the phone */
    double rr_due;       /* clock_mono() when a generated RR toward the phone is next due */
    uint32_t rr_ssrc;    /* our SSRC in those reports */
    uint64_t rtcp_in, rr_sent;
};

/* RFC 4733 on one leg (media_events.c), under the session lock: events the leg's phone sends
 * may be taken out of the relay and reported; events generated toward it continue the RTP
 * stream relayed to it (same SSRC, next sequence numbers, its timestamp clock). */
struct media_leg_dtmf {
    int event_pt;  /* the phone's telephone-event payload type, -1 none */
    int translate; /* its events are reported to signalling instead of relayed */
    struct media_dtmf_dedupe dedupe;
    int have_out;     /* a packet went toward the leg: the fields below describe it */
    uint16_t seq_out; /* sequence number of the last RTP sent toward the leg */
    uint32_t ts_out, ssrc_out;
    double out_mono;     /* clock_mono() when it went */
    uint16_t seq_offset; /* packets injected so far: added to relayed packets of offset_ssrc */
    uint32_t offset_ssrc;
    uint32_t event_ts; /* timestamp of the event being generated */
};

struct media_leg {
    struct media_sock sock[2]; /* [MEDIA_RTP], [MEDIA_RTCP] */
    int port;                  /* RTP port; immutable after creation, read without the lock */
    struct media_peer remote[2];
    struct media_latch latch[2];
    int hold;
    uint8_t pt_map[128]; /* payload type rewrite for RTP sent toward this leg; identity default */
    struct media_leg_stats stats;
    struct media_leg_quality q;
    srtp_t srtp_rx;          /* unprotects what the leg's phone sends; NULL: plain RTP */
    srtp_t srtp_tx;          /* protects what is sent toward the leg's phone; NULL: plain RTP */
    struct media_ostream os; /* numbering of the RTP sent toward the leg (media_transcode.c) */
    struct media_xcode *xc;  /* transcoding toward the leg; NULL: none. Owned by the leg */
    struct media_leg_dtmf dtmf;
};

struct media_thread;

struct media_session {
    pthread_mutex_t lock; /* guards everything below except eng, thr and the list links */
    struct media_engine *eng;
    struct media_thread *thr;
    struct media_session *prev, *next; /* engine's live list, under eng->lock */
    struct media_session *grave_next;  /* thread's graveyard, under thr->lock */
    int dead;                          /* destroyed: sockets closed, waiting to be freed */
    int foreign; /* adopted from a dead node: its ports are not in this node's range */
    char call_id[128];
    struct media_leg leg[2];
};

struct media_thread {
    struct media_engine *eng;
    int index;
    pthread_t tid;
    int started;
    int epfd, wakefd;
    int nsessions;        /* sessions assigned here, under eng->lock: picks the least loaded */
    pthread_mutex_t lock; /* guards graveyard */
    struct media_session *graveyard;
    /* Batch buffers, used only by this thread. */
    struct mmsghdr rx[MEDIA_BATCH], tx[MEDIA_BATCH];
    struct iovec rxiov[MEDIA_BATCH], txiov[MEDIA_BATCH];
    struct sockaddr_storage rxaddr[MEDIA_BATCH], txaddr[MEDIA_BATCH];
    uint8_t buf[MEDIA_BATCH][MEDIA_MAX_PACKET + MEDIA_SRTP_ROOM];
};

/* Local port pairs: even RTP port, RTCP = RTP + 1. Not thread-safe; the engine lock guards it. */
struct media_ports {
    struct media_peer local; /* the configured address, port 0 */
    int first;               /* first even RTP port */
    int npairs;
    int cursor; /* next pair to try: allocation walks the range round-robin */
    uint8_t *used;
};

struct media_engine {
    struct media_config cfg;
    pthread_mutex_t lock; /* guards ports, sessions, nsessions, threads[].nsessions */
    struct media_ports ports;
    struct media_session *sessions;
    int nsessions;
    struct media_thread *threads;
    int nthreads;
    atomic_int stop;
    /* media_events.c: where telephone-events taken out of the relay are reported */
    _Atomic(media_event_f *) event_cb;
    _Atomic(void *) event_arg;
};

/* media_ports.c */
int media_addr_parse(const char *ip, int port, struct media_peer *out);
int media_addr_equal(const struct media_peer *a, const struct sockaddr_storage *b, socklen_t blen);
int media_ports_init(struct media_ports *p, const struct media_config *cfg, char *err,
                     size_t errlen);
void media_ports_free(struct media_ports *p);
/* Binds a free pair: fds[MEDIA_RTP], fds[MEDIA_RTCP], non-blocking. Returns the RTP port or
 * -1 with a reason in err. */
int media_ports_alloc(struct media_ports *p, int fds[2], char *err, size_t errlen);
void media_ports_release(struct media_ports *p, int rtp_port);
/* Binds rtp_port and rtp_port + 1 on local (any port given, outside the range too), even when
 * local is not (yet) an address of this host (IP_FREEBIND: a VIP being taken over). 0 and
 * fds[MEDIA_RTP], fds[MEDIA_RTCP] non-blocking, or -1 with errno set. */
int media_ports_bind_pair(const struct media_peer *local, int rtp_port, int fds[2]);

/* media_relay.c: one batch from one socket, called by its media thread. */
void media_relay_batch(struct media_thread *t, struct media_sock *ms);
/* 1 when a valid packet from `from` is accepted on this leg/kind (latching it if need be). */
int media_latch_accept(struct media_latch *l, const struct sockaddr_storage *from,
                       socklen_t fromlen);

/* Where packets of a kind toward this leg go: the latched source, else the SDP address;
 * NULL when neither is known. */
const struct media_peer *media_leg_destination(const struct media_leg *l, int kind);

/* media_transcode.c: one checked RTP packet toward leg out (payload mapping, transcoding,
 * numbering), in place with room for MEDIA_MAX_PACKET; returns MEDIA_XC_SEND, _ABSORB or _DROP. */
int media_transcode_toward(struct media_leg *out, uint8_t *pkt, size_t *len);

/* media_report.c: quality bookkeeping on the packet path, under the session lock. */
void media_report_init(struct media_session *s);
/* A valid, accepted RTP packet received on leg at time now; may send a generated RR toward
 * the leg (one sendto, at most every MEDIA_RR_INTERVAL). */
void media_report_rtp(struct media_session *s, int leg, const uint8_t *pkt, double now);
/* A valid, accepted RTCP datagram received on leg. */
void media_report_rtcp(struct media_session *s, int leg, const uint8_t *pkt, size_t len,
                       double now);
/* Fills the quality fields of out from the leg's state. */
void media_report_stats(const struct media_session *s, int leg, struct media_leg_stats *out);

/* media_srtp.c: libsrtp's process-wide init (once); 0 or -1. */
int media_srtp_global_init(void);
/* In place, on a packet received on (unprotect) or sent toward (protect) the leg; no-ops on a
 * plain leg. protect needs MEDIA_SRTP_ROOM bytes of room after pkt[*len]. 0, or -1: drop it. */
int media_srtp_unprotect(struct media_leg *l, int kind, uint8_t *pkt, size_t *len);
int media_srtp_protect(struct media_leg *l, int kind, uint8_t *pkt, size_t *len);
void media_srtp_free_leg(struct media_leg *l);

/* media_events.c, on the packet path under the session lock. */
/* An accepted RTP packet received on leg: 1 when it is a telephone-event of a translating leg,
 * which is reported (once per event, at its end) and must not be relayed. */
int media_events_take(struct media_session *s, int leg, const uint8_t *pkt, size_t len);
/* An RTP packet about to go toward `out` (after payload mapping, before SRTP): shifts its
 * sequence number past injected events and remembers it for the next injection. */
void media_events_sent(struct media_leg *out, uint8_t *pkt, double now);

/* media_engine.c */
/* Assigns a thread (eng->lock held by the caller) and returns it. */
struct media_thread *media_engine_pick_thread(struct media_engine *eng);
/* Hands a dead session to its thread, which frees it once no event can still name it. */
void media_engine_bury(struct media_session *s);

/* media_session.c: closes what is still open and frees the memory. */
void media_session_free(struct media_session *s);

#endif
