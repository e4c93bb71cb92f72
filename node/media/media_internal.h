/* Media engine internals shared by its files: the session, leg, thread and engine structures
 * and the functions one file offers another. Nothing outside node/media includes this. */
#ifndef TANDEM_MEDIA_INTERNAL_H
#define TANDEM_MEDIA_INTERNAL_H

#include "media/media.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

/* Packets per recvmmsg/sendmmsg: 32 x 20 ms streams' worth per syscall, and the bound on how
 * long a media thread holds one session's lock. */
#define MEDIA_BATCH 32
/* Larger than any RTP over an Ethernet MTU; a truncated datagram is dropped as garbage. */
#define MEDIA_MAX_PACKET 2048
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

struct media_leg {
    struct media_sock sock[2]; /* [MEDIA_RTP], [MEDIA_RTCP] */
    int port;                  /* RTP port; immutable after creation, read without the lock */
    struct media_peer remote[2];
    struct media_latch latch[2];
    int hold;
    uint8_t pt_map[128]; /* payload type rewrite for RTP sent toward this leg; identity default */
    struct media_leg_stats stats;
};

struct media_thread;

struct media_session {
    pthread_mutex_t lock; /* guards everything below except eng, thr and the list links */
    struct media_engine *eng;
    struct media_thread *thr;
    struct media_session *prev, *next; /* engine's live list, under eng->lock */
    struct media_session *grave_next;  /* thread's graveyard, under thr->lock */
    int dead;                          /* destroyed: sockets closed, waiting to be freed */
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
    uint8_t buf[MEDIA_BATCH][MEDIA_MAX_PACKET];
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

/* media_relay.c: one batch from one socket, called by its media thread. */
void media_relay_batch(struct media_thread *t, struct media_sock *ms);
/* 1 when a valid packet from `from` is accepted on this leg/kind (latching it if need be). */
int media_latch_accept(struct media_latch *l, const struct sockaddr_storage *from,
                       socklen_t fromlen);

/* media_engine.c */
/* Assigns a thread (eng->lock held by the caller) and returns it. */
struct media_thread *media_engine_pick_thread(struct media_engine *eng);
/* Hands a dead session to its thread, which frees it once no event can still name it. */
void media_engine_bury(struct media_session *s);

/* media_session.c: closes what is still open and frees the memory. */
void media_session_free(struct media_session *s);

#endif
