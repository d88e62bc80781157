/* signaling/config.c: option table parsing, limits, and the secret file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "signaling/app/config.h"
#include "tests/unit/sc_test.h"

static int parse(sc_config *cfg, const char *a0, const char *a1, const char *a2)
{
    char *argv[3] = {(char *)a0, (char *)a1, (char *)a2};
    char err[256];
    int argc = a2 ? 3 : a1 ? 2 : a0 ? 1 : 0;
    FILE *devnull = fopen("/dev/null", "w");
    sc_config_defaults(cfg);
    int r = sc_config_parse(cfg, argc, argv, devnull, err, sizeof(err));
    fclose(devnull);
    return r;
}

static void test_serve_options(void)
{
    sc_config cfg;

    SC_CHECK_INT(parse(&cfg, NULL, NULL, NULL), 0);
    SC_CHECK_STR(cfg.listen_addr, "127.0.0.1");
    SC_CHECK_INT(cfg.listen_port, 8080);
    SC_CHECK_STR(cfg.media_ip, "127.0.0.1");
    SC_CHECK_INT(cfg.udp_port, 10000);
    SC_CHECK_STR(cfg.data_dir, "./data");
    SC_CHECK_INT(cfg.workers, 0);
    SC_CHECK_INT(cfg.max_body, 65536);
    SC_CHECK_INT(cfg.max_ws_message, 65536);
    SC_CHECK_INT(cfg.max_publishers, 6);

    SC_CHECK_INT(parse(&cfg, "--listen", "0.0.0.0:9000", "--workers=3"), 0);
    SC_CHECK_STR(cfg.listen_addr, "0.0.0.0");
    SC_CHECK_INT(cfg.listen_port, 9000);
    SC_CHECK_INT(cfg.workers, 3);
    SC_CHECK_INT(parse(&cfg, "--listen=[::1]:0", NULL, NULL), 0);
    SC_CHECK_STR(cfg.listen_addr, "::1");
    SC_CHECK_INT(cfg.listen_port, 0);
    SC_CHECK_INT(parse(&cfg, "--max-body", "2048", NULL), 0);
    SC_CHECK_INT(cfg.max_body, 2048);
    SC_CHECK_INT(parse(&cfg, "--log-level", "debug", NULL), 0);
    SC_CHECK_STR(cfg.log_level, "debug");

    /* refused: unknown flags, missing values, values beyond their limits */
    SC_CHECK_INT(parse(&cfg, "--bogus", NULL, NULL), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--workers", NULL, NULL), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--udp-port", "0", NULL), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--udp-port", "65536", NULL), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--udp-port", "12ab", NULL), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--max-body", "10", NULL), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--workers", "-1", NULL), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--log-level", "loud", NULL), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--listen", "8080", NULL), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--listen", ":8080", NULL), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--listen", "127.0.0.1:99999", NULL), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--listen", "127.0.0.1:", NULL), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--help", NULL, NULL), 1);
    /* an over-long path is refused, not truncated */
    char longpath[2000];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = '\0';
    SC_CHECK_INT(parse(&cfg, "--data", longpath, NULL), -EINVAL);

    /* TLS: a certificate needs its key; self-signed excludes a given pair;
     * the redirect needs TLS */
    SC_CHECK_INT(parse(&cfg, "--tls-self-signed", NULL, NULL), 0);
    SC_CHECK_INT(cfg.tls_self_signed, 1);
    SC_CHECK_INT(parse(&cfg, "--tls-cert", "c.pem", NULL), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--tls-key", "k.pem", NULL), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--tls-cert=c.pem", "--tls-key=k.pem", NULL), 0);
    SC_CHECK_STR(cfg.tls_cert, "c.pem");
    SC_CHECK_STR(cfg.tls_key, "k.pem");
    SC_CHECK_INT(parse(&cfg, "--tls-cert=c.pem", "--tls-key=k.pem", "--tls-self-signed"), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--http-redirect", "8081", NULL), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--tls-self-signed", "--http-redirect=8081", NULL), 0);
    SC_CHECK_INT(cfg.http_redirect_port, 8081);
    SC_CHECK_INT(parse(&cfg, "--tls-self-signed", "--http-redirect=8080", NULL), -EINVAL);

    /* TURN: --turn repeats (up to SC_TURN_URLS_MAX), each URL checked,
     * and needs the secret file */
    SC_CHECK_INT(cfg.turn_ttl_s, 3600);
    SC_CHECK_INT(parse(&cfg, "--turn", "turn:10.0.0.1:3478?transport=udp", NULL), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--turn-secret-file", "s", NULL), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--turn=turn:10.0.0.1:3478?transport=udp",
                       "--turn=turns:t.example.com:443?transport=tcp", "--turn-secret-file=s"),
                 0);
    SC_CHECK_INT(cfg.n_turn_urls, 2);
    SC_CHECK_STR(cfg.turn_urls[0], "turn:10.0.0.1:3478?transport=udp");
    SC_CHECK_STR(cfg.turn_urls[1], "turns:t.example.com:443?transport=tcp");
    SC_CHECK_STR(cfg.turn_secret_file, "s");
    SC_CHECK_INT(parse(&cfg, "--turn=http://x", "--turn-secret-file=s", NULL), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--turn=turns:x:443?transport=udp", "--turn-secret-file=s", NULL),
                 -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--turn=turn:x:99999", "--turn-secret-file=s", NULL), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--turn-ttl", "59", NULL), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--turn-ttl", "600", NULL), 0);
    SC_CHECK_INT(cfg.turn_ttl_s, 600);

    /* Signed recording URLs: 300 s unless told, 1 s .. a day. */
    SC_CHECK_INT(parse(&cfg, NULL, NULL, NULL), 0);
    SC_CHECK_INT(cfg.media_url_ttl_s, 300);
    SC_CHECK_INT(parse(&cfg, "--media-url-ttl", "0", NULL), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--media-url-ttl", "86401", NULL), -EINVAL);
    SC_CHECK_INT(parse(&cfg, "--media-url-ttl=1", NULL, NULL), 0);
    SC_CHECK_INT(cfg.media_url_ttl_s, 1);
    {
        char *argv[SC_TURN_URLS_MAX + 3];
        char err[256] = "";
        int argc = 0;
        FILE *devnull = fopen("/dev/null", "w");
        argv[argc++] = "--turn-secret-file=s";
        for (int i = 0; i <= SC_TURN_URLS_MAX; i++)
            argv[argc++] = "--turn=turn:10.0.0.1";
        sc_config_defaults(&cfg);
        SC_CHECK_INT(sc_config_parse(&cfg, argc - 1, argv, devnull, err, sizeof(err)), 0);
        SC_CHECK_INT(cfg.n_turn_urls, SC_TURN_URLS_MAX);
        sc_config_defaults(&cfg);
        SC_CHECK_INT(sc_config_parse(&cfg, argc, argv, devnull, err, sizeof(err)), -EINVAL);
        SC_CHECK(strstr(err, "at most") != NULL);
        fclose(devnull);
    }
}

static const char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/sc-test-config-%d.yaml", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

/* --config FILE, then STAGECAST_* variables, then flags. */
static void test_config_file(void)
{
    sc_config cfg;
    char err[400];
    const char *path;
    char arg[128];

    path = write_tmp("# comment\n"
                     "listen: 0.0.0.0:9443\n"
                     "media-ip: 10.0.0.5\n"
                     "workers: 3\n"
                     "tls-self-signed: true\n"
                     "record-by-default: false\n"
                     "log-format: json\n");
    snprintf(arg, sizeof(arg), "--config=%s", path);
    SC_CHECK_INT(parse(&cfg, arg, NULL, NULL), 0);
    SC_CHECK_STR(cfg.listen_addr, "0.0.0.0");
    SC_CHECK_INT(cfg.listen_port, 9443);
    SC_CHECK_STR(cfg.media_ip, "10.0.0.5");
    SC_CHECK_INT(cfg.workers, 3);
    SC_CHECK_INT(cfg.tls_self_signed, 1);
    SC_CHECK_INT(cfg.record_by_default, 0);
    SC_CHECK_STR(cfg.log_format, "json");

    /* the environment overrides the file, a flag overrides both */
    setenv("STAGECAST_WORKERS", "5", 1);
    setenv("STAGECAST_MEDIA_IP", "10.0.0.6", 1);
    SC_CHECK_INT(parse(&cfg, arg, "--media-ip=10.0.0.7", NULL), 0);
    SC_CHECK_INT(cfg.workers, 5);
    SC_CHECK_STR(cfg.media_ip, "10.0.0.7");
    setenv("STAGECAST_WORKERS", "lots", 1);
    SC_CHECK_INT(parse(&cfg, arg, NULL, NULL), -EINVAL);
    unsetenv("STAGECAST_WORKERS");
    unsetenv("STAGECAST_MEDIA_IP");
    setenv("STAGECAST_NO_UDP_GSO", "yes", 1);
    SC_CHECK_INT(parse(&cfg, NULL, NULL, NULL), 0);
    SC_CHECK_INT(cfg.no_udp_gso, 1);
    setenv("STAGECAST_NO_UDP_GSO", "maybe", 1);
    SC_CHECK_INT(parse(&cfg, NULL, NULL, NULL), -EINVAL);
    unsetenv("STAGECAST_NO_UDP_GSO");

    /* errors name the file and line, and the key or value */
    sc_config_defaults(&cfg);
    path = write_tmp("listen: 127.0.0.1:8080\nmedia_ip: 10.0.0.5\n");
    SC_CHECK_INT(sc_config_load_file(&cfg, path, err, sizeof(err)), -EINVAL);
    SC_CHECK(strstr(err, ":2: unknown key 'media_ip'") != NULL);
    path = write_tmp("workers: 2\n\nworkers: 9999\n");
    SC_CHECK_INT(sc_config_load_file(&cfg, path, err, sizeof(err)), -EINVAL);
    SC_CHECK(strstr(err, ":3: --workers: expected an integer") != NULL);
    path = write_tmp("tls-self-signed: perhaps\n");
    SC_CHECK_INT(sc_config_load_file(&cfg, path, err, sizeof(err)), -EINVAL);
    SC_CHECK(strstr(err, ":1: tls-self-signed: expected true or false") != NULL);
    path = write_tmp("listen: {a: b}\n");
    SC_CHECK_INT(sc_config_load_file(&cfg, path, err, sizeof(err)), -EINVAL);
    path = write_tmp("listen: \"127.0.0.1:80\n");
    SC_CHECK_INT(sc_config_load_file(&cfg, path, err, sizeof(err)), -EINVAL);
    SC_CHECK(strstr(err, "not YAML") != NULL);
    path = write_tmp("- a\n- b\n");
    SC_CHECK_INT(sc_config_load_file(&cfg, path, err, sizeof(err)), -EINVAL);
    path = write_tmp("config: other.yaml\n");
    SC_CHECK_INT(sc_config_load_file(&cfg, path, err, sizeof(err)), -EINVAL);
    /* an empty file and a list (each item as one more flag: the last wins) */
    path = write_tmp("");
    SC_CHECK_INT(sc_config_load_file(&cfg, path, err, sizeof(err)), 0);
    path = write_tmp("udp-port: [20000, 30000]\n");
    SC_CHECK_INT(sc_config_load_file(&cfg, path, err, sizeof(err)), 0);
    SC_CHECK_INT(cfg.udp_port, 30000);
    SC_CHECK_INT(sc_config_load_file(&cfg, "/nonexistent.yaml", err, sizeof(err)), -EINVAL);
    SC_CHECK(strstr(err, "/nonexistent.yaml") != NULL);
    unlink(path);

    /* the shipped example reads */
    sc_config_defaults(&cfg);
    SC_CHECK_INT(sc_config_load_file(&cfg, SC_TEST_SOURCE_ROOT "/docs/stagecast.example.yaml",
                                     err, sizeof(err)),
                 0);
    SC_CHECK_INT(cfg.listen_port, 443);
    SC_CHECK_INT(cfg.http_redirect_port, 80);
}

static const char *lookup(const char *name, void *ud)
{
    const char *const *vars = ud;
    for (; *vars; vars += 2)
        if (strcmp(*vars, name) == 0)
            return vars[1];
    return NULL;
}

/* The same readers over bytes in memory and a lookup function (the fuzz
 * target's way in), and the checks of options that go together. */
static void test_config_buffers(void)
{
    static const char yaml[] = "workers: 2\nlog-format: json\n";
    const char *env[] = {"STAGECAST_WORKERS", "5", "STAGECAST_NO_UDP_GSO", "on", NULL};
    const char *bad[] = {"STAGECAST_MAX_BODY", "lots", NULL};
    sc_config cfg;
    char err[400];

    sc_config_defaults(&cfg);
    SC_CHECK_INT(sc_config_load_yaml(&cfg, "mem.yaml", yaml, sizeof(yaml) - 1, err, sizeof(err)),
                 0);
    SC_CHECK_INT(cfg.workers, 2);
    SC_CHECK_STR(cfg.log_format, "json");
    SC_CHECK_INT(sc__config_apply_env(&cfg, lookup, env, err, sizeof(err)), 0);
    SC_CHECK_INT(cfg.workers, 5);
    SC_CHECK_INT(cfg.no_udp_gso, 1);
    SC_CHECK_INT(sc__config_apply_env(&cfg, lookup, bad, err, sizeof(err)), -EINVAL);
    SC_CHECK(strstr(err, "(from STAGECAST_MAX_BODY)") != NULL);
    /* the length is the buffer's: what follows is not read */
    SC_CHECK_INT(sc_config_load_yaml(&cfg, "mem.yaml", "workers: 3\nnope: 1", 11, err,
                                     sizeof(err)),
                 0);
    SC_CHECK_INT(cfg.workers, 3);
    SC_CHECK_INT(sc_config_load_yaml(&cfg, "mem.yaml", "nope: 1\n", 8, err, sizeof(err)),
                 -EINVAL);
    SC_CHECK(strncmp(err, "mem.yaml:1: unknown key 'nope'", 30) == 0);
    SC_CHECK_INT(sc__config_check(&cfg, err, sizeof(err)), 0);
    snprintf(cfg.tls_cert, sizeof(cfg.tls_cert), "/etc/cert.pem");
    SC_CHECK_INT(sc__config_check(&cfg, err, sizeof(err)), -EINVAL);
    SC_CHECK_STR(err, "--tls-cert and --tls-key go together");
}

/* --max-connections-per-ip: derived unless given, on the command line, in
 * the file or the environment; 0 turns it off. */
static void test_connections_per_ip(void)
{
    static const char yaml[] = "max-connections-per-ip: 300\n";
    const char *env[] = {"STAGECAST_MAX_CONNECTIONS_PER_IP", "40", NULL};
    sc_config cfg;
    char err[400];

    SC_CHECK_INT(parse(&cfg, NULL, NULL, NULL), 0);
    SC_CHECK_INT(cfg.max_connections_per_ip, SC_DEFAULT_MAX_CONNECTIONS_PER_IP);
    SC_CHECK_INT(parse(&cfg, "--max-connections-per-ip", "64", NULL), 0);
    SC_CHECK_INT(cfg.max_connections_per_ip, 64);
    SC_CHECK_INT(parse(&cfg, "--max-connections-per-ip=0", NULL, NULL), 0);
    SC_CHECK_INT(cfg.max_connections_per_ip, 0);
    SC_CHECK_INT(parse(&cfg, "--max-connections-per-ip", "-1", NULL), -EINVAL);
    sc_config_defaults(&cfg);
    SC_CHECK_INT(sc_config_load_yaml(&cfg, "mem.yaml", yaml, sizeof(yaml) - 1, err, sizeof(err)),
                 0);
    SC_CHECK_INT(cfg.max_connections_per_ip, 300);
    SC_CHECK_INT(sc__config_apply_env(&cfg, lookup, env, err, sizeof(err)), 0);
    SC_CHECK_INT(cfg.max_connections_per_ip, 40);
}

static void test_token_options(void)
{
    sc_token_config t;
    char err[256];
    char *ok[] = {"--room", "demo", "--role", "viewer", "--ttl", "60"};
    char *norole[] = {"--room", "demo"};
    char *badrole[] = {"--room", "demo", "--role", "king"};
    char *badttl[] = {"--room", "demo", "--role", "viewer", "--ttl", "0"};

    sc_token_config_defaults(&t);
    SC_CHECK_INT(t.ttl, 86400);
    SC_CHECK_INT(sc_token_config_parse(&t, 6, ok, stdout, err, sizeof(err)), 0);
    SC_CHECK_STR(t.room, "demo");
    SC_CHECK_STR(t.role, "viewer");
    SC_CHECK_INT(t.ttl, 60);
    sc_token_config_defaults(&t);
    SC_CHECK_INT(sc_token_config_parse(&t, 2, norole, stdout, err, sizeof(err)), -EINVAL);
    sc_token_config_defaults(&t);
    SC_CHECK_INT(sc_token_config_parse(&t, 4, badrole, stdout, err, sizeof(err)), -EINVAL);
    sc_token_config_defaults(&t);
    SC_CHECK_INT(sc_token_config_parse(&t, 6, badttl, stdout, err, sizeof(err)), -EINVAL);
}

static void test_secret(void)
{
    char dir[] = "/tmp/sc-test-config-XXXXXX", data[300], file[400], err[256];
    uint8_t s1[SC_SECRET_MAX], s2[SC_SECRET_MAX];
    struct stat st;
    int n1, n2;

    if (!mkdtemp(dir))
        return;
    snprintf(data, sizeof(data), "%s/data", dir);
    n1 = sc_secret_load(data, NULL, s1, sizeof(s1), err, sizeof(err));
    SC_CHECK_INT(n1, SC_SECRET_LEN);
    snprintf(file, sizeof(file), "%s/secret", data);
    SC_CHECK_INT(stat(file, &st), 0);
    SC_CHECK_INT(st.st_mode & 0777, 0600);
    SC_CHECK_INT(st.st_size, 2 * SC_SECRET_LEN + 1);
    /* serve and token read the same secret back */
    n2 = sc_secret_load(data, NULL, s2, sizeof(s2), err, sizeof(err));
    SC_CHECK_INT(n2, n1);
    SC_CHECK(n1 > 0 && n2 == n1 && memcmp(s1, s2, (size_t)n1) == 0);

    /* --secret-file: hex decodes, raw bytes are used as they are, short
     * secrets are refused */
    snprintf(file, sizeof(file), "%s/hex", dir);
    FILE *f = fopen(file, "w");
    fputs("000102030405060708090a0b0c0d0e0f\n", f);
    fclose(f);
    SC_CHECK_INT(sc_secret_load(data, file, s2, sizeof(s2), err, sizeof(err)), 16);
    SC_CHECK(s2[0] == 0 && s2[15] == 15);
    snprintf(file, sizeof(file), "%s/raw", dir);
    f = fopen(file, "w");
    fputs("this is a long enough passphrase", f);
    fclose(f);
    SC_CHECK_INT(sc_secret_load(data, file, s2, sizeof(s2), err, sizeof(err)), 32);
    SC_CHECK(memcmp(s2, "this is", 7) == 0);
    snprintf(file, sizeof(file), "%s/short", dir);
    f = fopen(file, "w");
    fputs("short", f);
    fclose(f);
    SC_CHECK_INT(sc_secret_load(data, file, s2, sizeof(s2), err, sizeof(err)), -EINVAL);
    SC_CHECK(strstr(err, "short") != NULL);
    snprintf(file, sizeof(file), "%s/missing", dir);
    SC_CHECK(sc_secret_load(data, file, s2, sizeof(s2), err, sizeof(err)) < 0);

    /* a data "directory" that is a file */
    snprintf(file, sizeof(file), "%s/hex", dir);
    SC_CHECK(sc_data_dir_ensure(file, err, sizeof(err)) < 0);

    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

int main(void)
{
    test_serve_options();
    test_config_file();
    test_config_buffers();
    test_connections_per_ip();
    test_token_options();
    test_secret();
    SC_TEST_END();
}
