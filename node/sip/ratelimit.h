/* Flood and brute-force protection per source address: a token bucket on requests and a
 * temporary ban after repeated authentication failures. One instance per signalling loop. */
#ifndef TANDEM_RATELIMIT_H
#define TANDEM_RATELIMIT_H

struct ratelimit_config {
    double rate;      /* requests per second; 0 disables the bucket */
    double burst;     /* bucket depth */
    int ban_failures; /* failures within ban_window that start a ban; 0 disables bans */
    double ban_window;
    double ban_seconds;
};

enum ratelimit_verdict { RATELIMIT_PASS, RATELIMIT_LIMITED, RATELIMIT_BANNED };

struct ratelimit;

struct ratelimit *ratelimit_create(const struct ratelimit_config *cfg);
void ratelimit_destroy(struct ratelimit *rl);

/* Called for every request; now is monotonic seconds. */
enum ratelimit_verdict ratelimit_check(struct ratelimit *rl, const char *source, double now);

/* Records a failed authentication; returns 1 when this failure starts a ban. */
int ratelimit_auth_failure(struct ratelimit *rl, const char *source, double now);

/* Forgets sources idle long enough that they hold no state worth keeping. */
void ratelimit_sweep(struct ratelimit *rl, double now);

unsigned long ratelimit_sources(const struct ratelimit *rl);

#endif
