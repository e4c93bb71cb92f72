/* Test helper for test_srtp.py (compiled there with cc -lsrtp2): SRTP as a filter, because
 * Python has no libsrtp binding. The test keeps the sockets; this only does the crypto.
 * Usage: srtp_peer protect|unprotect <key||salt as 60 hex digits> [suite]
 * stdin: one RTP packet per line in hex; stdout: the result in hex, or "-" when refused. */
#include <srtp2/srtp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_LEN 30
#define MAX_PACKET 2048

static int unhex(const char *s, size_t digits, unsigned char *out)
{
    for (size_t i = 0; i < digits / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || strlen(argv[2]) != 2 * KEY_LEN ||
        (strcmp(argv[1], "protect") != 0 && strcmp(argv[1], "unprotect") != 0)) {
        fprintf(stderr, "usage: srtp_peer protect|unprotect <60 hex digits> [suite]\n");
        return 2;
    }
    int protect = strcmp(argv[1], "protect") == 0;
    unsigned char key[KEY_LEN];
    if (unhex(argv[2], 2 * KEY_LEN, key) != 0 || srtp_init() != srtp_err_status_ok)
        return 2;
    srtp_policy_t p;
    memset(&p, 0, sizeof p);
    if (argc > 3 && strcmp(argv[3], "AES_CM_128_HMAC_SHA1_32") == 0)
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p.rtp);
    else
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
    p.key = key;
    p.ssrc.type = protect ? ssrc_any_outbound : ssrc_any_inbound;
    p.window_size = 128;
    srtp_t ctx;
    if (srtp_create(&ctx, &p) != srtp_err_status_ok)
        return 2;
    static char line[2 * MAX_PACKET + 4];
    static unsigned char pkt[MAX_PACKET + SRTP_MAX_TRAILER_LEN];
    while (fgets(line, sizeof line, stdin)) {
        size_t digits = strcspn(line, "\r\n");
        int len = (int)(digits / 2);
        if (digits % 2 || len > MAX_PACKET || unhex(line, digits, pkt) != 0) {
            puts("-");
            continue;
        }
        srtp_err_status_t st =
            protect ? srtp_protect(ctx, pkt, &len) : srtp_unprotect(ctx, pkt, &len);
        if (st != srtp_err_status_ok) {
            puts("-");
            continue;
        }
        for (int i = 0; i < len; i++)
            printf("%02x", pkt[i]);
        putchar('\n');
    }
    srtp_dealloc(ctx);
    srtp_shutdown();
    return 0;
}
