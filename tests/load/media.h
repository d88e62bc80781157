/* The load stream: VP8 (libvpx, realtime) from a synthetic moving picture
 * and Opus from a sine, cut into RTP payloads.  One encoder pair serves
 * every publisher of a run.  In clip mode co-hosts send different frames of
 * the clip at each instant (lg_media_video_frame_shifted), as independent
 * cameras would: had they all sent the same frame at once, a viewer's
 * packets from all of them would have the same lengths back to back, and
 * the server would send them as one UDP GSO run, which real co-hosts never
 * give it. */
#ifndef LG_MEDIA_H
#define LG_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LG_MAX_PAYLOAD 1100   /* RTP payload per packet, before the trailer */
#define LG_MAX_FRAME_PKTS 256

typedef struct lg_payload {
    uint16_t len;
    bool marker;               /* last packet of the frame */
    uint8_t data[LG_MAX_PAYLOAD];
} lg_payload;

typedef struct lg_frame {
    int n;
    bool keyframe;
    uint32_t ts90k;            /* frame timestamp, 90 kHz, from 0 */
    size_t bytes;
    lg_payload pkts[LG_MAX_FRAME_PKTS];
} lg_frame;

typedef struct lg_media lg_media;

lg_media *lg_media_new(int width, int height, int fps, int video_kbps, int audio_kbps);
void lg_media_free(lg_media *m);

/* Clip mode: encode `frames` pictures now (after the rate control has
 * settled) and a keyframe; from then on lg_media_video_frame sends them in
 * a loop, the keyframe when one is asked for, and encodes nothing.  The
 * stream is the same as live (the payloads are not decoded: loadgen adds a
 * trailer) at a fraction of the CPU.  0 or a negative errno. */
int lg_media_make_clip(lg_media *m, int frames);

/* The next frame is a keyframe (the server's PLI / FIR). */
void lg_media_force_keyframe(lg_media *m);

/* Encode the next picture and packetize it (VP8 payload descriptor with a
 * 15-bit picture id, RFC 7741).  0 or a negative errno. */
int lg_media_video_frame(lg_media *m, lg_frame *out);

/* Clip mode: the frame `shift` frames further in the clip than the one
 * lg_media_video_frame returned last (the keyframe if that was the
 * keyframe), with its timestamp and picture id: another co-host's picture at
 * the same instant.  -EINVAL in live mode or before the first frame. */
int lg_media_video_frame_shifted(const lg_media *m, int shift, lg_frame *out);

/* Clip mode: the clip's keyframe at the instant of the frame
 * lg_media_video_frame returned last (its timestamp and picture id): one
 * publisher's answer to a keyframe request while the others go on with
 * their frames.  -EINVAL in live mode or before the first frame. */
int lg_media_clip_keyframe(const lg_media *m, lg_frame *out);

/* Frames in the clip (0: live mode). */
int lg_media_clip_frames(const lg_media *m);

/* Encode the next 20 ms of audio into out.  Returns its length or < 0. */
int lg_media_audio_frame(lg_media *m, uint8_t *out, size_t cap);

#endif
