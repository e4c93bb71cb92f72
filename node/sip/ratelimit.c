/* Per-source state lives in a strmap keyed by the source IP (not port: a NATed attacker changes
 * ports freely). Sweeping is explicit so the hot path never walks the table. */
#include "sip/ratelimit.h"

#include "common/strmap.h"

#include <stdlib.h>

struct source_state {
    double tokens, last;
    int failures;
    double window_start;
    double banned_until;
};

struct ratelimit {
    struct ratelimit_config cfg;
    struct strmap *sources;
};

struct ratelimit *ratelimit_create(const struct ratelimit_config *cfg)
{
    struct ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    rl->cfg = *cfg;
    rl->sources = strmap_create();
    if (!rl->sources) {
        free(rl);
        return NULL;
    }
    return rl;
}

void ratelimit_destroy(struct ratelimit *rl)
{
    if (!rl)
        return;
    strmap_destroy(rl->sources, free);
    free(rl);
}

static struct source_state *state_for(struct ratelimit *rl, const char *source, double now)
{
    struct source_state *s = strmap_get(rl->sources, source);
    if (s)
        return s;
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->tokens = rl->cfg.burst;
    s->last = now;
    s->window_start = now;
    if (strmap_put(rl->sources, source, s, NULL) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

enum ratelimit_verdict ratelimit_check(struct ratelimit *rl, const char *source, double now)
{
    struct source_state *s = state_for(rl, source, now);
    if (!s)
        return RATELIMIT_PASS; /* out of memory: serve rather than refuse everyone */
    if (s->banned_until > now)
        return RATELIMIT_BANNED;
    if (rl->cfg.rate <= 0)
        return RATELIMIT_PASS;
    s->tokens += (now - s->last) * rl->cfg.rate;
    if (s->tokens > rl->cfg.burst)
        s->tokens = rl->cfg.burst;
    s->last = now;
    if (s->tokens < 1.0)
        return RATELIMIT_LIMITED;
    s->tokens -= 1.0;
    return RATELIMIT_PASS;
}

int ratelimit_auth_failure(struct ratelimit *rl, const char *source, double now)
{
    if (rl->cfg.ban_failures <= 0)
        return 0;
    struct source_state *s = state_for(rl, source, now);
    if (!s || s->banned_until > now)
        return 0;
    if (now - s->window_start > rl->cfg.ban_window) {
        s->window_start = now;
        s->failures = 0;
    }
    if (++s->failures < rl->cfg.ban_failures)
        return 0;
    s->banned_until = now + rl->cfg.ban_seconds;
    s->failures = 0;
    return 1;
}

struct sweep_args {
    const struct ratelimit *rl;
    double now;
};

static int idle(const char *key, void *value, void *arg)
{
    (void)key;
    const struct sweep_args *a = arg;
    const struct ratelimit *rl = a->rl;
    double now = a->now;
    struct source_state *s = value;
    int keep = s->banned_until > now || now - s->window_start <= rl->cfg.ban_window ||
               (rl->cfg.rate > 0 && s->tokens + (now - s->last) * rl->cfg.rate < rl->cfg.burst);
    if (keep)
        return 0;
    free(s);
    return 1;
}

void ratelimit_sweep(struct ratelimit *rl, double now)
{
    struct sweep_args args = {rl, now};
    strmap_sweep(rl->sources, idle, &args);
}

unsigned long ratelimit_sources(const struct ratelimit *rl)
{
    return (unsigned long)strmap_size(rl->sources);
}
