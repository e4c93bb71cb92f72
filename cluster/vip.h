/* Service addresses that move between nodes (VIPs): add or remove an IPv4 address on an
 * interface through rtnetlink, and announce it with gratuitous ARP so neighbours re-learn it. */
#ifndef TANDEM_VIP_H
#define TANDEM_VIP_H

#include <stddef.h>

/* Adds address/prefix to ifname; an address already there counts as success. These are local
 * kernel round trips (no network wait), so the signalling loop may call them. 0, or -1 with a
 * reason in err (no such interface, not permitted: CAP_NET_ADMIN is needed). */
int vip_add(const char *ifname, const char *address, int prefix, char *err, size_t errlen);

/* Removes it; an address not there counts as success. 0, or -1 with err. */
int vip_remove(const char *ifname, const char *address, int prefix, char *err, size_t errlen);

/* Sends `count` gratuitous ARP requests for address from ifname's MAC (RFC 5227 announcement),
 * so hosts and switches on the segment send to this node from now on. 0, or -1 with err. */
int vip_announce(const char *ifname, const char *address, int count, char *err, size_t errlen);

#endif
