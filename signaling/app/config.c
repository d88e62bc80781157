#include "signaling/app/config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/rand.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "signaling/events/geo.h"

#include "sc_build_config.h"

#define SC_XSTR(x) #x
#define SC_STR(x) SC_XSTR(x)

typedef enum opt_type {
    OPT_STR,    /* char[size] */
    OPT_INT,    /* int within [min, max] */
    OPT_LISTEN, /* "ADDR:PORT" into sc_config listen_addr + listen_port */
    OPT_LEVEL,  /* one of error|warn|info|debug */
    OPT_FORMAT, /* one of text|json */
    OPT_ROLE,   /* one of presenter|cohost|viewer|admin */
    OPT_FLAG,   /* takes no value: sets an int to 1 */
    OPT_LIST,   /* repeatable: char[max][size], the count in an int at count_off;
                   check() refuses a bad value */
} opt_type;

typedef struct opt_spec {
    const char *flag;
    const char *metavar;
    opt_type type;
    size_t offset;
    size_t size;       /* OPT_STR: buffer size (the limit on its length) */
    long min, max;     /* OPT_INT limits */
    const char *def;   /* default, as shown in --help */
    const char *help;
    size_t count_off;  /* OPT_LIST: the int counting the values given */
    int (*check)(const char *v, char *err, size_t errlen); /* OPT_LIST */
} opt_spec;

#define STR_OPT(st, flag, mv, field, def, help)                                              \
    { flag, mv, OPT_STR, offsetof(st, field), sizeof(((st *)0)->field), 0, 0, def, help, 0, NULL }
#define INT_OPT(st, flag, mv, field, lo, hi, def, help)                                      \
    { flag, mv, OPT_INT, offsetof(st, field), sizeof(int), lo, hi, def, help, 0, NULL }
#define FLAG_OPT(st, flag, field, help)                                                      \
    { flag, "", OPT_FLAG, offsetof(st, field), sizeof(int), 0, 0, "off", help, 0, NULL }
/* max: how many values the array holds. */
#define LIST_OPT(st, flag, mv, field, count, check, def, help)                               \
    { flag, mv, OPT_LIST, offsetof(st, field), sizeof(((st *)0)->field[0]), 0,                 \
      sizeof(((st *)0)->field) / sizeof(((st *)0)->field[0]), def, help, offsetof(st, count), \
      check }

static const opt_spec serve_opts[] = {
    {"--listen", "ADDR:PORT", OPT_LISTEN, offsetof(sc_config, listen_addr), 0, 0, 0,
     SC_DEFAULT_LISTEN, "address and TCP port for HTTP and WebSocket", 0, NULL},
    STR_OPT(sc_config, "--media-ip", "IP", media_ip, SC_DEFAULT_MEDIA_IP,
            "address the media plane binds and advertises in SDP answers"),
    INT_OPT(sc_config, "--udp-port", "N", udp_port, 1, 65535, SC_STR(SC_DEFAULT_UDP_PORT),
            "first media UDP port (worker i uses N+i)"),
    INT_OPT(sc_config, "--ice-tcp-port", "N", ice_tcp_port, 1, 65535, "the UDP port",
            "first ICE-TCP port (worker i uses N+i): answers offer a passive TCP candidate, "
            "ranked below UDP, for networks that block UDP"),
    FLAG_OPT(sc_config, "--no-ice-tcp", no_ice_tcp, "no ICE over TCP (UDP and TURN only)"),
    INT_OPT(sc_config, "--max-wrong-attempts", "N", max_wrong_attempts, 1, 1000000,
            SC_STR(SC_DEFAULT_MAX_WRONG_ATTEMPTS),
            "wrong passwords, whitelist ids, invite codes and registration keys one address may "
            "try at events' watch links per minute (then 429); raise it for offices behind one "
            "address"),
    STR_OPT(sc_config, "--geoip", "FILE", geoip, SC_GEO_DEFAULT_V4 " if present",
            "IPv4 country ranges in tor-geoipdb's format, for events' region rules"),
    STR_OPT(sc_config, "--geoip6", "FILE", geoip6, SC_GEO_DEFAULT_V6 " if present",
            "IPv6 country ranges in tor-geoipdb's format"),
    INT_OPT(sc_config, "--max-external-checks", "N", max_external_checks, 1, 1024,
            SC_STR(SC_DEFAULT_MAX_EXTERNAL_CHECKS),
            "events' external checks (callbacks to the organiser's system) in flight at once, "
            "one thread each; more get 503 external-busy, one address at most a quarter"),
    STR_OPT(sc_config, "--external-check-ca", "FILE", external_check_ca, "the system's",
            "PEM CA certificates trusted for https external checks besides the system's"),
    INT_OPT(sc_config, "--max-ice-tcp", "N", max_ice_tcp, 1, 1000000,
            SC_STR(SC_DEFAULT_MAX_ICE_TCP),
            "ICE-TCP connections per media worker; further ones are accepted and closed"),
    STR_OPT(sc_config, "--data", "DIR", data_dir, SC_DEFAULT_DATA_DIR,
            "data directory (secret, database); created if missing"),
    INT_OPT(sc_config, "--workers", "N", workers, 0, 256, SC_STR(SC_DEFAULT_WORKERS),
            "media worker threads, 0 = one per core"),
    STR_OPT(sc_config, "--worker-cpus", "LIST", worker_cpus, "(none)",
            "pin media worker i to the i-th CPU of LIST (e.g. 2-3 or 0,2), cycling"),
    STR_OPT(sc_config, "--ui-dir", "DIR", ui_dir, SC_SOURCE_UI_DIR,
            "directory of the web pages"),
    {"--log-level", "L", OPT_LEVEL, offsetof(sc_config, log_level),
     sizeof(((sc_config *)0)->log_level), 0, 0, SC_DEFAULT_LOG_LEVEL,
     "error, warn, info or debug", 0, NULL},
    {"--log-format", "F", OPT_FORMAT, offsetof(sc_config, log_format),
     sizeof(((sc_config *)0)->log_format), 0, 0, "text",
     "text, or json: one object per line (ts, level, module, msg)", 0, NULL},
    INT_OPT(sc_config, "--max-publishers", "N", max_publishers, 1, 16,
            SC_STR(SC_DEFAULT_MAX_PUBLISHERS), "publishers per room (stage size)"),
    INT_OPT(sc_config, "--max-viewers", "N", max_viewers, 1, 1000000,
            SC_STR(SC_DEFAULT_MAX_VIEWERS), "viewers per room"),
    INT_OPT(sc_config, "--max-body", "BYTES", max_body, 1024, 16 * 1024 * 1024,
            "65536", "largest HTTP request body (WHIP/WHEP offers)"),
    INT_OPT(sc_config, "--max-ws-message", "BYTES", max_ws_message, 1024, 16 * 1024 * 1024,
            "65536", "largest WebSocket message"),
    FLAG_OPT(sc_config, "--record-by-default", record_by_default,
             "record every room unless its host turns recording off"),
    STR_OPT(sc_config, "--recordings-dir", "DIR", recordings_dir, "DATA/recordings",
            "where recordings are written"),
    INT_OPT(sc_config, "--recordings-quota", "MIB", recordings_quota_mib, 1, 1 << 30,
            SC_STR(SC_DEFAULT_RECORDINGS_QUOTA_MIB),
            "disk the recordings may use; past it new recordings are refused"),
    STR_OPT(sc_config, "--video-codec", "vp8|h264", video_codec, SC_DEFAULT_VIDEO_CODEC,
            "video codec browser presenters send, and publishers offering both"),
    INT_OPT(sc_config, "--consent-timeout", "MS", consent_timeout_ms, 1000, 300000,
            SC_STR(SC_DEFAULT_CONSENT_TIMEOUT_MS),
            "close a media session after this long without ICE consent (RFC 7675)"),
    INT_OPT(sc_config, "--dtls-timeout", "MS", dtls_timeout_ms, 1000, 300000,
            SC_STR(SC_DEFAULT_DTLS_TIMEOUT_MS),
            "close a media session whose DTLS handshake has not completed this long after the "
            "answer"),
    FLAG_OPT(sc_config, "--no-admission-control", no_admission_control,
             "admit viewers even when every media worker is overloaded (by default they get 503)"),
    FLAG_OPT(sc_config, "--no-udp-gso", no_udp_gso,
             "send every media datagram on its own instead of a viewer's runs as one UDP GSO send"),
    INT_OPT(sc_config, "--chat-rate", "N", chat_rate, 1, 1000, SC_STR(SC_DEFAULT_CHAT_RATE),
            "chat, danmaku and questions per user per second (sustained)"),
    INT_OPT(sc_config, "--chat-burst", "N", chat_burst, 1, 1000, SC_STR(SC_DEFAULT_CHAT_BURST),
            "chat, danmaku and questions a user may send at once"),
    INT_OPT(sc_config, "--action-rate", "N", action_rate, 1, 10000,
            SC_STR(SC_DEFAULT_ACTION_RATE),
            "likes, votes and check-ins per user per second (also the burst)"),
    INT_OPT(sc_config, "--chat-history", "N", chat_history, 0, 1000,
            SC_STR(SC_DEFAULT_CHAT_HISTORY), "chat messages a joining client is sent"),
    STR_OPT(sc_config, "--secret-file", "PATH", secret_file, "DATA/secret",
            "token signing secret (hex or raw bytes)"),
    STR_OPT(sc_config, "--tls-cert", "FILE", tls_cert, "(none: plain HTTP)",
            "serve HTTPS and WSS with this PEM certificate chain (with --tls-key); "
            "SIGHUP reloads it"),
    STR_OPT(sc_config, "--tls-key", "FILE", tls_key, "(none)", "the certificate's PEM private key"),
    FLAG_OPT(sc_config, "--tls-self-signed", tls_self_signed,
             "serve HTTPS with a self-signed P-256 certificate for localhost, this host's name "
             "and addresses, made once in DATA/tls/"),
    STR_OPT(sc_config, "--config", "FILE", config_file, "(none)",
            "read options from this YAML file first (docs/stagecast.example.yaml); "
            "STAGECAST_<OPTION> variables override it, flags override both"),
    INT_OPT(sc_config, "--ws-join-timeout", "S", ws_join_timeout_s, 1, 3600,
            SC_STR(SC_DEFAULT_WS_JOIN_TIMEOUT),
            "close a /ws connection that has not sent a valid join within S seconds"),
    INT_OPT(sc_config, "--max-unjoined-per-ip", "N", max_unjoined_per_ip, 1, 100000,
            SC_STR(SC_DEFAULT_MAX_UNJOINED_PER_IP),
            "refuse a /ws upgrade while N connections from its address have not joined yet"),
    INT_OPT(sc_config, "--max-sessions-per-ws", "N", max_sessions_per_ws, 1, 1000,
            SC_STR(SC_DEFAULT_MAX_SESSIONS_PER_WS),
            "media sessions (publish + subscribe) one /ws connection may hold at once"),
    INT_OPT(sc_config, "--max-sessions-per-user", "N", max_sessions_per_user, 0, 1000000,
            SC_STR(SC_DEFAULT_MAX_SESSIONS_PER_USER),
            "media sessions one user (token sub) may hold in a room, over WHIP, WHEP and /ws "
            "together; 0 = no limit"),
    INT_OPT(sc_config, "--max-sessions-per-ip", "N", max_sessions_per_ip, 0, 1000000,
            SC_STR(SC_DEFAULT_MAX_SESSIONS_PER_IP),
            "media sessions one client address may hold in a room; 0 = no limit"),
    INT_OPT(sc_config, "--max-connections", "N", max_connections, 0, 100000000,
            "0 (derived)",
            "connections held at once (HTTP, WebSocket; a page or recording being sent counts "
            "one more); past it new ones are closed at once.  0: the descriptor limit (ulimit -n) "
            "less what is open at start, 32 and a sixteenth (kept for recordings and the like) "
            "and the 8 places kept above it for health checks"),
    INT_OPT(sc_config, "--max-connections-per-ip", "N", max_connections_per_ip, 0, 100000000,
            "a quarter of --max-connections",
            "connections one client address (an IPv6 /64) may hold at once; past it its new "
            "ones are closed at once.  0: no limit (behind a reverse proxy every client has its "
            "address)"),
    INT_OPT(sc_config, "--drain-timeout", "S", drain_timeout_s, 0, 3600,
            SC_STR(SC_DEFAULT_DRAIN_TIMEOUT),
            "on SIGTERM/SIGINT refuse new sessions and wait this long for open ones to end "
            "(0: stop at once; a second signal always does)"),
    INT_OPT(sc_config, "--http-redirect", "PORT", http_redirect_port, 0, 65535, "0 (off)",
            "with TLS, also listen for plain HTTP on PORT and redirect it to HTTPS"),
    LIST_OPT(sc_config, "--turn", "URL", turn_urls, n_turn_urls, sc_turn_url_check, "(none)",
             "a TURN server browsers may relay media through, e.g. "
             "turn:host:3478?transport=udp or turns:host:443?transport=tcp; repeatable (up "
             "to " SC_STR(SC_TURN_URLS_MAX) ")"),
    STR_OPT(sc_config, "--turn-secret-file", "FILE", turn_secret_file, "(required with --turn)",
            "the secret shared with the TURN server (coturn's static-auth-secret)"),
    INT_OPT(sc_config, "--turn-ttl", "S", turn_ttl_s, 60, 7 * 24 * 3600,
            SC_STR(SC_DEFAULT_TURN_TTL), "how long the TURN credentials handed out last"),
    INT_OPT(sc_config, "--media-url-ttl", "S", media_url_ttl_s, 1, 24 * 3600,
            SC_STR(SC_DEFAULT_MEDIA_URL_TTL),
            "how long a signed recording URL (to play or download one recording) lasts"),
};

static const opt_spec token_opts[] = {
    STR_OPT(sc_token_config, "--room", "R", room, "(required)",
            "room name, [A-Za-z0-9_-]{1,64}, or * for admin"),
    {"--role", "ROLE", OPT_ROLE, offsetof(sc_token_config, role),
     sizeof(((sc_token_config *)0)->role), 0, 0, "(required)",
     "presenter, cohost, viewer or admin", 0, NULL},
    STR_OPT(sc_token_config, "--name", "N", name, "the role name", "display name"),
    INT_OPT(sc_token_config, "--ttl", "SECONDS", ttl, 1, 366 * 24 * 3600,
            SC_STR(SC_DEFAULT_TOKEN_TTL), "lifetime of the token"),
    STR_OPT(sc_token_config, "--data", "DIR", data_dir, SC_DEFAULT_DATA_DIR,
            "data directory holding the secret"),
    STR_OPT(sc_token_config, "--sub", "ID", sub, "random", "user id (token subject)"),
    STR_OPT(sc_token_config, "--secret-file", "PATH", secret_file, "DATA/secret",
            "token signing secret"),
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

void sc_config_defaults(sc_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->listen_addr, sizeof(cfg->listen_addr), "127.0.0.1");
    cfg->listen_port = 8080;
    snprintf(cfg->media_ip, sizeof(cfg->media_ip), "%s", SC_DEFAULT_MEDIA_IP);
    cfg->udp_port = SC_DEFAULT_UDP_PORT;
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", SC_DEFAULT_DATA_DIR);
    cfg->workers = SC_DEFAULT_WORKERS;
    snprintf(cfg->ui_dir, sizeof(cfg->ui_dir), "%s", SC_SOURCE_UI_DIR);
    snprintf(cfg->log_level, sizeof(cfg->log_level), "%s", SC_DEFAULT_LOG_LEVEL);
    snprintf(cfg->log_format, sizeof(cfg->log_format), "text");
    cfg->max_publishers = SC_DEFAULT_MAX_PUBLISHERS;
    cfg->max_viewers = SC_DEFAULT_MAX_VIEWERS;
    cfg->max_body = SC_DEFAULT_MAX_BODY;
    cfg->max_ws_message = SC_DEFAULT_MAX_WS_MESSAGE;
    cfg->consent_timeout_ms = SC_DEFAULT_CONSENT_TIMEOUT_MS;
    cfg->dtls_timeout_ms = SC_DEFAULT_DTLS_TIMEOUT_MS;
    cfg->max_ice_tcp = SC_DEFAULT_MAX_ICE_TCP;
    cfg->max_wrong_attempts = SC_DEFAULT_MAX_WRONG_ATTEMPTS;
    cfg->max_external_checks = SC_DEFAULT_MAX_EXTERNAL_CHECKS;
    cfg->recordings_quota_mib = SC_DEFAULT_RECORDINGS_QUOTA_MIB;
    cfg->chat_rate = SC_DEFAULT_CHAT_RATE;
    cfg->chat_burst = SC_DEFAULT_CHAT_BURST;
    cfg->action_rate = SC_DEFAULT_ACTION_RATE;
    cfg->chat_history = SC_DEFAULT_CHAT_HISTORY;
    cfg->drain_timeout_s = SC_DEFAULT_DRAIN_TIMEOUT;
    cfg->ws_join_timeout_s = SC_DEFAULT_WS_JOIN_TIMEOUT;
    cfg->max_unjoined_per_ip = SC_DEFAULT_MAX_UNJOINED_PER_IP;
    cfg->max_sessions_per_ws = SC_DEFAULT_MAX_SESSIONS_PER_WS;
    cfg->max_sessions_per_user = SC_DEFAULT_MAX_SESSIONS_PER_USER;
    cfg->max_sessions_per_ip = SC_DEFAULT_MAX_SESSIONS_PER_IP;
    cfg->max_connections_per_ip = SC_DEFAULT_MAX_CONNECTIONS_PER_IP;
    cfg->turn_ttl_s = SC_DEFAULT_TURN_TTL;
    cfg->media_url_ttl_s = SC_DEFAULT_MEDIA_URL_TTL;
    snprintf(cfg->video_codec, sizeof(cfg->video_codec), "%s", SC_DEFAULT_VIDEO_CODEC);
}

void sc_token_config_defaults(sc_token_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->ttl = SC_DEFAULT_TOKEN_TTL;
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", SC_DEFAULT_DATA_DIR);
}

static void usage(FILE *out, const char *synopsis, const opt_spec *opts, size_t n)
{
    fprintf(out, "usage: %s\n\noptions:\n", synopsis);
    for (size_t i = 0; i < n; i++) {
        char left[64];
        snprintf(left, sizeof(left), "%s %s", opts[i].flag, opts[i].metavar);
        fprintf(out, "  %-28s %s (default: %s)\n", left, opts[i].help, opts[i].def);
    }
    fprintf(out, "  %-28s %s\n", "--help", "show this help");
}

void sc_config_usage(FILE *out)
{
    usage(out, "stagecast serve [options]", serve_opts, N_ELEMS(serve_opts));
}

void sc_token_config_usage(FILE *out)
{
    usage(out, "stagecast token --room R --role ROLE [options]", token_opts,
          N_ELEMS(token_opts));
}

static int parse_listen(const char *v, sc_config *cfg, char *err, size_t errlen)
{
    const char *colon = strrchr(v, ':');
    char *end;
    long port;
    size_t alen;

    if (!colon || colon == v)
        goto bad;
    alen = (size_t)(colon - v);
    /* "[::1]:8080" */
    if (v[0] == '[' && alen >= 2 && v[alen - 1] == ']') {
        v++;
        alen -= 2;
    }
    if (alen == 0 || alen >= sizeof(cfg->listen_addr))
        goto bad;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 0 || port > 65535)
        goto bad;
    memcpy(cfg->listen_addr, v, alen);
    cfg->listen_addr[alen] = '\0';
    cfg->listen_port = (int)port;
    return 0;
bad:
    snprintf(err, errlen, "--listen: expected ADDR:PORT (port 0..65535), got '%s'", v);
    return -EINVAL;
}

static int one_of(const char *v, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(v, *set) == 0)
            return 1;
    return 0;
}

static int apply_opt(const opt_spec *o, void *target, const char *v, char *err, size_t errlen)
{
    static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
    static const char *const roles[] = {"presenter", "cohost", "viewer", "admin", NULL};
    static const char *const formats[] = {"text", "json", NULL};
    char *field = (char *)target + o->offset;
    char *end;
    long n;

    switch (o->type) {
    case OPT_LISTEN:
        return parse_listen(v, target, err, errlen);
    case OPT_LEVEL:
    case OPT_ROLE:
    case OPT_FORMAT:
        if (!one_of(v, o->type == OPT_LEVEL ? levels : o->type == OPT_ROLE ? roles : formats)) {
            snprintf(err, errlen, "%s: '%s' is not one of: %s", o->flag, v, o->help);
            return -EINVAL;
        }
        /* fallthrough */
    case OPT_STR:
        if (strlen(v) >= o->size || v[0] == '\0') {
            snprintf(err, errlen, "%s: value must be 1..%zu characters", o->flag, o->size - 1);
            return -EINVAL;
        }
        memcpy(field, v, strlen(v) + 1);
        return 0;
    case OPT_INT:
        errno = 0;
        n = strtol(v, &end, 10);
        if (errno || *end || end == v || n < o->min || n > o->max) {
            snprintf(err, errlen, "%s: expected an integer in %ld..%ld, got '%s'", o->flag,
                     o->min, o->max, v);
            return -EINVAL;
        }
        *(int *)(void *)field = (int)n;
        return 0;
    case OPT_FLAG:
        *(int *)(void *)field = 1;
        return 0;
    case OPT_LIST: {
        int *count = (int *)(void *)((char *)target + o->count_off);
        char msg[300];
        if (*count >= o->max) {
            snprintf(err, errlen, "%s: at most %ld may be given", o->flag, o->max);
            return -EINVAL;
        }
        if (strlen(v) >= o->size || v[0] == '\0') {
            snprintf(err, errlen, "%s: value must be 1..%zu characters", o->flag, o->size - 1);
            return -EINVAL;
        }
        if (o->check && o->check(v, msg, sizeof(msg)) < 0) {
            snprintf(err, errlen, "%s: %s", o->flag, msg);
            return -EINVAL;
        }
        memcpy(field + (size_t)*count * o->size, v, strlen(v) + 1);
        (*count)++;
        return 0;
    }
    }
    return -EINVAL;
}

/* Accepts "--flag value" and "--flag=value". */
static int parse_opts(const opt_spec *opts, size_t n, void *target, int argc, char **argv,
                      char *err, size_t errlen)
{
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq = strchr(arg, '=');
        size_t flen = eq ? (size_t)(eq - arg) : strlen(arg);
        const opt_spec *o = NULL;
        const char *v;
        int r;

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return 1;
        for (size_t k = 0; k < n; k++) {
            if (strlen(opts[k].flag) == flen && strncmp(opts[k].flag, arg, flen) == 0) {
                o = &opts[k];
                break;
            }
        }
        if (!o) {
            snprintf(err, errlen, "unknown option '%.*s' (see --help)", (int)flen, arg);
            return -EINVAL;
        }
        if (o->type == OPT_FLAG) {
            if (eq) {
                snprintf(err, errlen, "%s takes no value", o->flag);
                return -EINVAL;
            }
            v = "";
        } else if (eq) {
            v = eq + 1;
        } else {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "%s needs a value (%s)", o->flag, o->metavar);
                return -EINVAL;
            }
            v = argv[++i];
        }
        r = apply_opt(o, target, v, err, errlen);
        if (r < 0)
            return r;
    }
    return 0;
}

int sc__config_apply(sc_config *cfg, const char *name, const char *value, char *err,
                     size_t errlen)
{
    char flag[96];
    char *argv[2];
    bool exists, is_flag = sc__config_is_flag(name, &exists);

    if (!exists) {
        snprintf(err, errlen, "unknown option '%s'", name);
        return -ENOENT;
    }
    snprintf(flag, sizeof(flag), "--%s", name);
    argv[0] = flag;
    argv[1] = (char *)value;
    return parse_opts(serve_opts, N_ELEMS(serve_opts), cfg, is_flag ? 1 : 2, argv, err, errlen);
}

bool sc__config_is_flag(const char *name, bool *exists)
{
    for (size_t k = 0; k < N_ELEMS(serve_opts); k++) {
        if (strcmp(serve_opts[k].flag + 2, name) == 0) {
            *exists = true;
            return serve_opts[k].type == OPT_FLAG;
        }
    }
    *exists = false;
    return false;
}

const char *sc__config_option_name(size_t i)
{
    return i < N_ELEMS(serve_opts) ? serve_opts[i].flag + 2 : NULL;
}

int sc__config_bool(const char *v, bool *on)
{
    static const char *const yes[] = {"true", "yes", "on", "1", NULL};
    static const char *const no[] = {"false", "no", "off", "0", NULL};

    *on = one_of(v, yes);
    return *on || one_of(v, no) ? 0 : -EINVAL;
}

/* STAGECAST_<OPTION>: the option's name in capitals, '-' as '_'.  A flag is
 * set by 1/true/yes/on and left as it is by 0/false/no/off. */
int sc__config_apply_env(sc_config *cfg, const char *(*lookup)(const char *name, void *ud),
                         void *ud, char *err, size_t errlen)
{
    for (size_t k = 0; k < N_ELEMS(serve_opts); k++) {
        const opt_spec *o = &serve_opts[k];
        char var[96];
        const char *v;
        size_t n = (size_t)snprintf(var, sizeof(var), "STAGECAST_");
        int r;

        if (strcmp(o->flag, "--config") == 0)
            continue;
        for (const char *p = o->flag + 2; *p && n + 1 < sizeof(var); p++)
            var[n++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        var[n] = '\0';
        if (!(v = lookup(var, ud)))
            continue;
        if (o->type == OPT_FLAG) {
            bool on;
            if (sc__config_bool(v, &on) < 0) {
                snprintf(err, errlen, "%s: expected true or false, got '%s'", var, v);
                return -EINVAL;
            }
            if (on)
                *(int *)(void *)((char *)cfg + o->offset) = 1;
            continue;
        }
        r = apply_opt(o, cfg, v, err, errlen);
        if (r < 0) {
            size_t m = strlen(err);
            snprintf(err + m, errlen - m, " (from %s)", var);
            return r;
        }
    }
    return 0;
}

int sc__config_check(const sc_config *cfg, char *err, size_t errlen)
{
    if (!cfg->tls_cert[0] != !cfg->tls_key[0]) {
        snprintf(err, errlen, "--tls-cert and --tls-key go together");
        return -EINVAL;
    }
    if (cfg->tls_self_signed && cfg->tls_cert[0]) {
        snprintf(err, errlen, "--tls-self-signed and --tls-cert exclude each other");
        return -EINVAL;
    }
    if (cfg->http_redirect_port && !cfg->tls_cert[0] && !cfg->tls_self_signed) {
        snprintf(err, errlen, "--http-redirect needs TLS (--tls-cert or --tls-self-signed)");
        return -EINVAL;
    }
    if (cfg->n_turn_urls && !cfg->turn_secret_file[0]) {
        snprintf(err, errlen, "--turn needs --turn-secret-file (the secret coturn also uses)");
        return -EINVAL;
    }
    if (!cfg->n_turn_urls && cfg->turn_secret_file[0]) {
        snprintf(err, errlen, "--turn-secret-file is only used with --turn URL");
        return -EINVAL;
    }
    if (cfg->http_redirect_port && cfg->http_redirect_port == cfg->listen_port) {
        snprintf(err, errlen, "--http-redirect needs a port other than --listen's");
        return -EINVAL;
    }
    return 0;
}

static const char *env_lookup(const char *name, void *ud)
{
    (void)ud;
    return getenv(name);
}

/* The value of --config in argv, or NULL. */
static const char *config_arg(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--config=", 9) == 0)
            return argv[i] + 9;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            return argv[i + 1];
    }
    return NULL;
}

int sc_config_parse(sc_config *cfg, int argc, char **argv, FILE *out, char *err, size_t errlen)
{
    const char *file = config_arg(argc, argv);
    int r;

    if (file && (r = sc_config_load_file(cfg, file, err, errlen)) < 0)
        return r;
    if ((r = sc__config_apply_env(cfg, env_lookup, NULL, err, errlen)) < 0)
        return r;
    r = parse_opts(serve_opts, N_ELEMS(serve_opts), cfg, argc, argv, err, errlen);
    if (r == 1)
        sc_config_usage(out);
    if (r != 0)
        return r;
    return sc__config_check(cfg, err, errlen);
}

int sc_token_config_parse(sc_token_config *cfg, int argc, char **argv, FILE *out, char *err,
                          size_t errlen)
{
    int r = parse_opts(token_opts, N_ELEMS(token_opts), cfg, argc, argv, err, errlen);
    if (r == 1) {
        sc_token_config_usage(out);
        return 1;
    }
    if (r < 0)
        return r;
    if (!cfg->room[0] || !cfg->role[0]) {
        snprintf(err, errlen, "--room and --role are required (see --help)");
        return -EINVAL;
    }
    return 0;
}

int sc_private_path(const char *path, mode_t mode)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return errno == ENOENT ? 0 : -errno;
    if (!(st.st_mode & 077))
        return 0;
    if (chmod(path, mode) != 0) {
        SC_WARN("config", "%s is open to other users (mode %03o) and cannot be closed: %s", path,
                (unsigned)(st.st_mode & 0777), strerror(errno));
        return -errno;
    }
    SC_WARN("config", "%s was open to other users (mode %03o): now %03o", path,
            (unsigned)(st.st_mode & 0777), (unsigned)mode);
    return 1;
}

int sc_data_dir_ensure(const char *dir, char *err, size_t errlen)
{
    struct stat st;

    if (mkdir(dir, 0700) == 0)
        return 0;
    if (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
        sc_private_path(dir, 0700); /* made beforehand with open permissions */
        return 0;
    }
    int e = errno == EEXIST ? ENOTDIR : errno;
    snprintf(err, errlen, "data directory %s: %s", dir, strerror(e));
    return -e;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads at most cap bytes; returns the count or -errno. */
static ssize_t read_small_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t got = 0;

    if (fd < 0)
        return -errno;
    while (got < cap) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    return (ssize_t)got;
}

static int decode_secret(const char *buf, size_t len, uint8_t *out, size_t cap)
{
    size_t i, hexlen;

    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
        len--;
    for (hexlen = 0; hexlen < len && hexval((unsigned char)buf[hexlen]) >= 0; hexlen++)
        ;
    if (hexlen == len && len % 2 == 0 && len / 2 <= cap) {
        for (i = 0; i < len / 2; i++)
            out[i] = (uint8_t)(hexval((unsigned char)buf[2 * i]) << 4 |
                               hexval((unsigned char)buf[2 * i + 1]));
        return (int)(len / 2);
    }
    if (len > cap)
        return -E2BIG;
    memcpy(out, buf, len);
    return (int)len;
}

static int create_secret(const char *path)
{
    uint8_t raw[SC_SECRET_LEN];
    char hex[SC_SECRET_LEN * 2 + 2];
    int fd, r = 0;

    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -EIO;
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    hex[SC_SECRET_LEN * 2] = '\n';
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    if (write(fd, hex, SC_SECRET_LEN * 2 + 1) != SC_SECRET_LEN * 2 + 1 || fsync(fd) != 0)
        r = -EIO;
    close(fd);
    if (r < 0)
        unlink(path);
    return r;
}

int sc_secret_load(const char *data_dir, const char *secret_file, uint8_t *out, size_t cap,
                   char *err, size_t errlen)
{
    char path[SC_PATH_MAX + 16];
    char buf[SC_SECRET_MAX * 2 + 8];
    ssize_t n;
    int r;

    if (secret_file && secret_file[0]) {
        snprintf(path, sizeof(path), "%s", secret_file);
    } else {
        r = sc_data_dir_ensure(data_dir, err, errlen);
        if (r < 0)
            return r;
        snprintf(path, sizeof(path), "%s/secret", data_dir);
        r = create_secret(path);
        /* EEXIST: made earlier, or by a process racing us; either way read it. */
        if (r < 0 && r != -EEXIST) {
            snprintf(err, errlen, "cannot create %s: %s", path, strerror(-r));
            return r;
        }
    }
    n = read_small_file(path, buf, sizeof(buf));
    if (n < 0) {
        snprintf(err, errlen, "cannot read secret %s: %s", path, strerror((int)-n));
        return (int)n;
    }
    if (secret_file && secret_file[0]) {
        /* The operator's file: say so, leave it to them. */
        struct stat st;
        if (stat(path, &st) == 0 && (st.st_mode & 077))
            SC_WARN("config", "the token secret %s is readable by other users (mode %03o): "
                    "anyone who can read it can mint tokens; chmod 600 it",
                    path, (unsigned)(st.st_mode & 0777));
    } else {
        sc_private_path(path, 0600);
    }
    r = decode_secret(buf, (size_t)n, out, cap);
    if (r < 0 || r < 16) {
        snprintf(err, errlen, "secret %s: must hold 16..%zu bytes (or their hex)", path, cap);
        return -EINVAL;
    }
    return r;
}
