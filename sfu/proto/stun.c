/* ICE-lite STUN: answer Binding requests (RFC 8445 / 5389) with libnice's
 * STUN library doing the message work.
 *
 * libnice is lax in places a public-facing server cannot be, so every
 * message first goes through our own walk (stun_walk) which enforces:
 *   - header: first two bits 0, magic cookie, length field == datagram,
 *     length a multiple of 4, at most SC_STUN_MAX_LEN bytes;
 *   - every attribute header and padded value inside the message;
 *   - MESSAGE-INTEGRITY exactly 20 bytes (stun_agent_validate memcmp()s
 *     20 bytes at the attribute without checking its length, so a short MI
 *     at the end of a datagram would be read past);
 *   - nothing after MESSAGE-INTEGRITY but FINGERPRINT, nothing after
 *     FINGERPRINT (stun_message_find() merely stops looking there, and
 *     stun_agent_validate accepts such messages);
 *   - FINGERPRINT exactly 4 bytes, USERNAME under 513 bytes.
 * We also check MESSAGE-INTEGRITY ourselves with a constant-time compare
 * before libnice's memcmp() sees it, and refuse an empty password
 * (stun_agent_validate skips the integrity check when the key is empty). */
#include "sfu/proto/stun.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/types.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stun/stunagent.h>
#include <stun/stunmessage.h>
#include <stun/usages/ice.h>

#define SC_STUN_HDR 20
#define SC_STUN_COOKIE 0x2112A442u
#define SC_STUN_MAX_LEN 2048     /* checks from browsers are ~100-200 bytes */
#define SC_STUN_MAX_ATTRS 64
#define SC_STUN_USERNAME_MAX 512 /* RFC 5389 15.3: less than 513 bytes */
#define SC_STUN_FPR_XOR 0x5354554eu

/* Comprehension-required attributes we understand in a Binding request;
 * libnice refuses the request when it carries any other (RFC 5389 7.3.1). */
static const uint16_t sc_stun_known_attrs[] = {
    STUN_ATTRIBUTE_USERNAME,       STUN_ATTRIBUTE_MESSAGE_INTEGRITY,
    STUN_ATTRIBUTE_PRIORITY,       STUN_ATTRIBUTE_USE_CANDIDATE,
    STUN_ATTRIBUTE_ICE_CONTROLLED, STUN_ATTRIBUTE_ICE_CONTROLLING,
    STUN_ATTRIBUTE_FINGERPRINT,    STUN_ATTRIBUTE_SOFTWARE,
    0,
};

/* What the walk learned about a structurally valid message. */
typedef struct stun_layout {
    uint16_t type;
    const uint8_t *username;
    size_t username_len;
    size_t mi_off;   /* offset of the MESSAGE-INTEGRITY attribute header, 0 if none */
    size_t fpr_off;  /* offset of the FINGERPRINT attribute header, 0 if none */
    bool has_priority, has_controlling, has_controlled;
} stun_layout;

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool sc_stun_is_stun(const uint8_t *buf, size_t len)
{
    return buf && len >= SC_STUN_HDR && buf[0] <= 3;
}

/* Structural validation of a whole datagram; see the comment at the top.
 * Returns 0 or -EINVAL. */
static int stun_walk(const uint8_t *buf, size_t len, stun_layout *lay)
{
    memset(lay, 0, sizeof(*lay));
    if (!buf || len < SC_STUN_HDR || len > SC_STUN_MAX_LEN)
        return -EINVAL;
    if (buf[0] & 0xc0)
        return -EINVAL;
    if (get32(buf + 4) != SC_STUN_COOKIE)
        return -EINVAL; /* RFC 3489 messages: not from a WebRTC agent */
    size_t mlen = get16(buf + 2);
    if (mlen % 4 != 0 || mlen + SC_STUN_HDR != len)
        return -EINVAL;
    lay->type = get16(buf);

    size_t off = SC_STUN_HDR;
    unsigned count = 0;
    while (off < len) {
        if (len - off < 4 || ++count > SC_STUN_MAX_ATTRS)
            return -EINVAL;
        uint16_t at = get16(buf + off);
        size_t alen = get16(buf + off + 2);
        size_t padded = (alen + 3) & ~(size_t)3;
        if (padded > len - off - 4)
            return -EINVAL;
        if (lay->fpr_off)
            return -EINVAL; /* nothing may follow FINGERPRINT */
        if (lay->mi_off && at != STUN_ATTRIBUTE_FINGERPRINT)
            return -EINVAL; /* only FINGERPRINT may follow MESSAGE-INTEGRITY */
        switch (at) {
        case STUN_ATTRIBUTE_MESSAGE_INTEGRITY:
            if (alen != 20)
                return -EINVAL;
            lay->mi_off = off;
            break;
        case STUN_ATTRIBUTE_FINGERPRINT:
            if (alen != 4)
                return -EINVAL;
            lay->fpr_off = off;
            break;
        case STUN_ATTRIBUTE_USERNAME:
            if (alen > SC_STUN_USERNAME_MAX || lay->username)
                return -EINVAL;
            lay->username = buf + off + 4;
            lay->username_len = alen;
            break;
        case STUN_ATTRIBUTE_PRIORITY:
            if (alen != 4)
                return -EINVAL;
            lay->has_priority = true;
            break;
        case STUN_ATTRIBUTE_ICE_CONTROLLING:
            if (alen != 8)
                return -EINVAL;
            lay->has_controlling = true;
            break;
        case STUN_ATTRIBUTE_ICE_CONTROLLED:
            if (alen != 8)
                return -EINVAL;
            lay->has_controlled = true;
            break;
        case STUN_ATTRIBUTE_USE_CANDIDATE:
            if (alen != 0)
                return -EINVAL;
            break;
        default:
            break;
        }
        off += 4 + padded;
    }
    return 0;
}

static bool is_binding_request(uint16_t type)
{
    /* Method bits 0x0001, class bits (0x0110) both zero: request. */
    return type == 0x0001;
}

/* CRC-32 (IEEE 802.3, reflected), as RFC 5389 15.5 asks; libnice does not
 * export its own.  Bitwise: messages are at most SC_STUN_MAX_LEN bytes. */
static uint32_t stun_crc32(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static bool fingerprint_ok(const uint8_t *buf, const stun_layout *lay)
{
    uint32_t want = stun_crc32(buf, lay->fpr_off) ^ SC_STUN_FPR_XOR;
    return get32(buf + lay->fpr_off + 4) == want;
}

/* RFC 5389 15.4: HMAC-SHA1 over the message up to MESSAGE-INTEGRITY, with
 * the header length covering MESSAGE-INTEGRITY (not FINGERPRINT). */
static bool integrity_ok(const uint8_t *buf, const stun_layout *lay, const char *pwd)
{
    uint8_t tmp[SC_STUN_MAX_LEN];
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    size_t covered = lay->mi_off + 24 - SC_STUN_HDR;

    memcpy(tmp, buf, lay->mi_off);
    tmp[2] = (uint8_t)(covered >> 8);
    tmp[3] = (uint8_t)covered;
    if (!HMAC(EVP_sha1(), pwd, (int)strlen(pwd), tmp, lay->mi_off, mac, &maclen) ||
        maclen != 20)
        return false;
    return CRYPTO_memcmp(mac, buf + lay->mi_off + 4, 20) == 0;
}

/* Split "<ours>:<theirs>": returns the length of <ours>, or -1. */
static ssize_t username_split(const uint8_t *u, size_t n)
{
    const uint8_t *colon = memchr(u, ':', n);
    if (!colon || colon == u)
        return -1;
    return colon - u;
}

int sc_stun_local_ufrag(const uint8_t *buf, size_t len, char *local_ufrag, size_t cap)
{
    stun_layout lay;
    int r = stun_walk(buf, len, &lay);
    if (r < 0)
        return r;
    if (!is_binding_request(lay.type) || !lay.username)
        return -ENOENT;
    ssize_t n = username_split(lay.username, lay.username_len);
    if (n < 0 || memchr(lay.username, '\0', (size_t)n))
        return -EINVAL;
    if (!local_ufrag || (size_t)n >= cap)
        return -ENOSPC;
    memcpy(local_ufrag, lay.username, (size_t)n);
    local_ufrag[n] = '\0';
    return 0;
}

typedef struct stun_creds {
    const char *ufrag;
    const char *pwd;
} stun_creds;

/* libnice asks us for the key of a USERNAME: ours only if it starts with
 * "<local_ufrag>:". */
static bool stun_validater(StunAgent *agent, StunMessage *msg, uint8_t *username,
                           uint16_t username_len, uint8_t **password, size_t *password_len,
                           void *user_data)
{
    const stun_creds *c = user_data;
    size_t ul = strlen(c->ufrag);
    (void)agent;
    (void)msg;
    if (!username || username_len <= ul || memcmp(username, c->ufrag, ul) != 0 ||
        username[ul] != ':')
        return false;
    *password = (uint8_t *)c->pwd;
    *password_len = strlen(c->pwd);
    return true;
}

static int validation_errno(StunValidationStatus st)
{
    switch (st) {
    case STUN_VALIDATION_SUCCESS:
        return 0;
    case STUN_VALIDATION_UNAUTHORIZED:
    case STUN_VALIDATION_UNAUTHORIZED_BAD_REQUEST:
        return -EACCES;
    default:
        return -EINVAL;
    }
}

/* Room for a reply: header, XOR-MAPPED-ADDRESS (IPv6) or ERROR-CODE,
 * MESSAGE-INTEGRITY, FINGERPRINT. */
#define SC_STUN_REPLY_MAX (SC_STUN_HDR + 4 + 64 + 24 + 8)

static int build_reply(StunMessage *req, bool role_conflict, const struct sockaddr *from,
                       socklen_t fromlen, uint8_t *out, size_t cap)
{
    StunAgent tx;
    StunMessage resp;

    /* A separate agent so the reply always carries FINGERPRINT, even when
     * the request (legitimately, RFC 5389) had none. */
    stun_agent_init(&tx, sc_stun_known_attrs, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
    if (role_conflict) {
        if (!stun_agent_init_error(&tx, &resp, out, cap, req, STUN_ERROR_ROLE_CONFLICT))
            return -ENOSPC;
    } else {
        if (!stun_agent_init_response(&tx, &resp, out, cap, req))
            return -ENOSPC;
        StunMessageReturn mr = stun_message_append_xor_addr(
            &resp, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, (const struct sockaddr_storage *)from,
            fromlen);
        if (mr == STUN_MESSAGE_RETURN_NOT_ENOUGH_SPACE)
            return -ENOSPC;
        if (mr != STUN_MESSAGE_RETURN_SUCCESS)
            return -EINVAL;
    }
    /* NULL key: libnice signs with the request's key (the password). */
    size_t n = stun_agent_finish_message(&tx, &resp, NULL, 0);
    if (n == 0)
        return -ENOSPC;
    return (int)n;
}

static int check_from(const struct sockaddr *from, socklen_t fromlen)
{
    if (!from)
        return -EINVAL;
    if (from->sa_family == AF_INET && fromlen >= (socklen_t)sizeof(struct sockaddr_in))
        return 0;
    if (from->sa_family == AF_INET6 && fromlen >= (socklen_t)sizeof(struct sockaddr_in6))
        return 0;
    return -EINVAL;
}

int sc_stun_answer_binding(const uint8_t *buf, size_t len, const char *local_ufrag,
                           const char *local_pwd, const struct sockaddr *from,
                           socklen_t fromlen, uint8_t *out, size_t cap, sc_stun_request *req)
{
    stun_layout lay;
    int r = stun_walk(buf, len, &lay);
    if (r < 0)
        return r;
    if (!is_binding_request(lay.type))
        return -EINVAL;
    if (check_from(from, fromlen) < 0 || !out)
        return -EINVAL;
    if (lay.has_controlling == lay.has_controlled || !lay.has_priority)
        return -EINVAL; /* RFC 8445 7.1.1/7.1.2: exactly one role, a priority */

    /* Authentication.  An empty ufrag or password would make every request
     * match, and libnice skips MESSAGE-INTEGRITY for an empty key. */
    if (!local_ufrag || !*local_ufrag || !local_pwd || !*local_pwd)
        return -EACCES;
    if (!lay.username || !lay.mi_off)
        return -EACCES;
    if (lay.fpr_off && !fingerprint_ok(buf, &lay))
        return -EACCES;
    size_t ul = strlen(local_ufrag);
    if (lay.username_len <= ul || memcmp(lay.username, local_ufrag, ul) != 0 ||
        lay.username[ul] != ':')
        return -EACCES;
    if (!integrity_ok(buf, &lay, local_pwd))
        return -EACCES;

    /* libnice now re-checks all of it (fingerprint only when present, see
     * build_reply) and refuses unknown comprehension-required attributes. */
    StunAgent rx;
    StunMessage msg;
    stun_creds creds = {local_ufrag, local_pwd};
    stun_agent_init(&rx, sc_stun_known_attrs, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS |
                        (lay.fpr_off ? STUN_AGENT_USAGE_USE_FINGERPRINT : 0));
    r = validation_errno(stun_agent_validate(&rx, &msg, buf, len, stun_validater, &creds));
    if (r < 0)
        return r;

    size_t remote_len = lay.username_len - ul - 1;
    sc_stun_request tmp;
    memset(&tmp, 0, sizeof(tmp));
    if (remote_len >= sizeof(tmp.remote_ufrag) ||
        memchr(lay.username + ul + 1, '\0', remote_len))
        return -EINVAL;
    memcpy(tmp.remote_ufrag, lay.username + ul + 1, remote_len);
    tmp.priority = stun_usage_ice_conncheck_priority(&msg);
    tmp.use_candidate = stun_usage_ice_conncheck_use_candidate(&msg);
    tmp.controlling = lay.has_controlling;

    if (cap < SC_STUN_REPLY_MAX)
        return -ENOSPC;
    /* ICE-lite agents are always controlled (RFC 8445 6.1.1): a peer that
     * also claims to be controlled has a role conflict we cannot resolve by
     * switching, so it gets 487 and must switch itself (7.3.1.1). */
    r = build_reply(&msg, lay.has_controlled, from, fromlen, out, cap);
    if (r < 0)
        return r;
    if (req)
        *req = tmp;
    return r;
}
