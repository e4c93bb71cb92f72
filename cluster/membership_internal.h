/* What membership.c shares with its sources: the core keeps the live table, the down callbacks
 * and the copy for other threads; a source (membership_corosync.c, or the Redis heartbeats read
 * in membership.c) only reports who is live and whether this node is quorate. */
#ifndef TANDEM_MEMBERSHIP_INTERNAL_H
#define TANDEM_MEMBERSHIP_INTERNAL_H

#include "membership.h"

/* Replaces the live set (this node is added when missing; duplicates of a name keep the first).
 * Members that were live and are not any more are reported to the down callbacks with the ring
 * id. ring_id must grow with every change of the source's view (the core keeps the largest
 * seen), so a departure always carries an id above every earlier one. */
void membership_update(struct membership *m, const struct member *live, size_t n, uint64_t ring_id);
void membership_set_quorate(struct membership *m, int quorate);
/* The source's view (a ring id as given to membership_update, or above every id of that view)
 * that the last quorum verdict belongs to; ids only grow. */
void membership_set_verdict_ring(struct membership *m, uint64_t ring_id);
/* Names of every node known to have run; those not live become membership_dead. */
void membership_set_known(struct membership *m, const char *const *names, size_t n);

/* The corosync source: joins group and reports to m. NULL with err when corosync cannot be
 * reached at start; later losses are retried every retry_ms (quorum is lost meanwhile). */
struct membership_corosync;
struct membership_corosync *membership_corosync_start(struct membership *m, su_root_t *root,
                                                      const struct member *self, const char *group,
                                                      int retry_ms, char *err, size_t errlen);
void membership_corosync_stop(struct membership_corosync *c);

#endif
