/* loadgen --class: a class in breakout groups (docs/protocol.md, "Breakout
 * groups").  Every participant publishes into its group and receives its
 * group-mates; then a trainer moves participants one at a time and the
 * switch is timed: from the request to the first packet of the new group's
 * media at the participant.
 *
 * Against Stagecast each participant has one /ws connection (a viewer token
 * of its own user id), subscribes with the class's view_slots pairs, and
 * publishes once groups_open has put it in its group; a trainer connection
 * (presenter token) creates, assigns and opens the groups and moves
 * participants (group_move).  Against Janus (--target janus) each group is
 * a VideoRoom: a participant publishes into its group's room and subscribes
 * to the other members' feeds; a switch is a new subscription in another
 * room (the old one hung up). */
#ifndef LG_CLASS_H
#define LG_CLASS_H

#include <stdbool.h>
#include <stdint.h>

#define LG_CLASS_MAX 256      /* participants */

typedef struct lg_class_opts {
    const char *host;
    int port;
    const char *room;          /* Stagecast: the class room */
    const char *admin_token;   /* Stagecast: GET /api/stats */
    const char *trainer_token; /* Stagecast: a token with moderate (presenter) */
    const char *token_cmd;     /* Stagecast: prints participant i's token; "{i}" becomes i */
    int server_pid;            /* CPU and RSS from /proc */
    int groups, group_size;
    int moves;                 /* switches timed after the window */
    double move_gap;           /* seconds from one switch to the next */
    double join_rate, duration, settle;
    int sample_every;
    int clip_seconds, width, height, fps, video_kbps, audio_kbps;
    bool json;
    bool janus;
    uint64_t janus_room;       /* the first group's VideoRoom id; the others follow */
} lg_class_opts;

/* Run the class and print the report (JSON on stdout with json, a summary
 * on stderr).  The process exit code: 0, or 1 when the class could not be
 * set up. */
int lg_class_run(const lg_class_opts *o);

#endif
