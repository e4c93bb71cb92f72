/* Local media sockets: parsing addresses and handing out RTP/RTCP port pairs from the range.
 * Allocation walks the range round-robin from where it last stopped, so a just-freed port is
 * not handed straight to the next call (late packets of the old call would reach it). */
#include "media/media_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int media_addr_parse(const char *ip, int port, struct media_peer *out)
{
    memset(out, 0, sizeof *out);
    if (!ip || port < 0 || port > 65535)
        return -1;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&out->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->addr;
    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        out->len = sizeof *v4;
        return 0;
    }
    if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        out->len = sizeof *v6;
        return 0;
    }
    return -1;
}

/* Compares family, address and port only: the kernel need not zero sin_zero or flowinfo. */
int media_addr_equal(const struct media_peer *a, const struct sockaddr_storage *b, socklen_t blen)
{
    if (!a->len || a->addr.ss_family != b->ss_family)
        return 0;
    if (b->ss_family == AF_INET && blen >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)&a->addr;
        const struct sockaddr_in *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (b->ss_family == AF_INET6 && blen >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->addr;
        const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    return 0;
}

static void set_port(struct media_peer *p, int port)
{
    if (p->addr.ss_family == AF_INET)
        ((struct sockaddr_in *)&p->addr)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)&p->addr)->sin6_port = htons((uint16_t)port);
}

/* A non-blocking UDP socket bound to the local address and port: the fd, -1 with errno set. */
static int bind_udp(const struct media_peer *local, int port)
{
    int fd = socket(local->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct media_peer at = *local;
    set_port(&at, port);
    if (bind(fd, (const struct sockaddr *)&at.addr, at.len) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int media_ports_init(struct media_ports *p, const struct media_config *cfg, char *err,
                     size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (media_addr_parse(cfg->address, 0, &p->local) != 0) {
        snprintf(err, errlen, "media.address '%s' is not an IP address", cfg->address);
        return -1;
    }
    if (cfg->port_min < 1 || cfg->port_max > 65535 || cfg->port_min > cfg->port_max) {
        snprintf(err, errlen, "media port range %d-%d is invalid", cfg->port_min, cfg->port_max);
        return -1;
    }
    p->first = cfg->port_min + (cfg->port_min & 1);
    p->npairs = p->first + 1 <= cfg->port_max ? (cfg->port_max - 1 - p->first) / 2 + 1 : 0;
    /* A session needs two pairs; a range that cannot hold one call is a configuration error. */
    if (p->npairs < 2) {
        snprintf(err, errlen, "media port range %d-%d holds fewer than 2 RTP/RTCP pairs",
                 cfg->port_min, cfg->port_max);
        return -1;
    }
    /* Binding port 0 proves the address belongs to this host before any call depends on it. */
    int fd = bind_udp(&p->local, 0);
    if (fd < 0) {
        snprintf(err, errlen, "media.address %s: cannot bind: %s", cfg->address, strerror(errno));
        return -1;
    }
    close(fd);
    p->used = calloc((size_t)p->npairs, 1);
    if (!p->used) {
        snprintf(err, errlen, "media: out of memory");
        return -1;
    }
    return 0;
}

void media_ports_free(struct media_ports *p)
{
    free(p->used);
    p->used = NULL;
}

/* Pairs this engine holds are skipped without a syscall; pairs another process holds cost a
 * failed bind each. A range mostly taken by others makes allocation O(range) binds — then the
 * range is misconfigured, and the error says so. */
int media_ports_alloc(struct media_ports *p, int fds[2], char *err, size_t errlen)
{
    for (int tried = 0; tried < p->npairs; tried++) {
        int i = p->cursor;
        p->cursor = (p->cursor + 1) % p->npairs;
        if (p->used[i])
            continue;
        int port = p->first + 2 * i;
        int rtp = bind_udp(&p->local, port);
        if (rtp < 0) {
            if (errno == EADDRINUSE)
                continue;
            snprintf(err, errlen, "media: cannot bind port %d: %s", port, strerror(errno));
            return -1;
        }
        int rtcp = bind_udp(&p->local, port + 1);
        if (rtcp < 0) {
            int saved = errno;
            close(rtp);
            if (saved == EADDRINUSE)
                continue;
            snprintf(err, errlen, "media: cannot bind port %d: %s", port + 1, strerror(saved));
            return -1;
        }
        p->used[i] = 1;
        fds[MEDIA_RTP] = rtp;
        fds[MEDIA_RTCP] = rtcp;
        return port;
    }
    snprintf(err, errlen, "media: port range %d-%d exhausted (no free RTP/RTCP pair)", p->first,
             p->first + 2 * p->npairs - 1);
    return -1;
}

void media_ports_release(struct media_ports *p, int rtp_port)
{
    int i = (rtp_port - p->first) / 2;
    if (rtp_port >= p->first && i < p->npairs)
        p->used[i] = 0;
}

int media_ports_bind_pair(const struct media_peer *local, int rtp_port, int fds[2])
{
    if (rtp_port < 1 || rtp_port > 65534) {
        errno = EINVAL;
        return -1;
    }
    fds[0] = fds[1] = -1;
    for (int k = 0; k < 2; k++) {
        int fd = socket(local->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int on = 1;
        struct media_peer at = *local;
        set_port(&at, rtp_port + k);
        if (fd < 0 ||
            /* IP_FREEBIND covers IPv6 sockets too on Linux. */
            setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &on, sizeof on) != 0 ||
            bind(fd, (const struct sockaddr *)&at.addr, at.len) != 0) {
            int saved = errno;
            if (fd >= 0)
                close(fd);
            if (fds[0] >= 0)
                close(fds[0]);
            errno = saved;
            return -1;
        }
        fds[k] = fd;
    }
    return 0;
}
