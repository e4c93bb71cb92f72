/* Loopback UDP helpers shared by the media unit tests: a "phone" socket at a kernel-chosen port,
 * its port, and sending one datagram to a port on 127.0.0.1. Include after <cmocka.h>. */
#ifndef TANDEM_UDP_TEST_UTIL_H
#define TANDEM_UDP_TEST_UTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

static inline int phone(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static inline int port_of(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin_port);
}

static inline void send_to(int fd, int port, const uint8_t *buf, size_t len)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((uint16_t)port)};
    assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&a, sizeof a), (ssize_t)len);
}

#endif
