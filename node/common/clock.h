/* Monotonic time in seconds as a double: for timeouts, rate limits and cache ages; and wall-clock
 * milliseconds, used only for what is stored or shown (call times, heartbeats, leases). */
#ifndef TANDEM_CLOCK_H
#define TANDEM_CLOCK_H

#include <sys/time.h>
#include <time.h>

static inline double clock_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline long long clock_wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

#endif
