/* Rendezvous (highest-random-weight) hashing: which live member owns a key. Every node computes
 * the same answer from the same membership, and a member's departure moves only its own keys. */
#ifndef TANDEM_RING_H
#define TANDEM_RING_H

#include <stddef.h>
#include <stdint.h>

/* The weight of key on member; a 64-bit hash of both, well mixed. */
uint64_t ring_weight(const char *member, const char *key);

/* Index of the owner of key among members[0..n), or -1 when n is 0. Order of members does not
 * matter; equal weights (astronomically rare) go to the smaller name. */
int ring_owner(const char *const *members, size_t n, const char *key);

#endif
