/* signaling/turn/turn.c: TURN URLs, the REST credentials coturn checks,
 * the iceServers JSON and the Link headers. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "signaling/turn/turn.h"
#include "tests/unit/sc_test.h"

static int url_ok(const char *url)
{
    char err[300] = "";
    int r = sc_turn_url_check(url, err, sizeof(err));
    if (r < 0 && !err[0])
        return 1; /* a refusal must say why */
    return r;
}

static void test_urls(void)
{
    static const char *const good[] = {
        "turn:turn.example.com",
        "turn:turn.example.com:3478",
        "turn:10.0.0.1:3478?transport=udp",
        "turn:10.0.0.1:3478?transport=tcp",
        "turns:turn.example.com:443?transport=tcp",
        "turns:turn.example.com",
        "turn:[2001:db8::1]:3478?transport=udp",
        "turn:localhost",
    };
    static const char *const bad[] = {
        "", "stun:turn.example.com", "http://turn.example.com", "turn:", "turn:?transport=udp",
        "turn::3478", "turn:host:0", "turn:host:65536", "turn:host:", "turn:host:34x",
        "turn:host:3478?transport=sctp", "turn:host?transport=udp&x=1", "turn:host/path",
        "turn:user@host", "turn:ho st", "turn:1.2.3.999", "turn:[::1", "turn:[nothex]:3478",
        "turns:host:443?transport=udp", "TURN:host", "turn:-host", "turn:host\r\nX: y",
        "turn:host\">", "turn:host:3478;rel=x",
    };
    char longurl[SC_TURN_URL_MAX + 10];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (url_ok(good[i]) != 0)
            fprintf(stderr, "refused: %s\n", good[i]);
        SC_CHECK_INT(url_ok(good[i]), 0);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (url_ok(bad[i]) != -EINVAL)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        SC_CHECK_INT(url_ok(bad[i]), -EINVAL);
    }
    memcpy(longurl, "turn:", 5);
    memset(longurl + 5, 'a', sizeof(longurl) - 6);
    longurl[sizeof(longurl) - 1] = '\0';
    SC_CHECK_INT(url_ok(longurl), -EINVAL);
}

static void test_credential(void)
{
    char user[SC_TURN_USERNAME_MAX], cred[SC_TURN_CREDENTIAL_MAX];
    const uint8_t *k1 = (const uint8_t *)"0123456789abcdef0123";
    const uint8_t *k2 = (const uint8_t *)"north-pole-secret-1";
    char longuser[300];

    /* Vectors computed with Python's hmac module. */
    SC_CHECK_INT(sc_turn_credential(k1, 20, 1700000000, "alice", user, cred), 0);
    SC_CHECK_STR(user, "1700000000:alice");
    SC_CHECK_STR(cred, "gftAJNY48rTE14lqd/N04J/C8xc=");
    /* What could break a quoted header value becomes '_'. */
    SC_CHECK_INT(sc_turn_credential(k2, 19, 1700003600, "a\"b\n", user, cred), 0);
    SC_CHECK_STR(user, "1700003600:a_b_");
    SC_CHECK_INT(sc_turn_credential(k2, 19, 1700003600, "a b\\c", user, cred), 0);
    SC_CHECK_STR(user, "1700003600:a_b_c");
    SC_CHECK_STR(cred, "607diXIOys+lzf5Ssz5kUxN3jk8=");
    SC_CHECK_INT(sc_turn_credential(k1, 20, 42, "", user, cred), 0);
    SC_CHECK_STR(user, "42:anonymous");
    SC_CHECK_STR(cred, "wbEaD1dyesA45arcOU10/m00Kl0=");
    SC_CHECK_INT(sc_turn_credential(k1, 20, 42, NULL, user, cred), 0);
    SC_CHECK_STR(user, "42:anonymous");
    /* Another secret, another credential. */
    SC_CHECK_INT(sc_turn_credential(k2, 19, 1700000000, "alice", user, cred), 0);
    SC_CHECK(strcmp(cred, "gftAJNY48rTE14lqd/N04J/C8xc=") != 0);
    memset(longuser, 'u', sizeof(longuser) - 1);
    longuser[sizeof(longuser) - 1] = '\0';
    SC_CHECK_INT(sc_turn_credential(k1, 20, 42, longuser, user, cred), -EINVAL);
    SC_CHECK_INT(sc_turn_credential(k1, 0, 42, "a", user, cred), -EINVAL);
}

static char dir[] = "/tmp/sc-test-turn-XXXXXX";

static const char *write_file(const char *name, const char *content)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(content, f);
    fclose(f);
    return path;
}

static void test_servers(void)
{
    char urls[2][SC_TURN_URL_MAX] = {"turn:10.0.0.1:3478?transport=udp",
                                     "turns:turn.example.com:443?transport=tcp"};
    char err[300];
    sc_turn *t;

    /* The secret: the file's text without its line end, at least 16. */
    SC_CHECK(!sc_turn_new((const char(*)[SC_TURN_URL_MAX])urls, 2,
                          write_file("short", "too-short\n"), 3600, err, sizeof(err)));
    SC_CHECK(!sc_turn_new((const char(*)[SC_TURN_URL_MAX])urls, 2,
                          write_file("space", "has a space in it here\n"), 3600, err,
                          sizeof(err)));
    SC_CHECK(!sc_turn_new((const char(*)[SC_TURN_URL_MAX])urls, 2, "/nonexistent/secret", 3600,
                          err, sizeof(err)));
    SC_CHECK(strstr(err, "/nonexistent/secret") != NULL);
    snprintf(urls[1], sizeof(urls[1]), "stun:x");
    SC_CHECK(!sc_turn_new((const char(*)[SC_TURN_URL_MAX])urls, 2,
                          write_file("ok", "0123456789abcdef0123\n"), 3600, err, sizeof(err)));
    snprintf(urls[1], sizeof(urls[1]), "turns:turn.example.com:443?transport=tcp");
    t = sc_turn_new((const char(*)[SC_TURN_URL_MAX])urls, 2,
                    write_file("ok", "0123456789abcdef0123\n"), 3600, err, sizeof(err));
    SC_CHECK(t != NULL);
    if (!t)
        return;

    /* Expiry is now + ttl, in the username. */
    json_t *servers = sc_turn_ice_servers(t, "alice", 1699996400);
    json_t *s0 = json_array_get(servers, 0);
    SC_CHECK_INT(json_array_size(servers), 1);
    SC_CHECK_INT(json_array_size(json_object_get(s0, "urls")), 2);
    SC_CHECK_STR(json_string_value(json_array_get(json_object_get(s0, "urls"), 1)),
                 "turns:turn.example.com:443?transport=tcp");
    SC_CHECK_STR(json_string_value(json_object_get(s0, "username")), "1700000000:alice");
    SC_CHECK_STR(json_string_value(json_object_get(s0, "credential")),
                 "gftAJNY48rTE14lqd/N04J/C8xc=");
    json_decref(servers);

    char *links = sc_turn_link_headers(t, "alice", 1699996400);
    SC_CHECK_STR(links,
                 "<turn:10.0.0.1:3478?transport=udp>; rel=\"ice-server\"; "
                 "username=\"1700000000:alice\"; credential=\"gftAJNY48rTE14lqd/N04J/C8xc=\"; "
                 "credential-type=\"password\"\n"
                 "<turns:turn.example.com:443?transport=tcp>; rel=\"ice-server\"; "
                 "username=\"1700000000:alice\"; credential=\"gftAJNY48rTE14lqd/N04J/C8xc=\"; "
                 "credential-type=\"password\"\n");
    free(links);
    sc_turn_free(t);
    sc_turn_free(NULL);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_urls();
    test_credential();
    test_servers();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    SC_TEST_END();
}
