/* Tone helpers shared by the codec unit tests and tests/integration/codec_peer.c: a sine tone
 * generator, Goertzel power at one frequency, and the dominant frequency of a stretch of PCM.
 * Header-only and free of cmocka, so the integration peer can include it as well. */
#ifndef TANDEM_TONE_TEST_UTIL_H
#define TANDEM_TONE_TEST_UTIL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* n samples of a hz sine at rate, amplitude amp, continuing from sample index *phase. */
static inline void tone_fill(int16_t *pcm, size_t n, int hz, int rate, double amp, long *phase)
{
    for (size_t i = 0; i < n; i++, (*phase)++)
        pcm[i] = (int16_t)lrint(amp * sin(2.0 * M_PI * hz * (double)*phase / rate));
}

/* Power of pcm at hz (Goertzel), normalised by the number of samples. */
static inline double tone_power(const int16_t *pcm, size_t n, int hz, int rate)
{
    double coeff = 2.0 * cos(2.0 * M_PI * hz / rate), s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        double s0 = pcm[i] + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / ((double)n * (double)n);
}

/* The strongest frequency between 100 Hz and 3500 Hz in 50 Hz steps (what survives any of the
 * codecs, narrowband included); *ratio gets its power over the strongest one at least 300 Hz
 * away, so a caller can ask for a tone that clearly stands out. 0 for silence. */
static inline int tone_dominant(const int16_t *pcm, size_t n, int rate, double *ratio)
{
    double best = 0, p[70];
    int best_hz = 0;
    for (int k = 0; k < 69; k++) {
        int hz = 100 + 50 * k;
        p[k] = tone_power(pcm, n, hz, rate);
        if (p[k] > best) {
            best = p[k];
            best_hz = hz;
        }
    }
    double other = 0;
    for (int k = 0; k < 69; k++) {
        int hz = 100 + 50 * k;
        if (abs(hz - best_hz) >= 300 && p[k] > other)
            other = p[k];
    }
    if (ratio)
        *ratio = other > 0 ? best / other : (best > 0 ? 1e9 : 0);
    return best > 1.0 ? best_hz : 0;
}

#endif
