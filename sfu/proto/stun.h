/* ICE-lite STUN handling (RFC 8445 / 5389 / 7675) on top of libnice's STUN
 * library (stun/stunagent.h, stun/usages/ice.h).  Stateless functions; the
 * worker owns the sockets and the ufrag table. */
#ifndef SC_STUN_H
#define SC_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* True when the first byte marks a STUN message (RFC 7983: 0..3) and the
 * length is at least a STUN header. */
bool sc_stun_is_stun(const uint8_t *buf, size_t len);

/* Extract the USERNAME of a Binding request ("<our-ufrag>:<peer-ufrag>")
 * without checking integrity, to find the transport whose password will
 * check it.  Copies our ufrag (the part before ':') into local_ufrag.
 * Returns 0, -EINVAL if the message is malformed (attribute lengths that
 * overrun, etc., RELIABILITY 12), -ENOENT if it is not a Binding request or
 * has no USERNAME. */
int sc_stun_local_ufrag(const uint8_t *buf, size_t len, char *local_ufrag, size_t cap);

typedef struct sc_stun_request {
    bool use_candidate;   /* USE-CANDIDATE present */
    bool controlling;     /* ICE-CONTROLLING present */
    uint32_t priority;
    char remote_ufrag[257];
} sc_stun_request;

/* Validate a Binding request for our ICE-lite agent: USERNAME must be
 * "<local_ufrag>:<anything>", MESSAGE-INTEGRITY must verify with local_pwd,
 * FINGERPRINT (if present) must match, nothing after MESSAGE-INTEGRITY but
 * FINGERPRINT.  On success writes a Binding success response with
 * XOR-MAPPED-ADDRESS = from, MESSAGE-INTEGRITY and FINGERPRINT into out and
 * returns its length; fills *req.  Returns -EINVAL for a malformed message,
 * -EACCES for a bad username/integrity/fingerprint, -ENOSPC if cap is small.
 * An ICE-CONTROLLED request (both sides controlled) gets a 487 Role Conflict
 * error response instead: the return value is still its length and
 * req->controlling is false. */
int sc_stun_answer_binding(const uint8_t *buf, size_t len, const char *local_ufrag,
                           const char *local_pwd, const struct sockaddr *from,
                           socklen_t fromlen, uint8_t *out, size_t cap, sc_stun_request *req);

#endif
