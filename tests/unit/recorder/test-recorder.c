/* The recorder fed synthetic sc_media_pkt packets from two threads (audio
 * and video, as two media workers would), checked with ffprobe / ffmpeg;
 * a .part file left by a crash is repaired at start. */
#include "recorder/recorder.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "recorder/webm.h"
#include "tests/unit/recorder/media.h"
#include "tests/unit/sc_test.h"

static char dir[] = "/tmp/sc-rec-XXXXXX";
static sc_recorder *rec;
#define BASE_MS 1000000u

static sc_media_pkt *make(uint16_t seq, uint32_t ts, uint32_t ssrc, bool marker,
                          const uint8_t *payload, size_t n)
{
    uint8_t b[1500];
    b[0] = 0x80;
    b[1] = (uint8_t)((marker ? 0x80 : 0) | 96);
    b[2] = (uint8_t)(seq >> 8);
    b[3] = (uint8_t)seq;
    for (int i = 0; i < 4; i++) {
        b[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
        b[8 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
    }
    memcpy(b + 12, payload, n);
    sc_media_pkt *p = sc_media_pkt_new_rtp(b, 12 + n);
    if (p) {
        snprintf(p->room, sizeof(p->room), "town/hall");
        p->slot = 1;
        p->generation = 7;
    }
    return p;
}

static void *audio_thread(void *arg)
{
    test_opus o;
    test_opus_init(&o);
    uint8_t frame[4000];
    uint32_t ts0 = 0xFFFF0000u; /* wraps during the test */
    for (int i = 0; i < 150; i++) {
        int n = test_opus_frame(&o, frame, sizeof(frame));
        sc_media_pkt *p = make((uint16_t)(60000 + i), ts0 + (uint32_t)i * 960, 0xA0A0, true,
                               frame, (size_t)n);
        p->recv_ms = BASE_MS + (uint64_t)i * 20;
        sc_recorder_push(rec, p);
        sc_media_pkt_unref(p);
    }
    test_opus_free(&o);
    return NULL;
}

static void *video_thread(void *arg)
{
    test_vp8 v;
    test_vp8_init(&v, 320, 240, 30);
    static uint8_t frame[256 * 1024];
    uint8_t payload[1200];
    uint16_t seq = 100;
    for (int i = 0; i < 90; i++) {
        bool key;
        size_t n = test_vp8_frame(&v, frame, sizeof(frame), &key);
        for (size_t off = 0; off < n;) {
            size_t k = n - off < 1000 ? n - off : 1000;
            payload[0] = off == 0 ? 0x10 : 0x00; /* S bit on the first packet */
            memcpy(payload + 1, frame + off, k);
            off += k;
            sc_media_pkt *p = make(seq++, 5000 + (uint32_t)i * 3000, 0xB0B0, off == n, payload,
                                   k + 1);
            p->video = true;
            p->codec = 0; /* SC_CODEC_VP8 */
            sc_vp8_parse(p->rtp.payload, p->rtp.payload_len, &p->desc);
            p->keyframe = p->desc.is_keyframe;
            p->recv_ms = BASE_MS + (uint64_t)i * 1000 / 30;
            sc_recorder_push(rec, p);
            sc_media_pkt_unref(p);
        }
    }
    test_vp8_free(&v);
    return NULL;
}

/* The writer thread closes a stopped file when it gets to it: wait for
 * that, as long as it takes on a busy machine (30 s at most). */
static void wait_file_done(sc_recorder_stats *st)
{
    for (uint64_t deadline = sc_mono_ms() + 30000;;) {
        sc_recorder_stats_get(rec, st);
        if (st->files_done >= 1 || sc_mono_ms() > deadline)
            return;
        usleep(20000);
    }
}

static int done_calls;
static int64_t done_duration;
static void on_done(void *ud, const sc_recording_info *info)
{
    done_calls++;
    done_duration = info->duration_ms;
    SC_CHECK_STR(info->room, "town/hall");
    SC_CHECK_INT(info->slot, 1);
}

/* The one .webm file under dir/<room>; false when not exactly one. */
static bool find_file(const char *room, char *path, size_t cap, int *count)
{
    char sub[300];
    snprintf(sub, sizeof(sub), "%s/%s", dir, room);
    DIR *d = opendir(sub);
    *count = 0;
    if (!d)
        return false;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            (*count)++;
            snprintf(path, cap, "%s/%s", sub, e->d_name);
        }
    closedir(d);
    return *count == 1;
}

static void test_two_threads(void)
{
    char err[256], path[600], errors[4096];
    rec = sc_recorder_new(dir, 0, err, sizeof(err));
    SC_CHECK(rec != NULL);
    if (!rec)
        return;
    sc_recorder_set_done_callback(rec, on_done, NULL);
    pthread_t a, v;
    pthread_create(&a, NULL, audio_thread, NULL);
    pthread_create(&v, NULL, video_thread, NULL);
    pthread_join(a, NULL);
    pthread_join(v, NULL);
    sc_recorder_stats st;
    sc_recorder_stats_get(rec, &st);
    SC_CHECK_INT(st.drops_queue_full, 0);
    SC_CHECK_INT(sc_recorder_stop_room(rec, "town/hall"), 0);
    wait_file_done(&st);
    SC_CHECK_INT(st.files_done, 1);
    SC_CHECK_INT(st.files_open, 0);
    SC_CHECK(!st.error);
    SC_CHECK(st.bytes_written > 10000);
    sc_recorder_free(rec);
    SC_CHECK_INT(done_calls, 1);
    SC_CHECK(done_duration >= 2950 && done_duration <= 3100);
    int count;
    SC_CHECK(find_file("town_hall", path, sizeof(path), &count));
    SC_CHECK(strstr(path, "-slot1.webm") != NULL);
    test_probe p;
    SC_CHECK_INT(test_ffprobe(path, &p), 0);
    SC_CHECK_INT(p.n_streams, 2);
    bool vp8 = !strcmp(p.codecs[0], "vp8") || !strcmp(p.codecs[1], "vp8");
    bool opus = !strcmp(p.codecs[0], "opus") || !strcmp(p.codecs[1], "opus");
    SC_CHECK(vp8 && opus);
    SC_CHECK(fabs(p.duration - 3.0) <= 0.1);
    SC_CHECK(fabs(p.start[0] - p.start[1]) <= 0.05);
    SC_CHECK(test_decodes(path, errors, sizeof(errors)));
    SC_CHECK(test_has_cues(path));
}

/* A stop applies after every packet queued before it: with 2,000 packets
 * waiting (far more than one writer batch), stopping right after them
 * gives one file with all of them, not a file closed after the first
 * batch and a second one opened for the rest. */
static int backlog_done;
static int64_t backlog_duration;
static void on_backlog_done(void *ud, const sc_recording_info *info)
{
    backlog_done++;
    backlog_duration = info->duration_ms;
}

static void test_stop_after_backlog(void)
{
    char err[256], path[600];
    rec = sc_recorder_new(dir, 0, err, sizeof(err));
    SC_CHECK(rec != NULL);
    if (!rec)
        return;
    sc_recorder_set_done_callback(rec, on_backlog_done, NULL);
    /* Made first, then queued in one go, so the writer is far behind. */
    enum { N = 2000 };
    static sc_media_pkt *pkts[N];
    test_opus o;
    test_opus_init(&o);
    uint8_t frame[4000];
    for (int i = 0; i < N; i++) {
        int n = test_opus_frame(&o, frame, sizeof(frame));
        pkts[i] = make((uint16_t)i, (uint32_t)i * 960, 0xB0B0, true, frame, (size_t)n);
        snprintf(pkts[i]->room, sizeof(pkts[i]->room), "backlog");
        pkts[i]->recv_ms = BASE_MS + (uint64_t)i * 20;
    }
    test_opus_free(&o);
    for (int i = 0; i < N; i++) {
        sc_recorder_push(rec, pkts[i]);
        sc_media_pkt_unref(pkts[i]);
    }
    SC_CHECK_INT(sc_recorder_stop_room(rec, "backlog"), 0);
    sc_recorder_stats st;
    wait_file_done(&st);
    SC_CHECK_INT(st.drops_queue_full, 0);
    sc_recorder_free(rec);
    SC_CHECK_INT(backlog_done, 1);
    SC_CHECK(backlog_duration >= 39900 && backlog_duration <= 40100);
    int count;
    SC_CHECK(find_file("backlog", path, sizeof(path), &count));
    SC_CHECK_INT(count, 1);
}

static void test_repair_at_start(void)
{
    char err[256], path[600];
    snprintf(path, sizeof(path), "%s/crashed", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/crashed/20240101T000000Z-slot0.webm.part", dir);
    pid_t pid = fork();
    if (pid == 0) {
        sc_webm_track t = {.codec = SC_WEBM_OPUS, .channels = 2, .sample_rate = 48000};
        sc_webm *w = sc_webm_open(path, &t, 1, NULL, 0);
        test_opus o;
        test_opus_init(&o);
        uint8_t f[4000];
        for (int i = 0; w && i < 150; i++) {
            int n = test_opus_frame(&o, f, sizeof(f));
            sc_webm_write(w, 0, i * 20, true, f, (size_t)n);
        }
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    rec = sc_recorder_new(dir, 0, err, sizeof(err));
    SC_CHECK(rec != NULL);
    sc_recorder_stats st;
    sc_recorder_stats_get(rec, &st);
    SC_CHECK_INT(st.files_repaired, 1);
    SC_CHECK(access(path, F_OK) < 0);
    path[strlen(path) - 5] = 0;
    SC_CHECK_INT(access(path, F_OK), 0);
    test_probe p;
    SC_CHECK_INT(test_ffprobe(path, &p), 0);
    SC_CHECK_INT(p.n_streams, 1);
    SC_CHECK(p.duration >= 1.9 && p.duration <= 3.0);
    sc_recorder_free(rec);
}

static void test_quota(void)
{
    char err[256];
    /* The dir already holds more than this quota: new streams are refused,
     * counted, and reported; nothing blocks or crashes. */
    rec = sc_recorder_new(dir, 1000, err, sizeof(err));
    SC_CHECK(rec != NULL);
    uint8_t payload[10] = {0xFC, 1, 2, 3};
    sc_media_pkt *p = make(1, 960, 0xC0C0, true, payload, sizeof(payload));
    snprintf(p->room, sizeof(p->room), "quota");
    sc_recorder_push(rec, p);
    sc_media_pkt_unref(p);
    sc_recorder_free(rec);
    /* free drained the queue first; stats are gone with it, so check the
     * directory: no file was created for "quota". */
    char path[600];
    int count;
    find_file("quota", path, sizeof(path), &count);
    SC_CHECK_INT(count, 0);
    SC_CHECK(sc_recorder_new("/proc/nonexistent/x", 0, err, sizeof(err)) == NULL);
}

/* A sender report pair that maps video 25 ms earlier than its first
 * anchor (as aiortc's can: its NTP is taken when the last packet left)
 * arrives 1.45 s in.  Video frames must still follow each other by their
 * RTP distance: ffmpeg refuses two frames of a 30 fps track 18 ms apart
 * ("non monotonically increasing dts"), seen in a CI run. */
static uint64_t ntp_of_ms(uint64_t ms)
{
    return (ms / 1000) << 32 | (((ms % 1000) << 32) / 1000);
}

static void push_to(sc_media_pkt *p, const char *room, uint64_t recv_ms)
{
    snprintf(p->room, sizeof(p->room), "%s", room);
    p->recv_ms = recv_ms;
    sc_recorder_push(rec, p);
    sc_media_pkt_unref(p);
}

static void test_sender_report_moves_video_back(void)
{
    char err[256], path[600], errors[4096];
    const char *room = "sr/shift";
    rec = sc_recorder_new(dir, 0, err, sizeof(err));
    SC_CHECK(rec != NULL);
    if (!rec)
        return;
    test_opus o;
    test_vp8 v;
    test_opus_init(&o);
    test_vp8_init(&v, 320, 240, 30);
    static uint8_t frame[256 * 1024];
    uint8_t payload[1200];
    uint16_t vseq = 100;
    int vi = 0;
    bool sent_sr = false;
    for (int ai = 0; ai < 150; ai++) {
        uint64_t now = BASE_MS + (uint64_t)ai * 20;
        int n = test_opus_frame(&o, frame, sizeof(frame));
        push_to(make((uint16_t)ai, (uint32_t)ai * 960, 0xA1A1, true, frame, (size_t)n), room, now);
        for (; BASE_MS + (uint64_t)vi * 1000 / 30 <= now; vi++) {
            bool key;
            size_t len = test_vp8_frame(&v, frame, sizeof(frame), &key);
            for (size_t off = 0; off < len;) {
                size_t k = len - off < 1000 ? len - off : 1000;
                payload[0] = off == 0 ? 0x10 : 0x00;
                memcpy(payload + 1, frame + off, k);
                off += k;
                sc_media_pkt *p = make(vseq++, 5000 + (uint32_t)vi * 3000, 0xB1B1, off == len,
                                       payload, k + 1);
                p->video = true;
                sc_vp8_parse(p->rtp.payload, p->rtp.payload_len, &p->desc);
                p->keyframe = p->desc.is_keyframe;
                push_to(p, room, now);
            }
        }
        if (!sent_sr && now >= BASE_MS + 1450) {
            /* audio RTP 48000 is 1 s; video RTP 95000 is 1 s too, but its
             * report says 25 ms earlier */
            sc_rtcp_sr a = {.ssrc = 0xA1A1, .ntp = ntp_of_ms(3600000 + 1000), .rtp_ts = 48000};
            sc_rtcp_sr vv = {.ssrc = 0xB1B1, .ntp = ntp_of_ms(3600000 + 1000 - 25),
                             .rtp_ts = 95000};
            sc_media_pkt *ps = sc_media_pkt_new_sr(&a), *pv = sc_media_pkt_new_sr(&vv);
            pv->video = true;
            ps->slot = pv->slot = 1;
            ps->generation = pv->generation = 7;
            push_to(ps, room, now);
            push_to(pv, room, now);
            sent_sr = true;
        }
    }
    test_opus_free(&o);
    test_vp8_free(&v);
    SC_CHECK_INT(sc_recorder_stop_room(rec, room), 0);
    sc_recorder_free(rec);
    int count;
    SC_CHECK(find_file("sr_shift", path, sizeof(path), &count));
    SC_CHECK(test_decodes(path, errors, sizeof(errors)));
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "ffprobe -v error -select_streams v -show_entries packet=pts_time -of csv=p=0 '%s'",
             path);
    FILE *f = popen(cmd, "r");
    double first = -1, last = -1, closest = 1e9, t;
    int frames = 0;
    while (f && fscanf(f, "%lf", &t) == 1) {
        if (last >= 0 && t - last < closest)
            closest = t - last;
        if (first < 0)
            first = t;
        last = t;
        frames++;
    }
    if (f)
        pclose(f);
    SC_CHECK(frames > 80);
    SC_CHECK(closest >= 0.0325); /* 3000 / 90000 s, to the file's 1 ms */
    /* ... and 33.3 ms on average, on the 30 fps grid (33 ms steps would
     * drift off it until ffmpeg's 1/30 s timestamps collide) */
    double mean = frames > 1 ? (last - first) / (frames - 1) : 0;
    SC_CHECK(mean >= 0.0332 && mean <= 0.0345);
    if (closest < 0.0325 || mean < 0.0332 || mean > 0.0345)
        fprintf(stderr, "video frames %.4f s apart at the closest, %.4f on average\n", closest,
                mean);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    test_two_threads();
    test_stop_after_backlog();
    test_repair_at_start();
    test_quota();
    test_sender_report_moves_video_back();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (!getenv("SC_TEST_KEEP") && system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    SC_TEST_END();
}
