/* Rebuilding a dead node's calls on this node from their records (call_recover.c); the records
 * come from the claim that failover.c makes in Redis. */
#ifndef TANDEM_CALL_RECOVER_H
#define TANDEM_CALL_RECOVER_H

#include <jansson.h>

struct calls;

struct call_recovery {
    const char *dead;    /* the node the calls were on */
    const char *address; /* its service address (SIP and media), now this node's (VIP mode) */
    int sip_port;        /* its SIP port on that address */
    int reinvite;        /* 1: re-INVITE mode, new media here; 0: VIP mode, same address */
};

/* Each record (an array of call records) becomes a call of this node: answered calls go on,
 * calls still being set up are dropped. Returns the number of records seen. */
int calls_recover(struct calls *cs, json_t *records, const struct call_recovery *how);

/* Stopping: the re-INVITEs of recovered calls still unanswered are dropped, their state freed. */
void calls_recover_shutdown(void);

#endif
