/* VIP takeover: rtnetlink RTM_NEWADDR/RTM_DELADDR for the address, and gratuitous ARP on a
 * packet socket. Written against the kernel interfaces rather than spawning ip(8)/arping(8),
 * so a failover neither forks nor depends on which iproute/iputils flavour is installed. */
#include "vip.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct addr_req {
    struct nlmsghdr nh;
    struct ifaddrmsg ifa;
    char attrs[64];
};

static void add_attr(struct addr_req *r, int type, const void *data, size_t len)
{
    struct rtattr *rta = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));
    rta->rta_type = (unsigned short)type;
    rta->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(rta), data, len);
    r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* One request and the kernel's acknowledgement; err names what failed. */
static int address_change(int type, const char *ifname, const char *address, int prefix, char *err,
                          size_t errlen)
{
    struct in_addr in;
    unsigned idx = if_nametoindex(ifname);
    if (!idx) {
        snprintf(err, errlen, "no interface %s", ifname);
        return -1;
    }
    if (inet_pton(AF_INET, address, &in) != 1 || prefix < 1 || prefix > 32) {
        snprintf(err, errlen, "not an IPv4 address/prefix: %s/%d", address, prefix);
        return -1;
    }
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) {
        snprintf(err, errlen, "netlink socket: %s", strerror(errno));
        return -1;
    }
    struct timeval tv = {.tv_sec = 1};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct addr_req r = {0};
    r.nh.nlmsg_len = NLMSG_LENGTH(sizeof r.ifa);
    r.nh.nlmsg_type = (unsigned short)type;
    r.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (type == RTM_NEWADDR ? NLM_F_CREATE : 0);
    r.nh.nlmsg_seq = 1;
    r.ifa.ifa_family = AF_INET;
    r.ifa.ifa_prefixlen = (unsigned char)prefix;
    r.ifa.ifa_index = idx;
    r.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
    add_attr(&r, IFA_LOCAL, &in, sizeof in);
    add_attr(&r, IFA_ADDRESS, &in, sizeof in);
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    int rc = -1;
    if (sendto(fd, &r, r.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
        snprintf(err, errlen, "netlink send: %s", strerror(errno));
    } else {
        char buf[1024];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        struct nlmsghdr *h = (struct nlmsghdr *)buf;
        if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) || h->nlmsg_type != NLMSG_ERROR) {
            snprintf(err, errlen, "netlink: no acknowledgement");
        } else {
            int e = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
            /* Adding what is there, or removing what is not, is the state we want. */
            if (e == 0 || (type == RTM_NEWADDR && e == EEXIST) ||
                (type == RTM_DELADDR && e == EADDRNOTAVAIL))
                rc = 0;
            else
                snprintf(err, errlen, "%s %s/%d on %s: %s",
                         type == RTM_NEWADDR ? "adding" : "removing", address, prefix, ifname,
                         strerror(e));
        }
    }
    close(fd);
    return rc;
}

int vip_add(const char *ifname, const char *address, int prefix, char *err, size_t errlen)
{
    return address_change(RTM_NEWADDR, ifname, address, prefix, err, errlen);
}

int vip_remove(const char *ifname, const char *address, int prefix, char *err, size_t errlen)
{
    return address_change(RTM_DELADDR, ifname, address, prefix, err, errlen);
}

struct garp {
    struct ethhdr eth;
    struct arphdr arp;
    unsigned char sha[ETH_ALEN], spa[4], tha[ETH_ALEN], tpa[4];
} __attribute__((packed));

int vip_announce(const char *ifname, const char *address, int count, char *err, size_t errlen)
{
    struct in_addr in;
    unsigned idx = if_nametoindex(ifname);
    if (!idx || inet_pton(AF_INET, address, &in) != 1) {
        snprintf(err, errlen, "cannot announce %s on %s", address, ifname);
        return -1;
    }
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP));
    if (fd < 0) {
        snprintf(err, errlen, "packet socket: %s", strerror(errno));
        return -1;
    }
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
        snprintf(err, errlen, "%s: no hardware address: %s", ifname, strerror(errno));
        close(fd);
        return -1;
    }
    struct garp g;
    memset(g.eth.h_dest, 0xff, ETH_ALEN);
    memcpy(g.eth.h_source, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
    g.eth.h_proto = htons(ETH_P_ARP);
    g.arp.ar_hrd = htons(ARPHRD_ETHER);
    g.arp.ar_pro = htons(ETH_P_IP);
    g.arp.ar_hln = ETH_ALEN;
    g.arp.ar_pln = 4;
    g.arp.ar_op = htons(ARPOP_REQUEST); /* RFC 5227 3: announcements are requests */
    memcpy(g.sha, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
    memcpy(g.spa, &in, 4);
    memset(g.tha, 0, ETH_ALEN);
    memcpy(g.tpa, &in, 4);
    struct sockaddr_ll to = {.sll_family = AF_PACKET,
                             .sll_protocol = htons(ETH_P_ARP),
                             .sll_ifindex = (int)idx,
                             .sll_halen = ETH_ALEN};
    memset(to.sll_addr, 0xff, ETH_ALEN);
    int rc = 0;
    for (int i = 0; i < count; i++) {
        if (sendto(fd, &g, sizeof g, 0, (struct sockaddr *)&to, sizeof to) != (ssize_t)sizeof g) {
            snprintf(err, errlen, "gratuitous ARP on %s: %s", ifname, strerror(errno));
            rc = -1;
            break;
        }
    }
    close(fd);
    return rc;
}
