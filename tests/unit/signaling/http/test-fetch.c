/* signaling/http/fetch.c: the URL parser and the answer parser (the
 * requests themselves run in tests/badinput/test_extcheck.py). */
#include <errno.h>
#include <string.h>

#include "signaling/http/fetch.h"
#include "tests/unit/sc_test.h"

static void test_urls(void)
{
    sc_fetch_url u;

    SC_CHECK_INT(sc_fetch_url_parse("https://sso.example.com/check?x=1", &u), 0);
    SC_CHECK(u.tls);
    SC_CHECK_STR(u.host, "sso.example.com");
    SC_CHECK_STR(u.port, "443");
    SC_CHECK_STR(u.path, "/check?x=1");
    SC_CHECK_INT(sc_fetch_url_parse("http://10.0.0.5:8080", &u), 0);
    SC_CHECK(!u.tls);
    SC_CHECK_STR(u.host, "10.0.0.5");
    SC_CHECK_STR(u.port, "8080");
    SC_CHECK_STR(u.path, "/");
    SC_CHECK_INT(sc_fetch_url_parse("http://crm_internal?a=b", &u), 0);
    SC_CHECK_STR(u.path, "/?a=b");
    SC_CHECK_STR(u.port, "80");
    SC_CHECK_INT(sc_fetch_url_parse("https://[2001:db8::1]:8443/v", &u), 0);
    SC_CHECK_STR(u.host, "2001:db8::1");
    SC_CHECK_STR(u.port, "8443");

    static const char *const bad[] = {
        "", "ftp://a/", "https://", "https:///x", "HTTPS://a/", "https://user:pw@a/",
        "https://a@b/", "https://a/#frag", "https://a/b c", "https://a/\r\nX: 1",
        "https://a:0/", "https://a:65536/", "https://a:/", "https://a:+80/", "https://a:8x/",
        "https://[::1/", "https://[]/", "https://[nope]/", "https://a b/", "https://a/\"",
        "https://a/\\", "https://a/<script>", "https://a/\x7f", "https://a/\xc3\xa9",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = sc_fetch_url_parse(bad[i], &u);
        if (r != -EINVAL)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        SC_CHECK_INT(r, -EINVAL);
    }
    char longer[SC_FETCH_URL_MAX + 8];
    memset(longer, 'a', sizeof(longer));
    memcpy(longer, "https://h/", 10);
    longer[SC_FETCH_URL_MAX] = '\0';
    SC_CHECK_INT(sc_fetch_url_parse(longer, &u), 0);
    longer[SC_FETCH_URL_MAX] = 'a';
    longer[SC_FETCH_URL_MAX + 1] = '\0';
    SC_CHECK_INT(sc_fetch_url_parse(longer, &u), -EINVAL);
}

/* The answer in s, whole (eof) or not. */
static int parse(const char *s, bool eof, int *status, char *body, size_t cap, size_t *len)
{
    return sc__fetch_parse_answer(s, strlen(s), eof, status, body, cap, len);
}

static void test_answers(void)
{
    char body[64];
    size_t len;
    int status;
    const char *cl = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13"
                     "\r\n\r\n{\"allow\":true}";

    /* The length, and nothing needed past it. */
    SC_CHECK_INT(parse(cl, false, &status, body, sizeof(body) - 1, &len), 1);
    SC_CHECK_INT(status, 200);
    SC_CHECK_STR(body, "{\"allow\":true");
    SC_CHECK_INT(len, 13);
    /* Every prefix wants more, and is cut short at the close. */
    for (size_t n = 0; n < strlen(cl) - 1; n++) {
        SC_CHECK_INT(sc__fetch_parse_answer(cl, n, false, &status, body, 63, &len), 0);
        SC_CHECK_INT(sc__fetch_parse_answer(cl, n, true, &status, body, 63, &len), -EPROTO);
    }
    /* Chunked, with an extension and a trailer; 1xx first. */
    SC_CHECK_INT(parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: "
                       "Chunked\r\n\r\n4;x=y\r\n{\"al\r\nA\r\nlow\":true}\r\n0\r\nX-T: 1\r\n\r\n",
                       false, &status, body, 63, &len),
                 1);
    SC_CHECK_STR(body, "{\"allow\":true}");
    /* Up to the close; LF alone ends lines too. */
    SC_CHECK_INT(parse("HTTP/1.0 403 Forbidden\n\n{}", false, &status, body, 63, &len), 0);
    SC_CHECK_INT(parse("HTTP/1.0 403 Forbidden\n\n{}", true, &status, body, 63, &len), 1);
    SC_CHECK_INT(status, 403);
    SC_CHECK_STR(body, "{}");
    SC_CHECK_INT(parse("HTTP/1.1 204 No Content\r\n\r\n", false, &status, body, 63, &len), 1);
    SC_CHECK_INT(len, 0);
    SC_CHECK_INT(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab",
                       false, &status, body, 63, &len),
                 1);

    /* Refused: not HTTP, two lengths, a length with chunked, another coding,
     * a bad chunk, an upgrade, a header without a colon. */
    static const char *const bad[] = {
        "SSH-2.0-OpenSSH\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 099 Odd\r\n\r\n",
        "HTTP/2 200\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        SC_CHECK_INT(parse(bad[i], false, &status, body, 63, &len), -EPROTO);

    /* Too long: a body over the cap however framed, a head over 8 KiB. */
    SC_CHECK_INT(parse("HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n", false, &status, body, 63,
                       &len),
                 -EFBIG);
    SC_CHECK_INT(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n", false,
                       &status, body, 63, &len),
                 -EFBIG);
    SC_CHECK_INT(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff"
                       "ffff\r\n",
                       false, &status, body, 63, &len),
                 -EFBIG);
    char big[SC_FETCH_HEAD_MAX + 64];
    snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nX-Pad: ");
    memset(big + strlen(big), 'p', sizeof(big) - strlen(big) - 1);
    big[sizeof(big) - 1] = '\0';
    SC_CHECK_INT(parse(big, false, &status, body, 63, &len), -EFBIG);
    char close_delimited[200];
    snprintf(close_delimited, sizeof(close_delimited), "HTTP/1.1 200 OK\r\n\r\n%070d", 0);
    SC_CHECK_INT(parse(close_delimited, false, &status, body, 63, &len), -EFBIG);
}

int main(void)
{
    test_urls();
    test_answers();
    SC_TEST_END();
}
