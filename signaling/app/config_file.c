/* The --config file: YAML (libyaml's event parser), one mapping of option
 * names (the flags without "--") to values.  Each entry is applied through
 * the same option table as the command line, so a key is valid exactly
 * when its flag is, with the same limits and messages, and errors name the
 * file and line. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "signaling/app/config.h"

typedef struct reader {
    yaml_parser_t parser;
    yaml_event_t event;
    bool have_event;
    const char *path;
    char *err;
    size_t errlen;
} reader;

static int fail(reader *rd, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(reader *rd, size_t line, const char *fmt, ...)
{
    char msg[300];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(rd->err, rd->errlen, "%s:%zu: %s", rd->path, line + 1, msg);
    return -EINVAL;
}

/* The next event; the previous one is freed. */
static int next(reader *rd)
{
    if (rd->have_event)
        yaml_event_delete(&rd->event);
    rd->have_event = false;
    if (!yaml_parser_parse(&rd->parser, &rd->event))
        return fail(rd, rd->parser.problem_mark.line, "not YAML: %s",
                    rd->parser.problem ? rd->parser.problem : "parse error");
    rd->have_event = true;
    return 0;
}

/* One value for option `key` (a scalar event now current). */
static int apply_scalar(reader *rd, sc_config *cfg, const char *key, size_t line)
{
    const char *v = (const char *)rd->event.data.scalar.value;
    char why[256];
    bool exists, on;

    if (sc__config_is_flag(key, &exists)) {
        if (sc__config_bool(v, &on) < 0)
            return fail(rd, line, "%s: expected true or false, got '%s'", key, v);
        if (on && sc__config_apply(cfg, key, NULL, why, sizeof(why)) < 0)
            return fail(rd, line, "%s", why);
        return 0;
    }
    if (sc__config_apply(cfg, key, v, why, sizeof(why)) < 0)
        return fail(rd, line, "%s", why);
    return 0;
}

static int read_mapping(reader *rd, sc_config *cfg)
{
    char key[96];
    size_t line;
    bool exists;
    int r;

    for (;;) {
        if ((r = next(rd)) < 0)
            return r;
        if (rd->event.type == YAML_MAPPING_END_EVENT)
            return 0;
        line = rd->event.start_mark.line;
        if (rd->event.type != YAML_SCALAR_EVENT)
            return fail(rd, line, "expected an option name");
        snprintf(key, sizeof(key), "%s", (const char *)rd->event.data.scalar.value);
        sc__config_is_flag(key, &exists);
        if (!exists || strcmp(key, "config") == 0)
            return fail(rd, line, "unknown key '%s' (the options of `stagecast serve --help`, "
                                  "without --)", key);
        if ((r = next(rd)) < 0)
            return r;
        line = rd->event.start_mark.line;
        if (rd->event.type == YAML_SCALAR_EVENT) {
            if ((r = apply_scalar(rd, cfg, key, line)) < 0)
                return r;
        } else if (rd->event.type == YAML_SEQUENCE_START_EVENT) {
            /* A list: each item as if the flag were given once more. */
            for (;;) {
                if ((r = next(rd)) < 0)
                    return r;
                if (rd->event.type == YAML_SEQUENCE_END_EVENT)
                    break;
                if (rd->event.type != YAML_SCALAR_EVENT)
                    return fail(rd, rd->event.start_mark.line,
                                "%s: list items must be plain values", key);
                if ((r = apply_scalar(rd, cfg, key, rd->event.start_mark.line)) < 0)
                    return r;
            }
        } else {
            return fail(rd, line, "%s: expected a value or a list of values", key);
        }
    }
}

/* Reads the document rd's parser has as its input. */
static int load(reader *rd, sc_config *cfg)
{
    /* stream start, then a document holding one mapping (or nothing) */
    int r = next(rd);

    while (r == 0 && rd->event.type != YAML_MAPPING_START_EVENT &&
           rd->event.type != YAML_STREAM_END_EVENT) {
        if (rd->event.type != YAML_STREAM_START_EVENT &&
            rd->event.type != YAML_DOCUMENT_START_EVENT) {
            r = fail(rd, rd->event.start_mark.line, "expected `option: value` lines");
            break;
        }
        r = next(rd);
    }
    if (r == 0 && rd->event.type == YAML_MAPPING_START_EVENT)
        r = read_mapping(rd, cfg);
    if (rd->have_event)
        yaml_event_delete(&rd->event);
    yaml_parser_delete(&rd->parser);
    return r;
}

int sc_config_load_file(sc_config *cfg, const char *path, char *err, size_t errlen)
{
    reader rd = {.path = path, .err = err, .errlen = errlen};
    FILE *f = fopen(path, "rb");
    int r;

    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -EINVAL;
    }
    if (!yaml_parser_initialize(&rd.parser)) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return -EINVAL;
    }
    yaml_parser_set_input_file(&rd.parser, f);
    r = load(&rd, cfg);
    fclose(f);
    return r;
}

int sc_config_load_yaml(sc_config *cfg, const char *name, const char *buf, size_t len, char *err,
                        size_t errlen)
{
    reader rd = {.path = name, .err = err, .errlen = errlen};

    if (!yaml_parser_initialize(&rd.parser)) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -EINVAL;
    }
    yaml_parser_set_input_string(&rd.parser, (const unsigned char *)buf, len);
    return load(&rd, cfg);
}
