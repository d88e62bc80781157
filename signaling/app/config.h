/* Command-line configuration of `stagecast serve` and `stagecast token`.
 *
 * Every option is one row of a table (config.c) with its flag, a named
 * default, a help string and a limit, so the usage text, the defaults and
 * the validation cannot drift apart.  The parsed values live in plain
 * structs that the runtime reads and never writes. */
#ifndef SC_CONFIG_H
#define SC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "signaling/turn/turn.h"

#define SC_DEFAULT_LISTEN "127.0.0.1:8080"
#define SC_DEFAULT_MEDIA_IP "127.0.0.1"
#define SC_DEFAULT_UDP_PORT 10000
#define SC_DEFAULT_DATA_DIR "./data"
#define SC_DEFAULT_WORKERS 0               /* one per core */
#define SC_DEFAULT_LOG_LEVEL "info"
#define SC_DEFAULT_MAX_PUBLISHERS 6        /* the stage */
#define SC_DEFAULT_MAX_VIEWERS 10000
#define SC_DEFAULT_CONSENT_TIMEOUT_MS 30000
#define SC_DEFAULT_DTLS_TIMEOUT_MS 20000
#define SC_DEFAULT_MAX_ICE_TCP 1024        /* per media worker */
#define SC_DEFAULT_MAX_WRONG_ATTEMPTS 10
#define SC_DEFAULT_VIDEO_CODEC "vp8"
#define SC_DEFAULT_MAX_EXTERNAL_CHECKS 64  /* events' external checks in flight, each a thread */
#define SC_DEFAULT_RECORDINGS_QUOTA_MIB (10 * 1024)
#define SC_DEFAULT_MAX_BODY (64 * 1024)    /* WHIP/WHEP body limit */
#define SC_DEFAULT_MAX_WS_MESSAGE (64 * 1024)
#define SC_DEFAULT_TOKEN_TTL 86400         /* 24 h */
#define SC_DEFAULT_DRAIN_TIMEOUT 30        /* seconds */
#define SC_DEFAULT_WS_JOIN_TIMEOUT 10      /* seconds */
#define SC_DEFAULT_MAX_SESSIONS_PER_WS 8  /* a page needs 1-3 (publish, view, stage) */
#define SC_DEFAULT_MAX_UNJOINED_PER_IP 32  /* a whole office behind one NAT joins
                                              within seconds; a flood does not */
/* Media sessions per room: a page holds 1-3 (publish, view, the stage), a
 * user a few tabs or devices; a whole office behind one NAT address watches
 * one all-hands, yet one address alone cannot fill a room of
 * SC_DEFAULT_MAX_VIEWERS. */
#define SC_DEFAULT_MAX_SESSIONS_PER_USER 10
#define SC_DEFAULT_MAX_SESSIONS_PER_IP 500
/* Connections one address may hold: derived (a quarter of the connection
 * budget, signaling/http/conns.h), unless --max-connections-per-ip says. */
#define SC_DEFAULT_MAX_CONNECTIONS_PER_IP (-1)
#define SC_DEFAULT_TURN_TTL 3600           /* seconds a TURN credential lasts */
#define SC_DEFAULT_MEDIA_URL_TTL 300       /* seconds a signed recording URL lasts */
/* Interaction limits per user (RELIABILITY: chat messages per user per
 * second); interact.h names the same values SC_INTERACT_*. */
#define SC_DEFAULT_CHAT_RATE 5             /* chat/danmaku/questions per second */
#define SC_DEFAULT_CHAT_BURST 5
#define SC_DEFAULT_ACTION_RATE 20          /* likes, votes, check-ins per second */
#define SC_DEFAULT_CHAT_HISTORY 50         /* chat messages sent on join */

#define SC_SECRET_LEN 32                   /* bytes; stored as 64 hex chars */
#define SC_SECRET_MAX 256
#define SC_PATH_MAX 1024

typedef struct sc_config {
    char listen_addr[64];      /* numeric IPv4/IPv6 address */
    int listen_port;
    char media_ip[64];
    int udp_port;
    int ice_tcp_port;          /* 0: the UDP port numbers */
    int no_ice_tcp;
    int max_ice_tcp;           /* ICE-TCP connections per worker */
    int max_wrong_attempts;    /* watch-link guesses per address per minute */
    char geoip[SC_PATH_MAX];   /* tor-geoipdb IPv4 file; "" = the Debian one if present */
    char geoip6[SC_PATH_MAX];
    int max_external_checks;   /* events' external checks in flight at once */
    char external_check_ca[SC_PATH_MAX]; /* more CA certificates for them; "" the system's */
    int dtls_timeout_ms;
    char data_dir[SC_PATH_MAX];
    int workers;
    char worker_cpus[256];       /* "" = let the kernel place the workers */
    char ui_dir[SC_PATH_MAX];
    char log_level[16];
    char log_format[8];        /* text or json */
    char video_codec[8];
    int record_by_default;
    char recordings_dir[SC_PATH_MAX];
    int recordings_quota_mib;
    int max_publishers;
    int max_viewers;
    int max_body;
    int max_ws_message;
    int consent_timeout_ms;
    int no_udp_gso;
    int no_admission_control;
    int chat_rate;             /* per user per second; burst chat_burst */
    int chat_burst;
    int action_rate;           /* also the action burst */
    int chat_history;
    char secret_file[SC_PATH_MAX]; /* empty: DATA/secret */
    char tls_cert[SC_PATH_MAX];    /* PEM, full chain; "" = plain HTTP */
    char tls_key[SC_PATH_MAX];
    int tls_self_signed;           /* make (once) and use DATA/tls/{cert,key}.pem */
    int http_redirect_port;        /* with TLS: plain HTTP here redirects; 0 = off */
    int drain_timeout_s;           /* SIGTERM: let sessions finish this long */
    int ws_join_timeout_s;         /* a /ws connection must join within this */
    int max_unjoined_per_ip;       /* /ws connections not yet joined, per address */
    int max_sessions_per_ws;       /* media sessions one /ws connection may hold */
    int max_sessions_per_user;     /* per room and token sub, WHIP/WHEP and /ws; 0 = no limit */
    int max_sessions_per_ip;       /* per room and client address; 0 = no limit */
    int max_connections;           /* descriptors the front end may hold; 0 = derived
                                      from the descriptor limit (conns.h) */
    int max_connections_per_ip;    /* of them, one address (an IPv6 /64); 0 = no
                                      limit, -1 = derived (conns.h) */
    char config_file[SC_PATH_MAX]; /* --config: read before the environment and flags */
    char turn_urls[SC_TURN_URLS_MAX][SC_TURN_URL_MAX]; /* --turn, in the order given */
    int n_turn_urls;
    char turn_secret_file[SC_PATH_MAX]; /* coturn's static-auth-secret; with --turn */
    int turn_ttl_s;
    int media_url_ttl_s;           /* lifetime of a signed recording URL */
} sc_config;

typedef struct sc_token_config {
    char room[128];
    char role[32];
    char name[128];
    char sub[128];
    int ttl;
    char data_dir[SC_PATH_MAX];
    char secret_file[SC_PATH_MAX];
} sc_token_config;

void sc_config_defaults(sc_config *cfg);
void sc_token_config_defaults(sc_token_config *cfg);

/* Parse the arguments after the subcommand name, over the defaults, in this
 * order: the file of --config (YAML, config_file.c), then the environment
 * (STAGECAST_<OPTION>, e.g. STAGECAST_MEDIA_IP for --media-ip), then the
 * flags themselves; a later source overrides an earlier one.  Returns 0, 1
 * when --help was given (usage already printed to out), or -EINVAL with a
 * message in err (unknown flag or key, missing value, value out of its
 * limit; a file's errors name the file and line). */
int sc_config_parse(sc_config *cfg, int argc, char **argv, FILE *out, char *err, size_t errlen);
int sc_token_config_parse(sc_token_config *cfg, int argc, char **argv, FILE *out, char *err,
                          size_t errlen);

void sc_config_usage(FILE *out);

/* ---- for config_file.c ---------------------------------------------------- */

/* Applies one serve option by its name without "--" ("media-ip"), as if
 * given on the command line; value NULL for a flag.  0, or -EINVAL with a
 * message in err (-ENOENT: no such option). */
int sc__config_apply(sc_config *cfg, const char *name, const char *value, char *err,
                     size_t errlen);
/* Whether the serve option name (without "--") exists and takes no value. */
bool sc__config_is_flag(const char *name, bool *exists);
/* A flag's value in the environment or the file: true/yes/on/1 or
 * false/no/off/0.  0 with *on set, or -EINVAL. */
int sc__config_bool(const char *v, bool *on);
/* The serve options' names without "--", in table order; NULL after the
 * last. */
const char *sc__config_option_name(size_t i);
/* Reads a YAML file of `option: value` (a list for a repeatable option,
 * true/false for a flag) into cfg.  0, or -EINVAL with "FILE:LINE: ..." in
 * err. */
int sc_config_load_file(sc_config *cfg, const char *path, char *err, size_t errlen);
/* The same for a file's bytes already in memory; name stands for the path
 * in messages. */
int sc_config_load_yaml(sc_config *cfg, const char *name, const char *buf, size_t len, char *err,
                        size_t errlen);
/* Applies the STAGECAST_<OPTION> variables, each looked up with
 * lookup(name, ud) (getenv for the environment: sc_config_parse), over
 * cfg.  0, or -EINVAL with the variable named in err. */
int sc__config_apply_env(sc_config *cfg, const char *(*lookup)(const char *name, void *ud),
                         void *ud, char *err, size_t errlen);
/* The options that go together or exclude each other (--tls-cert and
 * --tls-key, --turn and --turn-secret-file, ...), once every source is
 * read.  0, or -EINVAL with a message in err. */
int sc__config_check(const sc_config *cfg, char *err, size_t errlen);
void sc_token_config_usage(FILE *out);

/* Closes path to other users (chmod to mode) when its mode lets group or
 * others in, with a warning: 1 when it did, 0 when there was nothing to do
 * or no such file, -errno when it could not. */
int sc_private_path(const char *path, mode_t mode);
/* Create the data directory (mode 0700) if it is missing; one made
 * beforehand with open permissions is closed (with a warning).  0 or
 * -errno. */
int sc_data_dir_ensure(const char *dir, char *err, size_t errlen);

/* Load the signing secret: secret_file when non-empty, else DATA/secret,
 * which is created (32 random bytes as hex, mode 0600, O_EXCL so two
 * processes starting together agree) when missing.  A file holding hex is
 * decoded; any other content is used as raw bytes.  Secrets shorter than
 * 16 bytes are refused.  Returns the secret's length or -errno. */
int sc_secret_load(const char *data_dir, const char *secret_file, uint8_t *out, size_t cap,
                   char *err, size_t errlen);

#endif
