/* stagecast: `serve` runs the signalling server and the media plane;
 * `token` issues an access token signed with the same secret. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "common/log.h"
#include "recorder/recorder.h"
#include "sc_build_config.h"
#include "sfu/sfu.h"
#include "signaling/app/config.h"
#include "signaling/app/watchdog.h"
#include "signaling/auth/token.h"
#include "signaling/http/conns.h"
#include "signaling/http/http.h"
#include "signaling/http/ws.h"
#include "signaling/recordings/catalog.h"
#include "signaling/room/rooms.h"
#include "signaling/store/store.h"

static volatile sig_atomic_t stop_requested; /* stop signals so far */
static volatile sig_atomic_t reload_requested;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        reload_requested = 1;
    else if (stop_requested < 2)
        stop_requested++;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: stagecast <command> [options]\n\n"
            "commands:\n"
            "  serve   run the signalling server and media plane\n"
            "  token   print an access token for a room\n"
            "  check-config FILE   read a serve config file and say what is wrong\n\n"
            "`stagecast <command> --help` lists each command's options.\n");
}

static void tap_to_recorder(void *ud, sc_media_pkt *pkt)
{
    sc_recorder_push(ud, pkt);
}

static int cmd_serve(int argc, char **argv)
{
    sc_config cfg;
    sc_sfu_config scfg;
    sc_app *app = NULL;
    sc_store *store = NULL;
    sc_sfu *sfu = NULL;
    sc_recorder *recorder = NULL;
    sc_catalog *catalog = NULL;
    sc_watchdog *watchdog = NULL;
    uint8_t secret[SC_SECRET_MAX];
    char err[512], dbpath[SC_PATH_MAX + 32];
    struct sigaction sa;
    sigset_t block, old;
    int secret_len, r, rc = 1;

    /* Blocks of 16 KiB and more (OpenSSL's per-session record and handshake
     * buffers, freed once a session's DTLS is established) come straight
     * from mmap and go back to the system when freed; from the heap they
     * left holes between long-lived session objects that stayed resident
     * (about 30 KiB a viewer, docs/BENCHMARKS.md "Memory per viewer").
     * Setting it also stops glibc from raising the threshold on its own. */
    mallopt(M_MMAP_THRESHOLD, 16 * 1024);

    sc_config_defaults(&cfg);
    r = sc_config_parse(&cfg, argc, argv, stdout, err, sizeof(err));
    if (r == 1)
        return 0;
    if (r < 0) {
        fprintf(stderr, "stagecast serve: %s\n", err);
        return 2;
    }
    sc_log_set_level(cfg.log_level);
    sc_log_set_format(cfg.log_format);

    if (sc_data_dir_ensure(cfg.data_dir, err, sizeof(err)) < 0) {
        fprintf(stderr, "stagecast serve: %s\n", err);
        return 1;
    }
    secret_len = sc_secret_load(cfg.data_dir, cfg.secret_file, secret, sizeof(secret), err,
                                sizeof(err));
    if (secret_len < 0) {
        fprintf(stderr, "stagecast serve: %s\n", err);
        return 1;
    }
    snprintf(dbpath, sizeof(dbpath), "%s/stagecast.db", cfg.data_dir);
    store = sc_store_open(dbpath, err, sizeof(err));
    if (!store) {
        fprintf(stderr, "stagecast serve: %s\n", err);
        goto out;
    }
    /* The database holds chat, bans and the catalog: the service's own. */
    {
        static const char *const suffixes[] = {"", "-wal", "-shm"};
        char p[sizeof(dbpath) + 8];
        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
            snprintf(p, sizeof(p), "%s%s", dbpath, suffixes[i]);
            sc_private_path(p, 0600);
        }
    }

    /* The media workers inherit the signal mask: block the stop signals
     * while they are created so only this thread ever takes them. */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: the signal must break poll() */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    app = sc_app_new(&cfg, secret, (size_t)secret_len, store, err, sizeof(err));
    if (!app || sc_http_start(app, err, sizeof(err)) < 0) {
        fprintf(stderr, "stagecast serve: %s\n", err);
        goto out;
    }
    /* The recorder, before the media plane that feeds it. */
    char recdir[SC_PATH_MAX + 16];
    if (cfg.recordings_dir[0])
        snprintf(recdir, sizeof(recdir), "%s", cfg.recordings_dir);
    else
        snprintf(recdir, sizeof(recdir), "%s/recordings", cfg.data_dir);
    recorder = sc_recorder_new(recdir, (uint64_t)cfg.recordings_quota_mib << 20, err, sizeof(err));
    if (!recorder)
        SC_WARN("main", "recording unavailable: %s", err);
    else
        sc_private_path(recdir, 0700); /* people's faces and voices */
    app->recorder = recorder;
    /* The catalog: files already on disk (repaired ones included, the
     * recorder has just done that), then each file as the writer finishes
     * it, handed over to this thread. */
    catalog = sc_catalog_new(store, recdir, sc_app_notify, app);
    if (!catalog) {
        fprintf(stderr, "stagecast serve: out of memory\n");
        goto out;
    }
    sc_catalog_set_app(catalog, app);
    if (sc_catalog_scan(catalog) < 0)
        SC_WARN("main", "cannot scan %s for recordings", recdir);
    app->catalog = catalog;
    if (recorder) {
        static const sc_recorder_events rec_events = {
            .version = SC_RECORDER_EVENTS_VERSION,
            .started = sc_catalog_on_started,
            .error = sc_catalog_on_error,
        };
        sc_recorder_set_done_callback(recorder, sc_catalog_on_done, catalog);
        sc_recorder_set_events(recorder, &rec_events, catalog);
    }
    sc_sfu_config_defaults(&scfg);
    scfg.tap = recorder ? tap_to_recorder : NULL;
    scfg.tap_ud = recorder;
    scfg.media_ip = cfg.media_ip;
    scfg.udp_port = (uint16_t)cfg.udp_port;
    scfg.workers = cfg.workers;
    scfg.worker_cpus = cfg.worker_cpus[0] ? cfg.worker_cpus : NULL;
    scfg.max_publishers_per_room = cfg.max_publishers;
    scfg.max_viewers_per_room = cfg.max_viewers;
    scfg.consent_timeout_ms = cfg.consent_timeout_ms;
    scfg.dtls_timeout_ms = cfg.dtls_timeout_ms;
    scfg.no_ice_tcp = cfg.no_ice_tcp != 0;
    scfg.tcp_port = (uint16_t)cfg.ice_tcp_port;
    scfg.max_tcp_per_worker = cfg.max_ice_tcp;
    scfg.no_udp_gso = cfg.no_udp_gso != 0;
    scfg.no_admission_control = cfg.no_admission_control != 0;
    scfg.video_codec = cfg.video_codec;
    scfg.notify = sc_app_notify;
    scfg.notify_ud = app;
    sfu = sc_sfu_new(&scfg, err, sizeof(err));
    if (!sfu) {
        fprintf(stderr, "stagecast serve: media plane: %s\n", err);
        goto out;
    }
    app->sfu = sfu;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    /* Everything long-lived is open: what is left of the descriptors. */
    sc_conns_fix(app);

    printf("stagecast listening on %s://%s%s%s:%d\n", sc_http_tls(app) ? "https" : "http", strchr(cfg.listen_addr, ':') ? "[" : "",
           cfg.listen_addr, strchr(cfg.listen_addr, ':') ? "]" : "", sc_http_port(app));
    fflush(stdout);
    /* Under systemd (Type=notify): ready once the port is bound and the
     * media plane runs.  A no-op without NOTIFY_SOCKET. */
    sd_notifyf(0, "READY=1\nSTATUS=serving on port %d", sc_http_port(app));
    /* WatchdogSec=: pinged while this loop and every media worker's turn. */
    watchdog = sc_watchdog_start(app);
    SC_INFO("main", "serving pages from %s, data in %s, media on %s:%d", cfg.ui_dir,
            cfg.data_dir, cfg.media_ip, cfg.udp_port);

    for (;;) {
        /* The first stop signal drains (when sessions are open and
         * --drain-timeout allows), a second one stops at once. */
        if (stop_requested >= 2)
            break;
        if (stop_requested == 1 && !app->draining) {
            if (!sc_app_drain_begin(app, cfg.drain_timeout_s))
                break;
            sd_notifyf(0, "STOPPING=1\nSTATUS=draining %zu session(s)",
                       sc_rooms_session_count(app->rooms));
        }
        if (app->draining && sc_app_drain_over(app))
            break;
        if (sc_http_service(app) < 0) {
            SC_ERROR("main", "event loop failed");
            goto out;
        }
        if (reload_requested) {
            reload_requested = 0;
            if (!sc_http_tls(app)) {
                SC_INFO("main", "SIGHUP: nothing to reload (no TLS)");
            } else {
                sd_notify(0, "RELOADING=1");
                if (sc_http_reload_tls(app, err, sizeof(err)) < 0)
                    SC_WARN("main", "SIGHUP: keeping the current certificate: %s", err);
                sd_notify(0, "READY=1");
            }
        }
    }
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
    SC_INFO("main", "stopping");
    rc = 0;
out:
    if (app)
        sc_ws_dc_free_all(app);
    sc_app_detach_sfu(app);
    sc_sfu_free(sfu);
    /* After the media plane: nothing pushes any more; open files finish. */
    sc_recorder_free(recorder);
    if (app) {
        app->recorder = NULL;
        app->catalog = NULL;
    }
    /* Files the recorder finished while stopping. */
    sc_catalog_drain(catalog);
    sc_catalog_free(catalog);
    sc_http_stop(app);
    sc_watchdog_free(watchdog);
    sc_app_free(app);
    sc_store_close(store);
    memset(secret, 0, sizeof(secret));
    return rc;
}

static int cmd_token(int argc, char **argv)
{
    sc_token_config cfg;
    uint8_t secret[SC_SECRET_MAX];
    char err[512];
    sc_role role;
    char *tok;
    int secret_len, r;

    sc_token_config_defaults(&cfg);
    r = sc_token_config_parse(&cfg, argc, argv, stdout, err, sizeof(err));
    if (r == 1)
        return 0;
    if (r < 0) {
        fprintf(stderr, "stagecast token: %s\n", err);
        return 2;
    }
    if (sc_role_parse(cfg.role, &role) < 0) {
        fprintf(stderr, "stagecast token: unknown role '%s'\n", cfg.role);
        return 2;
    }
    if (!(strcmp(cfg.room, "*") == 0 && role == SC_ROLE_ADMIN)) {
        if (!sc_rooms_name_ok(cfg.room)) {
            fprintf(stderr, "stagecast token: --room must be 1..64 of [A-Za-z0-9_-]%s\n",
                    role == SC_ROLE_ADMIN ? " or *" : "");
            return 2;
        }
    }
    if (strlen(cfg.name) > SC_PEER_NAME_MAX || strlen(cfg.sub) > SC_PEER_NAME_MAX) {
        fprintf(stderr, "stagecast token: --name and --sub are at most %d bytes\n",
                SC_PEER_NAME_MAX);
        return 2;
    }
    secret_len = sc_secret_load(cfg.data_dir, cfg.secret_file, secret, sizeof(secret), err,
                                sizeof(err));
    if (secret_len < 0) {
        fprintf(stderr, "stagecast token: %s\n", err);
        return 1;
    }
    tok = sc_token_issue(secret, (size_t)secret_len, cfg.room, role,
                         cfg.name[0] ? cfg.name : NULL, cfg.sub[0] ? cfg.sub : NULL, cfg.ttl,
                         (int64_t)time(NULL));
    memset(secret, 0, sizeof(secret));
    if (!tok) {
        fprintf(stderr, "stagecast token: could not issue the token\n");
        return 1;
    }
    printf("%s\n", tok);
    free(tok);
    return 0;
}

/* `stagecast check-config FILE [flags]`: the file, the environment and the
 * flags read as `serve` would, without starting anything. */
static int cmd_check_config(int argc, char **argv)
{
    char *args[256];
    char err[600];
    sc_config cfg;
    int n = 0, r;

    if (argc < 1 || argc > 250 || argv[0][0] == '-') {
        fprintf(stderr, "usage: stagecast check-config FILE [serve options]\n");
        return 2;
    }
    args[n++] = "--config";
    for (int i = 0; i < argc; i++)
        args[n++] = argv[i];
    sc_config_defaults(&cfg);
    r = sc_config_parse(&cfg, n, args, stdout, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "stagecast check-config: %s\n", err);
        return 1;
    }
    if (r == 0)
        printf("%s: ok (listen %s:%d, media %s, data %s%s)\n", argv[0], cfg.listen_addr,
               cfg.listen_port, cfg.media_ip, cfg.data_dir,
               cfg.tls_cert[0] || cfg.tls_self_signed ? ", TLS" : "");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "serve") == 0)
        return cmd_serve(argc - 2, argv + 2);
    if (strcmp(argv[1], "token") == 0)
        return cmd_token(argc - 2, argv + 2);
    if (strcmp(argv[1], "check-config") == 0)
        return cmd_check_config(argc - 2, argv + 2);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("stagecast %s\n", SC_VERSION);
        return 0;
    }
    fprintf(stderr, "stagecast: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
