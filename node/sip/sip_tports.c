/* Adds nta transports on further addresses and finds them again by address and protocol.
 * nta would otherwise send every request from its first primary of the protocol. */
#include "sip/sip_tports.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/nta_tport.h>
#include <sofia-sip/tport_tag.h>

tport_t *sip_tports_find(nta_agent_t *agent, const char *address, int port, const char *proto)
{
    char port_s[8];
    snprintf(port_s, sizeof port_s, "%d", port);
    for (tport_t *tp = tport_primaries(nta_agent_tports(agent)); tp; tp = tport_next(tp)) {
        const tp_name_t *n = tport_name(tp);
        if (n && n->tpn_host && n->tpn_proto && n->tpn_port && strcmp(n->tpn_host, address) == 0 &&
            strcmp(n->tpn_port, port_s) == 0 && strcasecmp(n->tpn_proto, proto) == 0)
            return tp;
    }
    return NULL;
}

int sip_tports_listen(nta_agent_t *agent, const struct tandem_config *cfg, const char *address,
                      int port, char *err, size_t errlen)
{
    const char *protos[2] = {cfg->sip_udp ? "udp" : NULL, cfg->sip_tcp ? "tcp" : NULL};
    for (int i = 0; i < 2; i++) {
        if (!protos[i] || sip_tports_find(agent, address, port, protos[i]))
            continue;
        char url[160];
        snprintf(url, sizeof url,
                 strchr(address, ':') ? "sip:[%s]:%d;transport=%s" : "sip:%s:%d;transport=%s",
                 address, port, protos[i]);
        /* nta picks the transport of a request by ident (NTATAG_TPORT on a primary only names
         * its ident): each address gets its own. */
        char ident[96];
        snprintf(ident, sizeof ident, "vip-%s-%d", address, port);
        if (nta_agent_add_tport(agent, URL_STRING_MAKE(url), TPTAG_IDENT(ident), TAG_END()) != 0) {
            snprintf(err, errlen, "cannot listen on %s", url);
            return -1;
        }
    }
    return 0;
}
