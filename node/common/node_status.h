/* Health of this node's connections to its stores, shared between the signalling loop
 * (which owns the connections and writes) and the API and SNMP threads (which read). */
#ifndef TANDEM_NODE_STATUS_H
#define TANDEM_NODE_STATUS_H

#include <stdatomic.h>

struct node_status {
    atomic_int redis_up;
    atomic_int postgres_up;
    atomic_long registers_ok;  /* REGISTERs answered 200 since start */
    atomic_long auth_failures; /* digest checks that failed since start */
    long started_at;           /* unix seconds, written once before threads start */
};

#endif
