/* A string-keyed hash map that owns its keys (values are the caller's).
 * Used for the node's caches and per-source counters; not thread-safe, one owner loop. */
#ifndef TANDEM_STRMAP_H
#define TANDEM_STRMAP_H

#include <stddef.h>

struct strmap;

struct strmap *strmap_create(void);
/* free_value is called on each remaining value; may be NULL. */
void strmap_destroy(struct strmap *m, void (*free_value)(void *));
void *strmap_get(const struct strmap *m, const char *key);
/* Inserts or replaces; returns the previous value (or NULL), -1 cast on allocation failure. */
int strmap_put(struct strmap *m, const char *key, void *value, void **previous);
void *strmap_remove(struct strmap *m, const char *key);
size_t strmap_size(const struct strmap *m);
/* Calls fn for each entry; if fn returns non-zero the entry is removed (fn owns the value then). */
void strmap_sweep(struct strmap *m, int (*fn)(const char *key, void *value, void *arg), void *arg);

#endif
