/* Unit tests for cluster/ring.c: agreement, even spread, and that a membership change moves
 * only the keys of the member that left (or the share the newcomer takes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

#define KEYS 20000

static const char *key_name(int i)
{
    static char buf[64];
    snprintf(buf, sizeof buf, "tenant%d/conference/room%d", i % 37, i);
    return buf;
}

static void owner_does_not_depend_on_member_order(void **state)
{
    (void)state;
    const char *a[] = {"node1", "node2", "node3"};
    const char *b[] = {"node3", "node1", "node2"};
    for (int i = 0; i < 1000; i++) {
        const char *k = key_name(i);
        assert_string_equal(a[ring_owner(a, 3, k)], b[ring_owner(b, 3, k)]);
    }
    assert_int_equal(ring_owner(a, 0, "x"), -1);
}

static void keys_spread_evenly(void **state)
{
    (void)state;
    const char *m[] = {"node1", "node2", "node3", "node4"};
    int count[4] = {0};
    for (int i = 0; i < KEYS; i++)
        count[ring_owner(m, 4, key_name(i))]++;
    for (int j = 0; j < 4; j++) /* 5000 expected each; a 10% band is ~14 standard deviations */
        assert_in_range(count[j], 4500, 5500);
}

/* Removes members one by one, then adds new ones, checking after every change that a key moved
 * only if its old owner left (or, on a join, only to the newcomer). */
static void only_the_changed_members_keys_move(void **state)
{
    (void)state;
    char names[12][16];
    const char *live[12];
    size_t n = 8;
    for (int i = 0; i < 12; i++)
        snprintf(names[i], sizeof names[i], "n%02d", i);
    for (size_t i = 0; i < n; i++)
        live[i] = names[i];
    const char **before = calloc(KEYS, sizeof *before);
    assert_non_null(before);
    for (int i = 0; i < KEYS; i++)
        before[i] = live[ring_owner(live, n, key_name(i))];

    /* 'r' removes the live member at that position, 'j' joins names[index] */
    struct {
        char op;
        int index;
    } steps[] = {{'r', 3}, {'r', 0},  {'r', 4}, {'j', 8}, {'j', 9},
                 {'r', 1}, {'j', 10}, {'r', 2}, {'j', 11}};
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        const char *changed;
        if (steps[s].op == 'r') {
            size_t pos = (size_t)steps[s].index;
            changed = live[pos];
            memmove(&live[pos], &live[pos + 1], (n - pos - 1) * sizeof live[0]);
            n--;
        } else {
            changed = names[steps[s].index];
            live[n++] = changed;
        }
        int moved = 0;
        for (int i = 0; i < KEYS; i++) {
            const char *now = live[ring_owner(live, n, key_name(i))];
            if (strcmp(now, before[i]) != 0) {
                moved++;
                /* a key may move only away from the member that left, or onto the newcomer */
                assert_true(strcmp(before[i], changed) == 0 || strcmp(now, changed) == 0);
            }
            before[i] = now;
        }
        assert_true(moved > 0);
    }
    free(before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(owner_does_not_depend_on_member_order),
        cmocka_unit_test(keys_spread_evenly),
        cmocka_unit_test(only_the_changed_members_keys_move),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
