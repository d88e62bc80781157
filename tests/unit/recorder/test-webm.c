/* The WebM writer: real VP8 and Opus frames, checked by ffprobe / ffmpeg;
 * a writer killed mid-file, then repaired. */
#include "recorder/webm.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "tests/unit/recorder/media.h"
#include "tests/unit/sc_test.h"

static char dir[] = "/tmp/sc-webm-XXXXXX";

/* Write `ms` of interleaved media (30 fps VP8, keyframe every kf frames,
 * 20 ms Opus).  Returns the timestamp of the last video keyframe. */
static int64_t write_media(sc_webm *w, int ms, int kf)
{
    test_vp8 v;
    test_opus o;
    static uint8_t frame[256 * 1024];
    int64_t last_key = -1;
    if (test_vp8_init(&v, 160, 120, kf) < 0 || test_opus_init(&o) < 0)
        return -1;
    int vi = 0, ai = 0;
    for (;;) {
        int64_t vts = (int64_t)vi * 1000 / 30, ats = (int64_t)ai * 20;
        if (vts >= ms && ats >= ms)
            break;
        if (vts <= ats) {
            bool key;
            size_t n = test_vp8_frame(&v, frame, sizeof(frame), &key);
            if (n && sc_webm_write(w, 0, vts, key, frame, n) == 0 && key)
                last_key = vts;
            vi++;
        } else {
            int n = test_opus_frame(&o, frame, 4000);
            if (n > 0)
                sc_webm_write(w, 1, ats, true, frame, (size_t)n);
            ai++;
        }
    }
    test_vp8_free(&v);
    test_opus_free(&o);
    return last_key;
}

static void tracks_vp8_opus(sc_webm_track t[2])
{
    memset(t, 0, 2 * sizeof(*t));
    t[0].codec = SC_WEBM_VP8;
    t[0].width = 160;
    t[0].height = 120;
    t[1].codec = SC_WEBM_OPUS;
    t[1].channels = 2;
    t[1].sample_rate = 48000;
    t[1].opus_pre_skip = 312;
}

static void test_write_close(void)
{
    char path[256], err[256], errors[4096];
    snprintf(path, sizeof(path), "%s/clean.webm", dir);
    sc_webm_track t[2];
    tracks_vp8_opus(t);
    sc_webm *w = sc_webm_open(path, t, 2, err, sizeof(err));
    SC_CHECK(w != NULL);
    if (!w)
        return;
    SC_CHECK(write_media(w, 5000, 30) >= 4000);
    SC_CHECK(sc_webm_duration_ms(w) >= 4990 && sc_webm_duration_ms(w) <= 5040);
    SC_CHECK_INT(sc_webm_write(w, 7, 0, false, (const uint8_t *)"x", 1), -EINVAL);
    SC_CHECK_INT(sc_webm_close(w), 0);
    test_probe p;
    SC_CHECK_INT(test_ffprobe(path, &p), 0);
    SC_CHECK_INT(p.n_streams, 2);
    SC_CHECK_STR(p.codecs[0], "vp8");
    SC_CHECK_STR(p.codecs[1], "opus");
    SC_CHECK(fabs(p.duration - 5.0) <= 0.1);
    SC_CHECK(test_decodes(path, errors, sizeof(errors)));
    SC_CHECK(test_has_cues(path));

    /* Seeking into the middle decodes from the keyframe before it. */
    char cmd[512], out[4096];
    snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -ss 3.5 -i '%s' -f null - 2>&1", path);
    SC_CHECK_INT(test_run(cmd, out, sizeof(out)), 0);
    SC_CHECK_STR(out, "");

    /* Repairing a finished file changes nothing that matters. */
    int64_t d = 0;
    SC_CHECK_INT(sc_webm_repair(path, &d, err, sizeof(err)), 0);
    SC_CHECK(d >= 4990 && d <= 5040);
    SC_CHECK_INT(test_ffprobe(path, &p), 0);
    SC_CHECK(fabs(p.duration - 5.0) <= 0.1);
    SC_CHECK(test_has_cues(path));
}

/* A track added after the file started (video arriving after audio) and
 * parameters set at the first keyframe. */
static void test_late_track(void)
{
    char path[256], err[256], errors[4096];
    snprintf(path, sizeof(path), "%s/late.webm", dir);
    sc_webm_track t[2];
    tracks_vp8_opus(t);
    sc_webm *w = sc_webm_open(path, &t[1], 1, err, sizeof(err));
    SC_CHECK(w != NULL);
    if (!w)
        return;
    uint8_t pkt[4000];
    test_opus o;
    test_opus_init(&o);
    for (int i = 0; i < 10; i++) {
        int n = test_opus_frame(&o, pkt, sizeof(pkt));
        SC_CHECK_INT(sc_webm_write(w, 0, i * 20, true, pkt, (size_t)n), 0);
    }
    test_opus_free(&o);
    t[0].width = 0;
    int vi = sc_webm_add_track(w, &t[0]);
    SC_CHECK_INT(vi, 1);
    t[0].width = 160;
    SC_CHECK_INT(sc_webm_set_track(w, vi, &t[0]), 0);
    /* Audio keeps its index 0, video is index 1 here. */
    test_vp8 v;
    test_vp8_init(&v, 160, 120, 30);
    static uint8_t frame[256 * 1024];
    for (int i = 0; i < 30; i++) {
        bool key;
        size_t n = test_vp8_frame(&v, frame, sizeof(frame), &key);
        SC_CHECK_INT(sc_webm_write(w, vi, 200 + i * 33, key, frame, n), 0);
    }
    test_vp8_free(&v);
    SC_CHECK_INT(sc_webm_close(w), 0);
    test_probe p;
    SC_CHECK_INT(test_ffprobe(path, &p), 0);
    SC_CHECK_INT(p.n_streams, 2);
    SC_CHECK_STR(p.codecs[0], "opus");
    SC_CHECK_STR(p.codecs[1], "vp8");
    SC_CHECK(fabs(p.start[1] - 0.2) <= 0.01);
    SC_CHECK(test_decodes(path, errors, sizeof(errors)));
}

/* The writer is killed (no close): repair keeps every complete cluster. */
static void test_crash_repair(bool torn_tail)
{
    char path[256], err[256], errors[4096];
    snprintf(path, sizeof(path), "%s/crash%d.webm", dir, torn_tail);
    int fds[2];
    SC_CHECK_INT(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        sc_webm_track t[2];
        tracks_vp8_opus(t);
        sc_webm *w = sc_webm_open(path, t, 2, NULL, 0);
        int64_t last_key = w ? write_media(w, 4000, 30) : -1;
        if (write(fds[1], &last_key, sizeof(last_key)) < 0)
            _exit(2);
        _exit(0); /* as if killed: no close, no Cues, no sizes */
    }
    close(fds[1]);
    int64_t last_key = -1;
    SC_CHECK_INT(read(fds[0], &last_key, sizeof(last_key)), (long long)sizeof(last_key));
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    SC_CHECK(last_key >= 2900);
    if (torn_tail) {
        /* Half a cluster: its header promises more bytes than follow. */
        int fd = open(path, O_WRONLY | O_APPEND);
        static const uint8_t half[] = {0x1F, 0x43, 0xB6, 0x75, 0x01, 0, 0, 0, 0, 0, 0x10, 0,
                                       0xE7, 0x82, 0x0F, 0xA0, 0xA3, 0x90};
        SC_CHECK_INT(write(fd, half, sizeof(half)), (long long)sizeof(half));
        close(fd);
    }
    /* Before repair the file has no Cues. */
    SC_CHECK(!test_has_cues(path));
    int64_t d = 0;
    SC_CHECK_INT(sc_webm_repair(path, &d, err, sizeof(err)), 0);
    /* The unfinished cluster began at the last keyframe: everything before
     * it is kept. */
    SC_CHECK(llabs(d - last_key) <= 40);
    test_probe p;
    SC_CHECK_INT(test_ffprobe(path, &p), 0);
    SC_CHECK_INT(p.n_streams, 2);
    SC_CHECK(fabs(p.duration - (double)last_key / 1000.0) <= 0.1);
    SC_CHECK(test_decodes(path, errors, sizeof(errors)));
    SC_CHECK(test_has_cues(path));
}

static void test_bad_input(void)
{
    char path[256], err[256];
    snprintf(path, sizeof(path), "%s/nodir/x.webm", dir);
    SC_CHECK(sc_webm_open(path, NULL, 0, err, sizeof(err)) == NULL);
    SC_CHECK(strstr(err, "open") != NULL);
    snprintf(path, sizeof(path), "%s/junk.webm", dir);
    FILE *f = fopen(path, "wb");
    fputs("not a webm file at all", f);
    fclose(f);
    SC_CHECK_INT(sc_webm_repair(path, NULL, err, sizeof(err)), -EINVAL);
    /* A file cut inside its headers: not ours to finish. */
    sc_webm_track t[2];
    tracks_vp8_opus(t);
    snprintf(path, sizeof(path), "%s/cut.webm", dir);
    sc_webm *w = sc_webm_open(path, t, 2, err, sizeof(err));
    SC_CHECK(w != NULL);
    sc_webm_close(w);
    SC_CHECK_INT(truncate(path, 100), 0);
    SC_CHECK_INT(sc_webm_repair(path, NULL, err, sizeof(err)), -EINVAL);

    uint8_t sps[] = {0x67, 0x42, 0xC0, 0x1E}, pps[] = {0x68, 0xCE}, out[64];
    SC_CHECK_INT(sc_webm_avcc(sps, sizeof(sps), pps, sizeof(pps), out, sizeof(out)), 17);
    SC_CHECK_INT(out[1], 0x42);
    SC_CHECK_INT(sc_webm_avcc(sps, 3, pps, sizeof(pps), out, sizeof(out)), -EINVAL);
    SC_CHECK_INT(sc_webm_avcc(sps, sizeof(sps), pps, sizeof(pps), out, 10), -ENOSPC);
    uint16_t ww, hh;
    SC_CHECK_INT(sc_webm_h264_sps_size(sps, sizeof(sps), &ww, &hh), -EINVAL);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    test_write_close();
    test_late_track();
    test_crash_repair(false);
    test_crash_repair(true);
    test_bad_input();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    SC_TEST_END();
}
