/* xcodeload: CPU of the transcoding path for N concurrent PCMU<->Opus calls on one thread, as a
 * media thread would run it: every 20 ms of call time, each call's A packet (PCMU, 160 bytes)
 * goes through its A->B transcoder and its B packet (Opus, pre-encoded speech-like tone) through
 * its B->A transcoder (media_xcode_packet: decode, 20 ms framing, encode, renumbering). No
 * sockets and no pacing: it measures codec work per call-second, the part the relay's own
 * per-packet cost (bench_relay.py) does not include.
 * Usage: xcodeload CALLS SECONDS   (SECONDS of call time each). Prints key=value results. */
#include "media/media_codec.h"
#include "media/media_transcode.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define FRAMES 50 /* one second of pre-encoded input, cycled */

static double cpu_s(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + (double)r.ru_stime.tv_sec +
           r.ru_stime.tv_usec / 1e6;
}

static void header(uint8_t *p, int pt, uint16_t seq, uint32_t ts, uint32_t ssrc)
{
    p[0] = 0x80;
    p[1] = (uint8_t)pt;
    p[2] = (uint8_t)(seq >> 8);
    p[3] = (uint8_t)seq;
    for (int i = 0; i < 4; i++) {
        p[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
        p[8 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
    }
}

int main(int argc, char **argv)
{
    int calls = argc > 1 ? atoi(argv[1]) : 100, seconds = argc > 2 ? atoi(argv[2]) : 10;
    if (calls < 1 || seconds < 1)
        return 2;
    /* One second of a warbling tone (speech-like enough to keep Opus busy) in both codecs. */
    static uint8_t pcmu[FRAMES][160], opus[FRAMES][1275];
    static int opus_len[FRAMES];
    struct media_encoder *eu = media_encoder_create(MEDIA_CODEC_PCMU, 8000);
    struct media_encoder *eo = media_encoder_create(MEDIA_CODEC_OPUS, 8000);
    for (int f = 0; f < FRAMES; f++) {
        int16_t pcm[160];
        for (int i = 0; i < 160; i++) {
            double t = (f * 160 + i) / 8000.0;
            pcm[i] = (int16_t)(6000 * sin(2 * M_PI * (300 + 200 * sin(2 * M_PI * 3 * t)) * t));
        }
        if (media_encode(eu, pcm, 160, pcmu[f], 160) != 160 ||
            (opus_len[f] = media_encode(eo, pcm, 160, opus[f], sizeof opus[f])) <= 0)
            return 1;
    }
    media_encoder_free(eu);
    media_encoder_free(eo);
    struct media_transcode ab = {0, MEDIA_CODEC_PCMU, 96, MEDIA_CODEC_OPUS, 101, 8000, 97, 48000};
    struct media_transcode ba = {96, MEDIA_CODEC_OPUS, 0, MEDIA_CODEC_PCMU, 97, 48000, 101, 8000};
    struct media_xcode **x = calloc((size_t)calls * 2, sizeof *x);
    struct media_ostream *o = calloc((size_t)calls * 2, sizeof *o);
    if (!x || !o)
        return 1;
    for (int c = 0; c < calls; c++)
        if (!(x[2 * c] = media_xcode_create(&ab)) || !(x[2 * c + 1] = media_xcode_create(&ba)))
            return 1;
    long sent = 0, failed = 0;
    struct timespec w0, w1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    double c0 = cpu_s();
    for (int tick = 0; tick < seconds * 50; tick++) {
        int f = tick % FRAMES;
        for (int c = 0; c < calls; c++) {
            uint8_t pkt[2048];
            size_t len = 12 + 160;
            header(pkt, 0, (uint16_t)tick, (uint32_t)tick * 160, (uint32_t)c);
            memcpy(pkt + 12, pcmu[f], 160);
            media_xcode_packet(x[2 * c], &o[2 * c], pkt, &len, 2048) == MEDIA_XC_SEND ? sent++
                                                                                      : failed++;
            len = 12 + (size_t)opus_len[f];
            header(pkt, 96, (uint16_t)tick, (uint32_t)tick * 960, (uint32_t)c + 1000000);
            memcpy(pkt + 12, opus[f], (size_t)opus_len[f]);
            media_xcode_packet(x[2 * c + 1], &o[2 * c + 1], pkt, &len, 2048) == MEDIA_XC_SEND
                ? sent++
                : failed++;
        }
    }
    double cpu = cpu_s() - c0;
    clock_gettime(CLOCK_MONOTONIC, &w1);
    double wall = (double)(w1.tv_sec - w0.tv_sec) + (w1.tv_nsec - w0.tv_nsec) / 1e9;
    double call_seconds = (double)calls * seconds;
    printf("xcodeload calls=%d seconds=%d packets=%ld failed=%ld cpu_s=%.3f wall_s=%.3f "
           "cpu_us_per_call_second=%.1f cpu_us_per_packet=%.2f calls_per_core=%.0f\n",
           calls, seconds, sent, failed, cpu, wall, cpu / call_seconds * 1e6, cpu / sent * 1e6,
           call_seconds / cpu);
    for (int c = 0; c < calls * 2; c++)
        media_xcode_free(x[c]);
    free(x);
    free(o);
    return failed ? 1 : 0;
}
