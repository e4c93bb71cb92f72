/* Unit tests for node/sip/digest_client.c: answers to 401 and 407 challenges (qop=auth and the
 * RFC 2069 form), checked against digest.c; challenges it must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip_parser.h>

#include "sip/digest.h"
#include "sip/digest_client.h"

static msg_t *response(const char *status, const char *challenge)
{
    char text[1024];
    snprintf(text, sizeof text,
             "SIP/2.0 %s\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n"
             "From: <sip:u@h>;tag=a\r\nTo: <sip:u@h>;tag=b\r\nCall-ID: c1\r\n"
             "CSeq: 1 REGISTER\r\n%s\r\nContent-Length: 0\r\n\r\n",
             status, challenge);
    msg_t *msg = msg_make(sip_default_mclass(), 0, text, (ssize_t)strlen(text));
    assert_non_null(msg);
    return msg;
}

/* The value of name="..." (or name=...) in an answer. */
static void field(const char *answer, const char *name, char *out, size_t len)
{
    char key[32];
    snprintf(key, sizeof key, " %s=", name);
    const char *p = strstr(answer, key);
    assert_non_null(p);
    p += strlen(key);
    if (*p == '"')
        p++;
    size_t n = strcspn(p, "\",\r");
    assert_true(n < len);
    memcpy(out, p, n);
    out[n] = '\0';
}

static void answers_a_401_with_qop_auth(void **state)
{
    (void)state;
    msg_t *msg = response("401 Unauthorized", "WWW-Authenticate: Digest realm=\"carrier\", "
                                              "nonce=\"n1\", qop=\"auth,auth-int\", opaque=\"o\", "
                                              "algorithm=MD5");
    char out[1024], cnonce[64], resp[64], expected[DIGEST_HEX_LEN], ha1[DIGEST_HEX_LEN];
    assert_int_equal(digest_client_answer(sip_object(msg), "trunk", "pw", "REGISTER", "sip:gw:5060",
                                          out, sizeof out),
                     0);
    assert_true(strncmp(out, "Authorization: Digest username=\"trunk\"", 38) == 0);
    assert_non_null(strstr(out, "qop=auth, nc=00000001"));
    assert_non_null(strstr(out, "opaque=\"o\""));
    field(out, "cnonce", cnonce, sizeof cnonce);
    field(out, "response", resp, sizeof resp);
    digest_ha1("trunk", "carrier", "pw", ha1);
    digest_response(ha1, "n1", "00000001", cnonce, "auth", "REGISTER", "sip:gw:5060", expected);
    assert_string_equal(resp, expected);
    assert_string_equal(out + strlen(out) - 2, "\r\n");
    msg_destroy(msg);
}

static void answers_a_407_without_qop_in_rfc2069_form(void **state)
{
    (void)state;
    msg_t *msg = response("407 Proxy Authentication Required",
                          "Proxy-Authenticate: Digest realm=\"r\", nonce=\"n2\"");
    char out[1024], resp[64], ha1[DIGEST_HEX_LEN], ha2[DIGEST_HEX_LEN], all[200];
    char expected[DIGEST_HEX_LEN];
    assert_int_equal(
        digest_client_answer(sip_object(msg), "u", "p", "INVITE", "sip:1@gw", out, sizeof out), 0);
    assert_true(strncmp(out, "Proxy-Authorization: Digest ", 28) == 0);
    assert_null(strstr(out, "qop="));
    field(out, "response", resp, sizeof resp);
    digest_ha1("u", "r", "p", ha1);
    digest_md5_hex("INVITE:sip:1@gw", 15, ha2);
    snprintf(all, sizeof all, "%s:n2:%s", ha1, ha2);
    digest_md5_hex(all, strlen(all), expected);
    assert_string_equal(resp, expected);
    msg_destroy(msg);
}

static void refuses_what_it_cannot_answer(void **state)
{
    (void)state;
    const char *bad[] = {
        "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"",
        "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256",
        "WWW-Authenticate: Digest realm=\"r\"",
        "WWW-Authenticate: Basic realm=\"r\"",
        "Server: no challenge at all",
    };
    char out[1024];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        msg_t *msg = response("401 Unauthorized", bad[i]);
        assert_int_equal(
            digest_client_answer(sip_object(msg), "u", "p", "REGISTER", "sip:x", out, sizeof out),
            -1);
        msg_destroy(msg);
    }
    msg_t *msg = response("401 Unauthorized", "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\"");
    assert_int_equal(digest_client_answer(sip_object(msg), "u", "p", "REGISTER", "sip:x", out, 40),
                     -1);
    msg_destroy(msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answers_a_401_with_qop_auth),
        cmocka_unit_test(answers_a_407_without_qop_in_rfc2069_form),
        cmocka_unit_test(refuses_what_it_cannot_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
