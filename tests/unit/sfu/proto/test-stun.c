/* sfu/proto/stun.c against libnice's own ICE client side: requests are built the
 * way a browser sends them (stun_usage_ice_conncheck_create), answers are
 * checked the way the browser would (stun_agent_validate on the client
 * agent, then XOR-MAPPED-ADDRESS).  Malformed variants (RELIABILITY 12)
 * are made from real requests.
 *
 * `test-sfu-stun --write-corpus DIR` also writes every message it sends to
 * DIR, which is how tests/fuzz/corpus/stun/ was seeded. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stun/stunagent.h>
#include <stun/stunmessage.h>
#include <stun/usages/ice.h>

#include "sfu/proto/stun.h"
#include "tests/unit/sc_test.h"

#define LOCAL_UFRAG "LOCAL"
#define REMOTE_UFRAG "REMOTE"
#define PWD "0123456789abcdefghijkl" /* 22 chars: the ICE minimum */

static const uint16_t known[] = {
    STUN_ATTRIBUTE_USERNAME,       STUN_ATTRIBUTE_MESSAGE_INTEGRITY,
    STUN_ATTRIBUTE_PRIORITY,       STUN_ATTRIBUTE_USE_CANDIDATE,
    STUN_ATTRIBUTE_ICE_CONTROLLED, STUN_ATTRIBUTE_ICE_CONTROLLING,
    STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, STUN_ATTRIBUTE_ERROR_CODE,
    0,
};

static const char *corpus_dir;

static void keep(const char *name, const uint8_t *buf, size_t len)
{
    if (!corpus_dir)
        return;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", corpus_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return;
    }
    fwrite(buf, 1, len, f);
    fclose(f);
}

static void client_init(StunAgent *a, bool fingerprint)
{
    stun_agent_init(a, known, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS |
                        (fingerprint ? STUN_AGENT_USAGE_USE_FINGERPRINT : 0));
}

/* A connectivity check as a browser (controlling, full ICE) sends it. */
static size_t make_check(StunAgent *cli, StunMessage *m, uint8_t *buf, size_t cap,
                         const char *user, const char *pwd, bool use_cand, bool controlling,
                         uint32_t prio)
{
    return stun_usage_ice_conncheck_create(cli, m, buf, cap, (const uint8_t *)user,
                                           strlen(user), (const uint8_t *)pwd, strlen(pwd),
                                           use_cand, controlling, prio, 0x1122334455667788ull,
                                           NULL, STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
}

static int answer(const uint8_t *buf, size_t len, const struct sockaddr *from, socklen_t fl,
                  uint8_t *out, size_t cap, sc_stun_request *req)
{
    return sc_stun_answer_binding(buf, len, LOCAL_UFRAG, PWD, from, fl, out, cap, req);
}

static struct sockaddr_in v4(void)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(50123);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    return a;
}

static struct sockaddr_in6 v6(void)
{
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(40000);
    inet_pton(AF_INET6, "::1", &a.sin6_addr);
    return a;
}

/* Checks a success reply as the client would and returns the mapped
 * address through *mapped. */
static void check_success_reply(StunAgent *cli, const uint8_t *out, int n,
                                struct sockaddr_storage *mapped, socklen_t *mlen)
{
    StunMessage resp;
    SC_CHECK(n > 0);
    if (n <= 0)
        return;
    SC_CHECK_INT(stun_agent_validate(cli, &resp, out, (size_t)n, NULL, NULL),
                 STUN_VALIDATION_SUCCESS);
    SC_CHECK_INT(stun_message_get_class(&resp), STUN_RESPONSE);
    SC_CHECK(stun_message_has_attribute(&resp, STUN_ATTRIBUTE_MESSAGE_INTEGRITY));
    SC_CHECK(stun_message_has_attribute(&resp, STUN_ATTRIBUTE_FINGERPRINT));
    *mlen = sizeof(*mapped);
    SC_CHECK_INT(stun_usage_ice_conncheck_process(&resp, mapped, mlen,
                                                  STUN_USAGE_ICE_COMPATIBILITY_RFC5245),
                 STUN_USAGE_ICE_RETURN_SUCCESS);
}

static void test_is_stun(void)
{
    uint8_t b[20] = {0};
    SC_CHECK(sc_stun_is_stun(b, 20));
    SC_CHECK(!sc_stun_is_stun(b, 19));
    b[0] = 0x80; /* RTP */
    SC_CHECK(!sc_stun_is_stun(b, 20));
    b[0] = 22; /* DTLS handshake */
    SC_CHECK(!sc_stun_is_stun(b, 20));
    b[0] = 3;
    SC_CHECK(sc_stun_is_stun(b, 20));
    SC_CHECK(!sc_stun_is_stun(NULL, 20));
}

static void test_round_trip_v4(void)
{
    StunAgent cli;
    StunMessage m;
    uint8_t buf[512], out[512];
    char uf[64];
    client_init(&cli, true);
    size_t len = make_check(&cli, &m, buf, sizeof(buf), LOCAL_UFRAG ":" REMOTE_UFRAG, PWD,
                            true, true, 0x6e7f00ff);
    SC_CHECK(len > 0);
    keep("valid-controlling-usecand", buf, len);

    SC_CHECK_INT(sc_stun_local_ufrag(buf, len, uf, sizeof(uf)), 0);
    SC_CHECK_STR(uf, LOCAL_UFRAG);
    SC_CHECK_INT(sc_stun_local_ufrag(buf, len, uf, 5), -ENOSPC);
    SC_CHECK_INT(sc_stun_local_ufrag(buf, len, uf, 6), 0);

    struct sockaddr_in from = v4();
    sc_stun_request req;
    memset(&req, 0xa5, sizeof(req));
    int n = answer(buf, len, (struct sockaddr *)&from, sizeof(from), out, sizeof(out), &req);
    SC_CHECK(req.use_candidate);
    SC_CHECK(req.controlling);
    SC_CHECK_INT(req.priority, 0x6e7f00ff);
    SC_CHECK_STR(req.remote_ufrag, REMOTE_UFRAG);
    SC_CHECK(sc_stun_is_stun(out, n > 0 ? (size_t)n : 0));
    /* Same transaction id: the client matches the reply to its request. */
    SC_CHECK(n > 20 && memcmp(out + 4, buf + 4, 16) == 0);

    struct sockaddr_storage mapped;
    socklen_t mlen = 0;
    check_success_reply(&cli, out, n, &mapped, &mlen);
    SC_CHECK_INT(mlen, sizeof(struct sockaddr_in));
    const struct sockaddr_in *m4 = (const struct sockaddr_in *)&mapped;
    SC_CHECK_INT(m4->sin_family, AF_INET);
    SC_CHECK_INT(ntohs(m4->sin_port), 50123);
    SC_CHECK(m4->sin_addr.s_addr == from.sin_addr.s_addr);

    /* Our reply is a response: fed back, it is refused as a request. */
    keep("response", out, n > 0 ? (size_t)n : 0);
    SC_CHECK_INT(answer(out, (size_t)n, (struct sockaddr *)&from, sizeof(from), buf,
                        sizeof(buf), NULL),
                 -EINVAL);
    SC_CHECK_INT(sc_stun_local_ufrag(out, (size_t)n, uf, sizeof(uf)), -ENOENT);
}

static void test_round_trip_v6_no_fingerprint(void)
{
    StunAgent cli;
    StunMessage m;
    uint8_t buf[512], out[512];
    /* RFC 5389 makes FINGERPRINT optional; the reply still carries one. */
    client_init(&cli, false);
    size_t len = make_check(&cli, &m, buf, sizeof(buf), LOCAL_UFRAG ":" REMOTE_UFRAG, PWD,
                            false, true, 1234);
    SC_CHECK(len > 0);
    keep("valid-no-fingerprint", buf, len);
    struct sockaddr_in6 from = v6();
    sc_stun_request req;
    int n = answer(buf, len, (struct sockaddr *)&from, sizeof(from), out, sizeof(out), &req);
    SC_CHECK(n > 0);
    SC_CHECK(!req.use_candidate);
    SC_CHECK_INT(req.priority, 1234);

    /* The client validates with a fingerprint-checking agent. */
    StunAgent fp;
    client_init(&fp, true);
    memcpy(&fp.sent_ids, &cli.sent_ids, sizeof(fp.sent_ids));
    struct sockaddr_storage mapped;
    socklen_t mlen = 0;
    check_success_reply(&fp, out, n, &mapped, &mlen);
    SC_CHECK_INT(mlen, sizeof(struct sockaddr_in6));
    const struct sockaddr_in6 *m6 = (const struct sockaddr_in6 *)&mapped;
    SC_CHECK_INT(m6->sin6_family, AF_INET6);
    SC_CHECK_INT(ntohs(m6->sin6_port), 40000);
    SC_CHECK(memcmp(&m6->sin6_addr, &from.sin6_addr, 16) == 0);
}

static void test_auth(void)
{
    StunAgent cli;
    StunMessage m;
    uint8_t buf[1024], out[512];
    char uf[64];
    struct sockaddr_in from = v4();
    const struct sockaddr *sa = (struct sockaddr *)&from;
    size_t len;

    client_init(&cli, true);
    len = make_check(&cli, &m, buf, sizeof(buf), LOCAL_UFRAG ":" REMOTE_UFRAG,
                     "wrong-password-wrong-password", true, true, 1);
    keep("wrong-password", buf, len);
    SC_CHECK_INT(answer(buf, len, sa, sizeof(from), out, sizeof(out), NULL), -EACCES);

    len = make_check(&cli, &m, buf, sizeof(buf), "OTHER:" REMOTE_UFRAG, PWD, true, true, 1);
    SC_CHECK_INT(sc_stun_local_ufrag(buf, len, uf, sizeof(uf)), 0);
    SC_CHECK_STR(uf, "OTHER");
    SC_CHECK_INT(answer(buf, len, sa, sizeof(from), out, sizeof(out), NULL), -EACCES);

    /* A prefix of our ufrag, or ours without the colon, is not ours. */
    len = make_check(&cli, &m, buf, sizeof(buf), "LOC:" REMOTE_UFRAG, PWD, true, true, 1);
    SC_CHECK_INT(answer(buf, len, sa, sizeof(from), out, sizeof(out), NULL), -EACCES);
    len = make_check(&cli, &m, buf, sizeof(buf), LOCAL_UFRAG "X:R", PWD, true, true, 1);
    SC_CHECK_INT(answer(buf, len, sa, sizeof(from), out, sizeof(out), NULL), -EACCES);
    len = make_check(&cli, &m, buf, sizeof(buf), LOCAL_UFRAG, PWD, true, true, 1);
    keep("username-no-colon", buf, len);
    SC_CHECK_INT(sc_stun_local_ufrag(buf, len, uf, sizeof(uf)), -EINVAL);
    SC_CHECK_INT(answer(buf, len, sa, sizeof(from), out, sizeof(out), NULL), -EACCES);

    /* An empty password must not turn integrity checking off. */
    len = make_check(&cli, &m, buf, sizeof(buf), LOCAL_UFRAG ":" REMOTE_UFRAG, "", true,
                     true, 1);
    SC_CHECK(len > 0);
    SC_CHECK_INT(sc_stun_answer_binding(buf, len, LOCAL_UFRAG, "", sa, sizeof(from), out,
                                        sizeof(out), NULL),
                 -EACCES);
    SC_CHECK_INT(sc_stun_answer_binding(buf, len, "", PWD, sa, sizeof(from), out,
                                        sizeof(out), NULL),
                 -EACCES);

    /* A changed attribute value breaks MESSAGE-INTEGRITY. */
    client_init(&cli, false);
    len = make_check(&cli, &m, buf, sizeof(buf), LOCAL_UFRAG ":" REMOTE_UFRAG, PWD, true,
                     true, 100);
    SC_CHECK(len > 0);
    uint8_t *prio = (uint8_t *)stun_message_find(&m, STUN_ATTRIBUTE_PRIORITY, &(uint16_t){0});
    SC_CHECK(prio != NULL);
    if (prio)
        prio[3] ^= 1;
    keep("tampered-priority", buf, len);
    SC_CHECK_INT(answer(buf, len, sa, sizeof(from), out, sizeof(out), NULL), -EACCES);

    /* A remote ufrag longer than RFC 8445 allows (256). */
    char user[400];
    memset(user, 'r', sizeof(user));
    memcpy(user, LOCAL_UFRAG ":", 6);
    user[6 + 300] = '\0';
    client_init(&cli, true);
    len = make_check(&cli, &m, buf, sizeof(buf), user, PWD, true, true, 1);
    SC_CHECK(len > 0);
    SC_CHECK_INT(answer(buf, len, sa, sizeof(from), out, sizeof(out), NULL), -EINVAL);
}

static void test_malformed(void)
{
    StunAgent cli;
    StunMessage m;
    uint8_t buf[512], bad[512], out[512];
    char uf[64];
    struct sockaddr_in from = v4();
    const struct sockaddr *sa = (struct sockaddr *)&from;

    client_init(&cli, true);
    size_t len = make_check(&cli, &m, buf, sizeof(buf), LOCAL_UFRAG ":" REMOTE_UFRAG, PWD,
                            true, true, 1);
    SC_CHECK(len > 40);

    /* Truncated datagrams: the header length no longer matches. */
    size_t cuts[] = {0, 1, 19, 20, 21, len - 4, len - 1};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        SC_CHECK_INT(sc_stun_local_ufrag(buf, cuts[i], uf, sizeof(uf)), -EINVAL);
        SC_CHECK_INT(answer(buf, cuts[i], sa, sizeof(from), out, sizeof(out), NULL), -EINVAL);
    }
    keep("truncated", buf, len - 4);
    /* Header length cut to match a datagram one byte short: not a
     * multiple of 4. */
    memcpy(bad, buf, len);
    bad[3] = (uint8_t)(bad[3] - 1);
    SC_CHECK_INT(answer(bad, len - 1, sa, sizeof(from), out, sizeof(out), NULL), -EINVAL);

    /* First attribute's length runs past the end. */
    memcpy(bad, buf, len);
    bad[22] = 0xff;
    bad[23] = 0xf0;
    keep("attr-overrun", bad, len);
    SC_CHECK_INT(sc_stun_local_ufrag(bad, len, uf, sizeof(uf)), -EINVAL);
    SC_CHECK_INT(answer(bad, len, sa, sizeof(from), out, sizeof(out), NULL), -EINVAL);
    /* Last attribute (FINGERPRINT) one padded word too long. */
    memcpy(bad, buf, len);
    bad[len - 8 + 3] = 8;
    keep("attr-overrun-last", bad, len);
    SC_CHECK_INT(answer(bad, len, sa, sizeof(from), out, sizeof(out), NULL), -EINVAL);
    /* Header consistent with a datagram 4 bytes short: FINGERPRINT's
     * header is there, its value is not. */
    memcpy(bad, buf, len);
    bad[2] = (uint8_t)((len - 24) >> 8);
    bad[3] = (uint8_t)(len - 24);
    SC_CHECK_INT(answer(bad, len - 4, sa, sizeof(from), out, sizeof(out), NULL), -EINVAL);

    /* Bad FINGERPRINT. */
    memcpy(bad, buf, len);
    bad[len - 1] ^= 0x55;
    keep("bad-fingerprint", bad, len);
    SC_CHECK_INT(answer(bad, len, sa, sizeof(from), out, sizeof(out), NULL), -EACCES);

    /* Not a STUN header: RTP-looking first byte, no magic cookie. */
    memcpy(bad, buf, len);
    bad[0] = 0x80;
    SC_CHECK_INT(answer(bad, len, sa, sizeof(from), out, sizeof(out), NULL), -EINVAL);
    memcpy(bad, buf, len);
    bad[4] ^= 1;
    SC_CHECK_INT(sc_stun_local_ufrag(bad, len, uf, sizeof(uf)), -EINVAL);
    SC_CHECK_INT(answer(bad, len, sa, sizeof(from), out, sizeof(out), NULL), -EINVAL);

    /* Output buffer too small, bad from address. */
    SC_CHECK_INT(answer(buf, len, sa, sizeof(from), out, 40, NULL), -ENOSPC);
    SC_CHECK_INT(answer(buf, len, sa, 4, out, sizeof(out), NULL), -EINVAL);
}

/* Builds USERNAME/PRIORITY/ICE-CONTROLLING by hand so attributes can be put
 * in any order; finish_fn-style signing via libnice. */
static size_t build_custom(uint8_t *buf, size_t cap, StunAgent *signer, StunMessage *m,
                           bool priority, bool extra_unknown)
{
    stun_agent_init_request(signer, m, buf, cap, STUN_BINDING);
    if (extra_unknown)
        stun_message_append_bytes(m, 0x0030, "abcd", 4); /* comprehension-required */
    if (priority)
        stun_message_append32(m, STUN_ATTRIBUTE_PRIORITY, 7);
    stun_message_append64(m, STUN_ATTRIBUTE_ICE_CONTROLLING, 42);
    stun_message_append_string(m, STUN_ATTRIBUTE_USERNAME, LOCAL_UFRAG ":" REMOTE_UFRAG);
    return stun_agent_finish_message(signer, m, (const uint8_t *)PWD, strlen(PWD));
}

/* Appends an attribute after what is there, then a fresh, correct
 * FINGERPRINT (via an agent that adds one and no MI). */
static size_t append_then_fingerprint(StunMessage *m, uint16_t type, const void *v, size_t n)
{
    StunAgent fp;
    client_init(&fp, true);
    if (stun_message_append_bytes(m, type, v, n) != STUN_MESSAGE_RETURN_SUCCESS)
        return 0;
    m->key = NULL;
    m->key_len = 0;
    return stun_agent_finish_message(&fp, m, NULL, 0);
}

static void test_attribute_order(void)
{
    StunAgent cli;
    StunMessage m;
    uint8_t buf[512], out[512];
    char uf[64];
    struct sockaddr_in from = v4();
    const struct sockaddr *sa = (struct sockaddr *)&from;
    size_t len;

    /* SOFTWARE (comprehension-optional) after MESSAGE-INTEGRITY, then a
     * valid FINGERPRINT: libnice alone would accept this. */
    client_init(&cli, false);
    len = make_check(&cli, &m, buf, sizeof(buf), LOCAL_UFRAG ":" REMOTE_UFRAG, PWD, true, true,
                     1);
    len = append_then_fingerprint(&m, STUN_ATTRIBUTE_SOFTWARE, "evil", 4);
    SC_CHECK(len > 0);
    keep("after-mi-software", buf, len);
    SC_CHECK_INT(sc_stun_local_ufrag(buf, len, uf, sizeof(uf)), -EINVAL);
    SC_CHECK_INT(answer(buf, len, sa, sizeof(from), out, sizeof(out), NULL), -EINVAL);

    /* USE-CANDIDATE smuggled after MESSAGE-INTEGRITY. */
    client_init(&cli, false);
    len = make_check(&cli, &m, buf, sizeof(buf), LOCAL_UFRAG ":" REMOTE_UFRAG, PWD, false,
                     true, 1);
    len = append_then_fingerprint(&m, STUN_ATTRIBUTE_USE_CANDIDATE, NULL, 0);
    SC_CHECK(len > 0);
    keep("after-mi-use-candidate", buf, len);
    SC_CHECK_INT(answer(buf, len, sa, sizeof(from), out, sizeof(out), NULL), -EINVAL);

    /* Something after FINGERPRINT. */
    client_init(&cli, true);
    len = make_check(&cli, &m, buf, sizeof(buf), LOCAL_UFRAG ":" REMOTE_UFRAG, PWD, true, true,
                     1);
    SC_CHECK(stun_message_append_bytes(&m, STUN_ATTRIBUTE_SOFTWARE, "x", 1) ==
             STUN_MESSAGE_RETURN_SUCCESS);
    len = stun_message_length(&m);
    keep("after-fingerprint", buf, len);
    SC_CHECK_INT(answer(buf, len, sa, sizeof(from), out, sizeof(out), NULL), -EINVAL);

    /* MESSAGE-INTEGRITY of 4 bytes at the end of the datagram (libnice
     * would read 20). */
    StunAgent fp;
    client_init(&fp, true);
    stun_agent_init_request(&fp, &m, buf, sizeof(buf), STUN_BINDING);
    stun_message_append32(&m, STUN_ATTRIBUTE_PRIORITY, 7);
    stun_message_append64(&m, STUN_ATTRIBUTE_ICE_CONTROLLING, 42);
    stun_message_append_string(&m, STUN_ATTRIBUTE_USERNAME, LOCAL_UFRAG ":" REMOTE_UFRAG);
    stun_message_append_bytes(&m, STUN_ATTRIBUTE_MESSAGE_INTEGRITY, "abcd", 4);
    len = stun_message_length(&m);
    keep("short-mi", buf, len);
    SC_CHECK_INT(sc_stun_local_ufrag(buf, len, uf, sizeof(uf)), -EINVAL);
    SC_CHECK_INT(answer(buf, len, sa, sizeof(from), out, sizeof(out), NULL), -EINVAL);

    /* A well-signed request with an unknown comprehension-required
     * attribute (RFC 5389 7.3.1). */
    client_init(&fp, true);
    len = build_custom(buf, sizeof(buf), &fp, &m, true, true);
    SC_CHECK(len > 0);
    keep("unknown-required-attr", buf, len);
    SC_CHECK_INT(answer(buf, len, sa, sizeof(from), out, sizeof(out), NULL), -EINVAL);
    /* The same without it verifies: the refusal above is for the attribute. */
    client_init(&fp, true);
    len = build_custom(buf, sizeof(buf), &fp, &m, true, false);
    SC_CHECK(answer(buf, len, sa, sizeof(from), out, sizeof(out), NULL) > 0);

    /* No PRIORITY (RFC 8445 7.1.1 makes it mandatory). */
    client_init(&fp, true);
    len = build_custom(buf, sizeof(buf), &fp, &m, false, false);
    keep("no-priority", buf, len);
    SC_CHECK_INT(answer(buf, len, sa, sizeof(from), out, sizeof(out), NULL), -EINVAL);

    /* A Binding indication carrying a valid USERNAME and MI. */
    client_init(&fp, true);
    stun_agent_init_indication(&fp, &m, buf, sizeof(buf), STUN_BINDING);
    stun_message_append_string(&m, STUN_ATTRIBUTE_USERNAME, LOCAL_UFRAG ":" REMOTE_UFRAG);
    len = stun_agent_finish_message(&fp, &m, (const uint8_t *)PWD, strlen(PWD));
    SC_CHECK(len > 0);
    keep("indication", buf, len);
    SC_CHECK_INT(sc_stun_local_ufrag(buf, len, uf, sizeof(uf)), -ENOENT);
    SC_CHECK_INT(answer(buf, len, sa, sizeof(from), out, sizeof(out), NULL), -EINVAL);

    /* No USERNAME at all. */
    client_init(&fp, true);
    len = make_check(&fp, &m, buf, sizeof(buf), "", PWD, true, true, 1);
    SC_CHECK(len > 0);
    keep("no-username", buf, len);
    SC_CHECK_INT(sc_stun_local_ufrag(buf, len, uf, sizeof(uf)), -ENOENT);
    SC_CHECK_INT(answer(buf, len, sa, sizeof(from), out, sizeof(out), NULL), -EACCES);
}

static void test_role_conflict(void)
{
    StunAgent cli;
    StunMessage m, resp;
    uint8_t buf[512], out[512];
    struct sockaddr_in from = v4();
    sc_stun_request req;

    client_init(&cli, true);
    size_t len = make_check(&cli, &m, buf, sizeof(buf), LOCAL_UFRAG ":" REMOTE_UFRAG, PWD,
                            false, false, 99);
    keep("controlled-role-conflict", buf, len);
    memset(&req, 0, sizeof(req));
    req.controlling = true;
    int n = answer(buf, len, (struct sockaddr *)&from, sizeof(from), out, sizeof(out), &req);
    SC_CHECK(n > 0);
    SC_CHECK(!req.controlling);
    SC_CHECK_STR(req.remote_ufrag, REMOTE_UFRAG);
    if (n <= 0)
        return;
    SC_CHECK_INT(stun_agent_validate(&cli, &resp, out, (size_t)n, NULL, NULL),
                 STUN_VALIDATION_SUCCESS);
    SC_CHECK_INT(stun_message_get_class(&resp), STUN_ERROR);
    int code = 0;
    SC_CHECK_INT(stun_message_find_error(&resp, &code), STUN_MESSAGE_RETURN_SUCCESS);
    SC_CHECK_INT(code, 487);
    SC_CHECK(stun_message_has_attribute(&resp, STUN_ATTRIBUTE_MESSAGE_INTEGRITY));
    struct sockaddr_storage a;
    socklen_t al = sizeof(a);
    SC_CHECK_INT(stun_usage_ice_conncheck_process(&resp, &a, &al,
                                                  STUN_USAGE_ICE_COMPATIBILITY_RFC5245),
                 STUN_USAGE_ICE_RETURN_ROLE_CONFLICT);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
        corpus_dir = argv[2];
    test_is_stun();
    test_round_trip_v4();
    test_round_trip_v6_no_fingerprint();
    test_auth();
    test_malformed();
    test_attribute_order();
    test_role_conflict();
    SC_TEST_END();
}
