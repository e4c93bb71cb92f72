/* hiredis async adapter for sofia-sip's su_root: the one place that tells the signalling loop
 * when a redisAsyncContext wants to read or write. Used by redis_conn and redis_sentinel. */
#ifndef TANDEM_REDIS_SU_H
#define TANDEM_REDIS_SU_H

#include <hiredis/async.h>
#include <sofia-sip/su_wait.h>

/* Hooks ac's events into root. The adapter's state belongs to ac and goes with it (hiredis
 * calls its cleanup hook when the context is freed). -1 when out of memory: ac is untouched. */
int redis_su_attach(redisAsyncContext *ac, su_root_t *root);

#endif
