#include "signaling/turn/turn.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sc_turn {
    char urls[SC_TURN_URLS_MAX][SC_TURN_URL_MAX];
    int n_urls;
    uint8_t secret[SC_TURN_SECRET_MAX];
    size_t secret_len;
    int ttl_s;
};

/* ---- URLs ------------------------------------------------------------------ */

static bool host_name_ok(const char *h, size_t n)
{
    bool dotted_digits = true;

    if (n == 0 || n > 253 || h[0] == '-' || h[0] == '.' || h[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!isalnum(c) && c != '-' && c != '.')
            return false;
        if (!isdigit(c) && c != '.')
            dotted_digits = false;
    }
    if (dotted_digits) {
        /* All digits and dots: it must be an IPv4 address. */
        char buf[16];
        struct in_addr a;
        if (n >= sizeof(buf))
            return false;
        memcpy(buf, h, n);
        buf[n] = '\0';
        return inet_pton(AF_INET, buf, &a) == 1;
    }
    return true;
}

int sc_turn_url_check(const char *url, char *err, size_t errlen)
{
    const char *p, *host, *end;
    bool secure;
    size_t hlen;

    if (strlen(url) >= SC_TURN_URL_MAX) {
        snprintf(err, errlen, "'%.40s...' is over %d characters", url, SC_TURN_URL_MAX - 1);
        return -EINVAL;
    }
    if (strncmp(url, "turn:", 5) == 0) {
        secure = false;
        p = url + 5;
    } else if (strncmp(url, "turns:", 6) == 0) {
        secure = true;
        p = url + 6;
    } else {
        snprintf(err, errlen, "'%s' is not a turn: or turns: URL", url);
        return -EINVAL;
    }
    host = p;
    if (*p == '[') {
        char buf[INET6_ADDRSTRLEN];
        struct in6_addr a6;
        end = strchr(p, ']');
        hlen = end ? (size_t)(end - p - 1) : 0;
        if (!end || hlen == 0 || hlen >= sizeof(buf))
            goto bad_host;
        memcpy(buf, p + 1, hlen);
        buf[hlen] = '\0';
        if (inet_pton(AF_INET6, buf, &a6) != 1)
            goto bad_host;
        p = end + 1;
    } else {
        p += strcspn(p, ":?");
        if (!host_name_ok(host, (size_t)(p - host)))
            goto bad_host;
    }
    if (*p == ':') {
        char *pend;
        long port;
        p++;
        if (!isdigit((unsigned char)*p))
            goto bad_port;
        errno = 0;
        port = strtol(p, &pend, 10);
        if (errno || port < 1 || port > 65535 || pend - p > 5)
            goto bad_port;
        p = pend;
    }
    if (*p == '\0')
        return 0;
    if (strcmp(p, "?transport=tcp") == 0)
        return 0;
    if (strcmp(p, "?transport=udp") == 0) {
        if (!secure)
            return 0;
        snprintf(err, errlen, "'%s': turns: runs over TLS, so its transport is tcp", url);
        return -EINVAL;
    }
    snprintf(err, errlen, "'%s': after the host and port only ?transport=udp or "
             "?transport=tcp may follow", url);
    return -EINVAL;
bad_host:
    snprintf(err, errlen, "'%s': expected a host name, an IPv4 address or [IPv6] after the "
             "scheme", url);
    return -EINVAL;
bad_port:
    snprintf(err, errlen, "'%s': the port must be 1..65535", url);
    return -EINVAL;
}

/* ---- credentials ------------------------------------------------------------ */

int sc_turn_credential(const uint8_t *secret, size_t secret_len, int64_t expiry,
                       const char *user, char username[SC_TURN_USERNAME_MAX],
                       char credential[SC_TURN_CREDENTIAL_MAX])
{
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    int n;

    if (!secret || secret_len == 0 || secret_len > INT32_MAX)
        return -EINVAL;
    if (!user || !user[0])
        user = "anonymous";
    n = snprintf(username, SC_TURN_USERNAME_MAX, "%" PRId64 ":", expiry);
    if (n < 0 || strlen(user) >= SC_TURN_USERNAME_MAX - (size_t)n)
        return -EINVAL;
    for (size_t i = 0; user[i]; i++) {
        unsigned char c = (unsigned char)user[i];
        username[n++] = c > 0x20 && c < 0x7f && c != '"' && c != '\\' ? (char)c : '_';
    }
    username[n] = '\0';
    if (!HMAC(EVP_sha1(), secret, (int)secret_len, (const uint8_t *)username, (size_t)n, mac,
              &mac_len) || mac_len != 20)
        return -EIO;
    /* 20 bytes: 28 characters and a NUL, within SC_TURN_CREDENTIAL_MAX. */
    EVP_EncodeBlock((unsigned char *)credential, mac, (int)mac_len);
    return 0;
}

/* ---- the configured servers ------------------------------------------------- */

static int load_secret(sc_turn *t, const char *path, char *err, size_t errlen)
{
    char buf[SC_TURN_SECRET_MAX + 64];
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        snprintf(err, errlen, "--turn-secret-file %s: %s", path, strerror(errno));
        return -errno;
    }
    while (len < sizeof(buf)) {
        ssize_t r = read(fd, buf + len, sizeof(buf) - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    while (len > 0 && isspace((unsigned char)buf[len - 1]))
        len--;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c <= 0x20 || c >= 0x7f || c == '#') {
            len = 0; /* refused below */
            break;
        }
    }
    if (len < SC_TURN_SECRET_MIN || len > SC_TURN_SECRET_MAX) {
        snprintf(err, errlen, "--turn-secret-file %s: must hold one line of %d..%d printable "
                 "characters (no space or '#'), as coturn's static-auth-secret", path,
                 SC_TURN_SECRET_MIN, SC_TURN_SECRET_MAX);
        memset(buf, 0, sizeof(buf));
        return -EINVAL;
    }
    memcpy(t->secret, buf, len);
    t->secret_len = len;
    memset(buf, 0, sizeof(buf));
    return 0;
}

sc_turn *sc_turn_new(const char (*urls)[SC_TURN_URL_MAX], int n, const char *secret_file,
                     int ttl_s, char *err, size_t errlen)
{
    sc_turn *t = calloc(1, sizeof(*t));

    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (n < 1 || n > SC_TURN_URLS_MAX || ttl_s < 1) {
        snprintf(err, errlen, "TURN needs 1..%d URLs and a positive lifetime",
                 SC_TURN_URLS_MAX);
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        if (sc_turn_url_check(urls[i], err, errlen) < 0)
            goto fail;
        memcpy(t->urls[i], urls[i], strlen(urls[i]) + 1);
    }
    t->n_urls = n;
    t->ttl_s = ttl_s;
    if (load_secret(t, secret_file, err, errlen) < 0)
        goto fail;
    return t;
fail:
    sc_turn_free(t);
    return NULL;
}

void sc_turn_free(sc_turn *t)
{
    if (!t)
        return;
    memset(t->secret, 0, sizeof(t->secret));
    free(t);
}

json_t *sc_turn_ice_servers(const sc_turn *t, const char *user, int64_t now)
{
    char username[SC_TURN_USERNAME_MAX], credential[SC_TURN_CREDENTIAL_MAX];
    json_t *urls, *out;

    if (sc_turn_credential(t->secret, t->secret_len, now + t->ttl_s, user, username,
                           credential) < 0)
        return NULL;
    urls = json_array();
    for (int i = 0; urls && i < t->n_urls; i++)
        json_array_append_new(urls, json_string(t->urls[i]));
    out = json_pack("[{s:o,s:s,s:s}]", "urls", urls, "username", username, "credential",
                    credential);
    memset(credential, 0, sizeof(credential));
    return out;
}

char *sc_turn_link_headers(const sc_turn *t, const char *user, int64_t now)
{
    static const char fmt[] = "<%s>; rel=\"ice-server\"; username=\"%s\"; credential=\"%s\"; "
                              "credential-type=\"password\"\n";
    char username[SC_TURN_USERNAME_MAX], credential[SC_TURN_CREDENTIAL_MAX];
    size_t cap = 0, len = 0;
    char *out;

    if (sc_turn_credential(t->secret, t->secret_len, now + t->ttl_s, user, username,
                           credential) < 0)
        return NULL;
    for (int i = 0; i < t->n_urls; i++)
        cap += sizeof(fmt) + strlen(t->urls[i]) + strlen(username) + strlen(credential);
    out = malloc(cap + 1);
    for (int i = 0; out && i < t->n_urls; i++)
        len += (size_t)snprintf(out + len, cap + 1 - len, fmt, t->urls[i], username, credential);
    if (out)
        out[len] = '\0';
    memset(credential, 0, sizeof(credential));
    return out;
}
