/* libFuzzer target for the RTCP reader (node/media/media_rtcp.c), which parses what any host on
 * the Internet sends to a media port. Not part of the CMake build (it needs clang); run with:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Inode tests/fuzz/fuzz_media_rtcp.c \
 *         node/media/media_rtcp.c -o fuzz_media_rtcp && ./fuzz_media_rtcp -max_len=1500 */
#include "media/media_rtcp.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct media_rtcp_info info;
    int rc = media_rtcp_parse(data, size, &info);
    if ((rc != 0 && rc != -1) || info.nblocks < 0 || info.nblocks > MEDIA_RTCP_MAX_BLOCKS)
        abort();
    /* A report built from whatever was read must read back the same. */
    if (info.nblocks > 0) {
        uint8_t rr[MEDIA_RTCP_RR_LEN];
        struct media_rtcp_info back;
        if (media_rtcp_build_rr(rr, sizeof rr, info.sr_ssrc, &info.block[0]) != sizeof rr ||
            media_rtcp_parse(rr, sizeof rr, &back) != 0 || back.nblocks != 1 ||
            back.block[0].ssrc != info.block[0].ssrc || back.block[0].lsr != info.block[0].lsr)
            abort();
    }
    return 0;
}
