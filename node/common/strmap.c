/* Chained hash map with FNV-1a hashing that doubles its bucket array at load factor 1.
 * Small and predictable; the maps it serves hold at most a few hundred thousand entries. */
#include "common/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    struct entry *next;
    uint32_t hash;
    void *value;
    char key[];
};

struct strmap {
    struct entry **buckets;
    size_t nbuckets, count;
};

static uint32_t hash_key(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 16777619u;
    }
    return h;
}

struct strmap *strmap_create(void)
{
    struct strmap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->nbuckets = 64;
    m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
    if (!m->buckets) {
        free(m);
        return NULL;
    }
    return m;
}

void strmap_destroy(struct strmap *m, void (*free_value)(void *))
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct entry *e = m->buckets[i];
        while (e) {
            struct entry *next = e->next;
            if (free_value)
                free_value(e->value);
            free(e);
            e = next;
        }
    }
    free(m->buckets);
    free(m);
}

static struct entry **find_slot(const struct strmap *m, const char *key, uint32_t h)
{
    struct entry **p = &m->buckets[h & (m->nbuckets - 1)];
    while (*p && !((*p)->hash == h && strcmp((*p)->key, key) == 0))
        p = &(*p)->next;
    return p;
}

void *strmap_get(const struct strmap *m, const char *key)
{
    struct entry **p = find_slot(m, key, hash_key(key));
    return *p ? (*p)->value : NULL;
}

static void grow(struct strmap *m)
{
    size_t n = m->nbuckets * 2;
    struct entry **b = calloc(n, sizeof *b);
    if (!b)
        return; /* keep working with longer chains */
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct entry *e = m->buckets[i];
        while (e) {
            struct entry *next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}

int strmap_put(struct strmap *m, const char *key, void *value, void **previous)
{
    uint32_t h = hash_key(key);
    struct entry **p = find_slot(m, key, h);
    if (previous)
        *previous = NULL;
    if (*p) {
        if (previous)
            *previous = (*p)->value;
        (*p)->value = value;
        return 0;
    }
    size_t len = strlen(key);
    struct entry *e = malloc(sizeof *e + len + 1);
    if (!e)
        return -1;
    memcpy(e->key, key, len + 1);
    e->hash = h;
    e->value = value;
    e->next = NULL;
    *p = e;
    if (++m->count > m->nbuckets)
        grow(m);
    return 0;
}

void *strmap_remove(struct strmap *m, const char *key)
{
    struct entry **p = find_slot(m, key, hash_key(key));
    if (!*p)
        return NULL;
    struct entry *e = *p;
    void *v = e->value;
    *p = e->next;
    free(e);
    m->count--;
    return v;
}

size_t strmap_size(const struct strmap *m)
{
    return m->count;
}

void strmap_sweep(struct strmap *m, int (*fn)(const char *key, void *value, void *arg), void *arg)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct entry **p = &m->buckets[i];
        while (*p) {
            struct entry *e = *p;
            if (fn(e->key, e->value, arg)) {
                *p = e->next;
                free(e);
                m->count--;
            } else {
                p = &e->next;
            }
        }
    }
}
