/* FNV-1a over "member\0key" then the splitmix64 finalizer: FNV alone mixes the last bytes
 * poorly, and the finalizer makes every member's weights independent enough for an even spread. */
#include "ring.h"

#include <string.h>

static uint64_t fnv1a(uint64_t h, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

uint64_t ring_weight(const char *member, const char *key)
{
    uint64_t h = 14695981039346656037ULL;
    h = fnv1a(h, member, strlen(member) + 1); /* the NUL separates "ab"+"c" from "a"+"bc" */
    h = fnv1a(h, key, strlen(key));
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

int ring_owner(const char *const *members, size_t n, const char *key)
{
    int best = -1;
    uint64_t best_w = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t w = ring_weight(members[i], key);
        if (best < 0 || w > best_w || (w == best_w && strcmp(members[i], members[best]) < 0)) {
            best = (int)i;
            best_w = w;
        }
    }
    return best;
}
