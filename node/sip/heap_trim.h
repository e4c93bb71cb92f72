/* Gives the heap's free memory back to the kernel once the node is quiet again: after a burst
 * of calls glibc keeps the pages of sofia's finished transactions resident, used by nothing. */
#ifndef TANDEM_HEAP_TRIM_H
#define TANDEM_HEAP_TRIM_H

#include <sofia-sip/nta.h>
#include <sofia-sip/su_wait.h>

#define HEAP_TRIM_CHECK_MS 10000
/* "Quiet": nta holds at most this many transactions (a burst's linger 32 s after it). */
#define HEAP_TRIM_IDLE_TRANSACTIONS 256
/* Trimmed only when RSS grew by this much since the last trim (or the start). */
#define HEAP_TRIM_GROWTH_BYTES (32L << 20)

struct heap_trim;

/* Checks every HEAP_TRIM_CHECK_MS on the loop's timer. NULL when it cannot run (the node runs
 * on without it). */
struct heap_trim *heap_trim_start(su_root_t *root, nta_agent_t *agent);
void heap_trim_stop(struct heap_trim *h);

#endif
