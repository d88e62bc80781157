/* signaling/token.c: roles, default permissions, issue/check, and the
 * token attacks of RELIABILITY 18 at the level the HTTP and WebSocket
 * handlers see them (status, code). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "signaling/auth/jwt.h"
#include "tests/unit/sc_test.h"
#include "signaling/auth/token.h"

#define NOW 1700000000LL
static const uint8_t secret[] = "token-test-secret-0123456789";
static const size_t secret_len = sizeof(secret) - 1;

static void test_roles(void)
{
    sc_role r = SC_ROLE_ADMIN;
    SC_CHECK_INT(sc_role_parse("viewer", &r), 0);
    SC_CHECK_INT(r, SC_ROLE_VIEWER);
    SC_CHECK_INT(sc_role_parse("cohost", &r), 0);
    SC_CHECK_INT(r, SC_ROLE_COHOST);
    SC_CHECK_INT(sc_role_parse("presenter", &r), 0);
    SC_CHECK_INT(r, SC_ROLE_PRESENTER);
    SC_CHECK_INT(sc_role_parse("admin", &r), 0);
    SC_CHECK_INT(r, SC_ROLE_ADMIN);
    SC_CHECK_INT(sc_role_parse("Admin", &r), -EINVAL);
    SC_CHECK_INT(sc_role_parse("", &r), -EINVAL);
    SC_CHECK_INT(sc_role_parse(NULL, &r), -EINVAL);
    SC_CHECK_INT(sc_role_parse("viewer ", &r), -EINVAL);
    for (int i = SC_ROLE_VIEWER; i <= SC_ROLE_ADMIN; i++) {
        SC_CHECK_INT(sc_role_parse(sc_role_name((sc_role)i), &r), 0);
        SC_CHECK_INT(r, i);
    }

    SC_CHECK_INT(sc_role_default_perms(SC_ROLE_VIEWER), SC_PERM_SUBSCRIBE | SC_PERM_CHAT);
    SC_CHECK_INT(sc_role_default_perms(SC_ROLE_COHOST),
                 SC_PERM_PUBLISH | SC_PERM_SUBSCRIBE | SC_PERM_CHAT);
    SC_CHECK_INT(sc_role_default_perms(SC_ROLE_PRESENTER),
                 SC_PERM_PUBLISH | SC_PERM_SUBSCRIBE | SC_PERM_CHAT | SC_PERM_MODERATE);
    SC_CHECK_INT(sc_role_default_perms(SC_ROLE_ADMIN),
                 SC_PERM_PUBLISH | SC_PERM_SUBSCRIBE | SC_PERM_CHAT | SC_PERM_MODERATE |
                     SC_PERM_ADMIN);
}

static void test_room_names(void)
{
    char name[80];
    SC_CHECK(sc_room_name_valid("demo"));
    SC_CHECK(sc_room_name_valid("a"));
    SC_CHECK(sc_room_name_valid("Room_1-b"));
    memset(name, 'r', 64);
    name[64] = '\0';
    SC_CHECK(sc_room_name_valid(name));
    name[64] = 'r';
    name[65] = '\0';
    SC_CHECK(!sc_room_name_valid(name));
    SC_CHECK(!sc_room_name_valid(""));
    SC_CHECK(!sc_room_name_valid(NULL));
    SC_CHECK(!sc_room_name_valid("*"));
    SC_CHECK(!sc_room_name_valid("a b"));
    SC_CHECK(!sc_room_name_valid("a/b"));
    SC_CHECK(!sc_room_name_valid("../x"));
    SC_CHECK(!sc_room_name_valid("caf\xc3\xa9"));
    SC_CHECK(!sc_room_name_valid("a\nb"));
}

/* Runs sc_token_check and compares status and code. */
static int check(const char *tok, const char *room, uint32_t perm, int64_t now, sc_token *out,
                 int want, const char *want_code)
{
    const char *code = "unset", *why = "unset";
    sc_token tmp;
    int r = sc_token_check(secret, secret_len, tok, room, perm, now, out ? out : &tmp, &code,
                           &why);
    SC_CHECK_INT(r, want);
    if (want_code) {
        SC_CHECK_STR(code, want_code);
        SC_CHECK(why != NULL && *why != '\0');
        /* The message never contains the token (nor a long piece of it). */
        SC_CHECK(!why || !tok || strlen(tok) < 12 || !strstr(why, tok + strlen(tok) - 12));
    }
    return r;
}

static void test_issue_check(void)
{
    sc_token t;
    char *tok = sc_token_issue(secret, secret_len, "demo", SC_ROLE_PRESENTER, NULL, NULL, 600,
                               NOW);
    SC_CHECK(tok != NULL);
    memset(&t, 0, sizeof(t));
    SC_CHECK_INT(check(tok, "demo", SC_PERM_PUBLISH, NOW + 1, &t, 0, NULL), 0);
    SC_CHECK_STR(t.room, "demo");
    SC_CHECK_STR(t.name, "presenter");
    SC_CHECK_INT(t.role, SC_ROLE_PRESENTER);
    SC_CHECK_INT(t.perms, sc_role_default_perms(SC_ROLE_PRESENTER));
    SC_CHECK_INT(t.exp, NOW + 600);
    SC_CHECK(strncmp(t.sub, "u-", 2) == 0 && strlen(t.sub) == 18);

    /* The claims are the documented ones. */
    json_t *c = NULL;
    SC_CHECK_INT(sc_jwt_verify(secret, secret_len, tok, NOW, &c, NULL), 0);
    SC_CHECK_STR(json_string_value(json_object_get(c, "room")), "demo");
    SC_CHECK_STR(json_string_value(json_object_get(c, "role")), "presenter");
    SC_CHECK_STR(json_string_value(json_object_get(c, "name")), "presenter");
    SC_CHECK_STR(json_string_value(json_object_get(c, "sub")), t.sub);
    SC_CHECK_INT(json_integer_value(json_object_get(c, "iat")), NOW);
    SC_CHECK_INT(json_integer_value(json_object_get(c, "exp")), NOW + 600);
    json_t *perms = json_object_get(c, "perms");
    SC_CHECK_INT(json_array_size(perms), 4);
    json_t *want = json_pack("[s,s,s,s]", "subscribe", "publish", "chat", "moderate");
    SC_CHECK(json_equal(perms, want));
    json_decref(want);
    json_decref(c);

    /* Every permission of the role, none beyond. */
    check(tok, "demo", SC_PERM_SUBSCRIBE | SC_PERM_CHAT | SC_PERM_MODERATE, NOW, NULL, 0, NULL);
    check(tok, "demo", SC_PERM_ADMIN, NOW, NULL, 403, "forbidden");
    check(tok, "other", SC_PERM_SUBSCRIBE, NOW, NULL, 403, "wrong-room");
    check(tok, "demo", SC_PERM_PUBLISH, NOW + 600, NULL, 401, "token-expired");
    check(tok, "demo", SC_PERM_PUBLISH, NOW + 100000, NULL, 401, "token-expired");
    /* A different deployment's secret. */
    const char *code = NULL, *why = NULL;
    SC_CHECK_INT(sc_token_check((const uint8_t *)"other", 5, tok, "demo", 0, NOW, &t, &code,
                                &why),
                 401);
    SC_CHECK_STR(code, "token-invalid");
    free(tok);

    /* A year is the longest: the CLI's 366 days pass, anything beyond is
     * refused however it was minted (here, signed by hand with a far exp). */
    tok = sc_token_issue(secret, secret_len, "demo", SC_ROLE_VIEWER, NULL, NULL, 366 * 86400, NOW);
    check(tok, "demo", SC_PERM_SUBSCRIBE, NOW, NULL, 0, NULL);
    free(tok);
    json_t *far = json_pack("{s:s,s:s,s:I}", "room", "demo", "role", "viewer", "exp",
                            (json_int_t)(NOW + 400LL * 86400));
    tok = sc_jwt_sign(secret, secret_len, far);
    json_decref(far);
    check(tok, "demo", SC_PERM_SUBSCRIBE, NOW, NULL, 401, "token-lifetime-too-long");
    /* The same token later, when less than a year is left, is fine. */
    check(tok, "demo", SC_PERM_SUBSCRIBE, NOW + 40LL * 86400, NULL, 0, NULL);
    free(tok);

    /* Two tokens get different random subjects; given ones are kept. */
    char *a = sc_token_issue(secret, secret_len, "demo", SC_ROLE_VIEWER, "Ann", NULL, 60, NOW);
    char *b = sc_token_issue(secret, secret_len, "demo", SC_ROLE_VIEWER, "Ann", NULL, 60, NOW);
    sc_token ta, tb;
    check(a, "demo", SC_PERM_SUBSCRIBE, NOW, &ta, 0, NULL);
    check(b, "demo", SC_PERM_SUBSCRIBE, NOW, &tb, 0, NULL);
    SC_CHECK(strcmp(ta.sub, tb.sub) != 0);
    SC_CHECK_STR(ta.name, "Ann");
    free(a);
    free(b);
    a = sc_token_issue(secret, secret_len, "demo", SC_ROLE_COHOST, "Bob", "user-7", 60, NOW);
    check(a, "demo", SC_PERM_PUBLISH, NOW, &ta, 0, NULL);
    SC_CHECK_STR(ta.sub, "user-7");
    SC_CHECK_INT(ta.role, SC_ROLE_COHOST);
    check(a, "demo", SC_PERM_MODERATE, NOW, NULL, 403, "forbidden");
    free(a);

    /* Viewer asking to publish. */
    a = sc_token_issue(secret, secret_len, "demo", SC_ROLE_VIEWER, NULL, NULL, 60, NOW);
    check(a, "demo", SC_PERM_PUBLISH, NOW, NULL, 403, "forbidden");
    check(a, "demo", SC_PERM_SUBSCRIBE, NOW, NULL, 0, NULL);
    check(a, "demo", SC_PERM_CHAT, NOW, NULL, 0, NULL);
    check(a, "demo", SC_PERM_MODERATE, NOW, NULL, 403, "forbidden");
    free(a);

    /* Admin with room "*" is valid for every room and for no room. */
    a = sc_token_issue(secret, secret_len, "*", SC_ROLE_ADMIN, NULL, NULL, 60, NOW);
    SC_CHECK(a != NULL);
    check(a, "demo", SC_PERM_PUBLISH, NOW, &ta, 0, NULL);
    SC_CHECK_STR(ta.room, "*");
    check(a, "another-room", SC_PERM_ADMIN, NOW, NULL, 0, NULL);
    check(a, NULL, SC_PERM_ADMIN, NOW, NULL, 0, NULL);
    free(a);
    /* An admin token for one room is for that room only. */
    a = sc_token_issue(secret, secret_len, "demo", SC_ROLE_ADMIN, NULL, NULL, 60, NOW);
    check(a, "other", SC_PERM_SUBSCRIBE, NOW, NULL, 403, "wrong-room");
    free(a);
}

static void test_issue_refusals(void)
{
    char long_name[80];
    memset(long_name, 'n', 65);
    long_name[65] = '\0';
    SC_CHECK(sc_token_issue(secret, secret_len, "*", SC_ROLE_PRESENTER, NULL, NULL, 60, NOW) ==
             NULL);
    SC_CHECK(sc_token_issue(secret, secret_len, "*", SC_ROLE_VIEWER, NULL, NULL, 60, NOW) ==
             NULL);
    SC_CHECK(sc_token_issue(secret, secret_len, "bad room", SC_ROLE_VIEWER, NULL, NULL, 60,
                            NOW) == NULL);
    SC_CHECK(sc_token_issue(secret, secret_len, NULL, SC_ROLE_VIEWER, NULL, NULL, 60, NOW) ==
             NULL);
    SC_CHECK(sc_token_issue(secret, secret_len, "demo", (sc_role)42, NULL, NULL, 60, NOW) ==
             NULL);
    SC_CHECK(sc_token_issue(secret, secret_len, "demo", SC_ROLE_VIEWER, long_name, NULL, 60,
                            NOW) == NULL);
    SC_CHECK(sc_token_issue(secret, secret_len, "demo", SC_ROLE_VIEWER, "\xff\xfe", NULL, 60,
                            NOW) == NULL);
    SC_CHECK(sc_token_issue(secret, secret_len, "demo", SC_ROLE_VIEWER, NULL, NULL, 0, NOW) ==
             NULL);
    SC_CHECK(sc_token_issue(secret, secret_len, "demo", SC_ROLE_VIEWER, NULL, NULL, -5, NOW) ==
             NULL);
    SC_CHECK(sc_token_issue(secret, 0, "demo", SC_ROLE_VIEWER, NULL, NULL, 60, NOW) == NULL);
    long_name[64] = '\0';
    char *ok = sc_token_issue(secret, secret_len, "demo", SC_ROLE_VIEWER, long_name, NULL, 60,
                              NOW);
    SC_CHECK(ok != NULL);
    free(ok);
}

/* Tokens signed with the right secret but claims issue() never makes. */
static char *signed_claims(const char *json)
{
    json_error_t err;
    json_t *c = json_loads(json, JSON_ALLOW_NUL, &err);
    SC_CHECK(c != NULL);
    if (!c)
        return NULL;
    char *t = sc_jwt_sign(secret, secret_len, c);
    json_decref(c);
    return t;
}

static void check_claims(const char *json, const char *room, uint32_t perm, int want,
                         const char *want_code)
{
    char *t = signed_claims(json);
    if (check(t, room, perm, NOW, NULL, want, want_code) != want)
        fprintf(stderr, "  claims: %s\n", json);
    free(t);
}

static void test_claims(void)
{
    /* perms in the token are what is enforced: grant and revoke. */
    check_claims("{\"room\":\"demo\",\"role\":\"viewer\",\"exp\":1700086400,"
                 "\"perms\":[\"publish\",\"subscribe\"]}",
                 "demo", SC_PERM_PUBLISH, 0, NULL);
    check_claims("{\"room\":\"demo\",\"role\":\"viewer\",\"exp\":1700086400,"
                 "\"perms\":[\"publish\",\"subscribe\"]}",
                 "demo", SC_PERM_CHAT, 403, "forbidden");
    check_claims("{\"room\":\"demo\",\"role\":\"presenter\",\"exp\":1700086400,"
                 "\"perms\":[\"subscribe\"]}",
                 "demo", SC_PERM_PUBLISH, 403, "forbidden");
    check_claims("{\"room\":\"demo\",\"role\":\"presenter\",\"exp\":1700086400,\"perms\":[]}",
                 "demo", SC_PERM_SUBSCRIBE, 403, "forbidden");
    /* Absent perms: the role's defaults. */
    check_claims("{\"room\":\"demo\",\"role\":\"cohost\",\"exp\":1700086400}", "demo",
                 SC_PERM_PUBLISH, 0, NULL);
    check_claims("{\"room\":\"demo\",\"role\":\"viewer\",\"exp\":1700086400}", "demo",
                 SC_PERM_PUBLISH, 403, "forbidden");

    /* Claims that do not make a token. */
    static const char *bad[] = {
        "{\"room\":\"demo\",\"role\":\"viewer\",\"exp\":1700086400,\"perms\":[\"fly\"]}",
        "{\"room\":\"demo\",\"role\":\"viewer\",\"exp\":1700086400,\"perms\":\"publish\"}",
        "{\"room\":\"demo\",\"role\":\"viewer\",\"exp\":1700086400,\"perms\":[1]}",
        "{\"room\":\"demo\",\"role\":\"viewer\",\"exp\":1700086400,\"perms\":null}",
        "{\"room\":\"demo\",\"role\":\"king\",\"exp\":1700086400}",
        "{\"room\":\"demo\",\"exp\":1700086400}",
        "{\"room\":\"demo\",\"role\":7,\"exp\":1700086400}",
        "{\"role\":\"viewer\",\"exp\":1700086400}",
        "{\"room\":\"\",\"role\":\"viewer\",\"exp\":1700086400}",
        "{\"room\":\"de mo\",\"role\":\"viewer\",\"exp\":1700086400}",
        "{\"room\":[\"demo\"],\"role\":\"viewer\",\"exp\":1700086400}",
        "{\"room\":\"*\",\"role\":\"presenter\",\"exp\":1700086400}",
        "{\"room\":\"*\",\"role\":\"viewer\",\"exp\":1700086400}",
        "{\"room\":\"demo\",\"role\":\"viewer\",\"exp\":1700086400,\"name\":5}",
        "{\"room\":\"demo\",\"role\":\"viewer\",\"exp\":1700086400,\"name\":\"a\\u0000b\"}",
        "{\"room\":\"demo\",\"role\":\"viewer\",\"exp\":1700086400,"
        "\"name\":\"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\"}",
        "{\"room\":\"demo\",\"role\":\"viewer\",\"exp\":1700086400,\"sub\":{}}",
        "{\"room\":\"demo\",\"role\":\"viewer\"}",
        "{\"room\":\"demo\",\"role\":\"viewer\",\"exp\":\"1900000000\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check_claims(bad[i], "demo", SC_PERM_SUBSCRIBE, 401, "token-invalid");

    /* Expired is its own code. */
    check_claims("{\"room\":\"demo\",\"role\":\"viewer\",\"exp\":1000}", "demo",
                 SC_PERM_SUBSCRIBE, 401, "token-expired");
}

static void test_bad_tokens(void)
{
    check(NULL, "demo", 0, NOW, NULL, 401, "token-missing");
    check("", "demo", 0, NOW, NULL, 401, "token-missing");
    check("garbage", "demo", 0, NOW, NULL, 401, "token-invalid");
    check("a.b.c.d", "demo", 0, NOW, NULL, 401, "token-invalid");
    /* alg none, built from a real token's payload. */
    char *tok = sc_token_issue(secret, secret_len, "demo", SC_ROLE_ADMIN, NULL, NULL, 60, NOW);
    const char *d1 = strchr(tok, '.'), *d2 = strrchr(tok, '.');
    char buf[2048];
    snprintf(buf, sizeof(buf), "eyJhbGciOiJub25lIn0.%.*s.", (int)(d2 - d1 - 1), d1 + 1);
    check(buf, "demo", 0, NOW, NULL, 401, "token-invalid");
    /* Over-long. */
    char *big = malloc(SC_JWT_MAX_LEN + 100);
    snprintf(big, SC_JWT_MAX_LEN + 100, "%s", tok);
    size_t n = strlen(big);
    memset(big + n, 'A', SC_JWT_MAX_LEN + 50 - n);
    big[SC_JWT_MAX_LEN + 50] = '\0';
    check(big, "demo", 0, NOW, NULL, 401, "token-invalid");
    free(big);
    /* NULL code/why/out are allowed. */
    SC_CHECK_INT(sc_token_check(secret, secret_len, tok, "demo", SC_PERM_ADMIN, NOW, NULL, NULL,
                                NULL),
                 0);
    SC_CHECK_INT(sc_token_check(secret, secret_len, "x", "demo", 0, NOW, NULL, NULL, NULL),
                 401);
    free(tok);
}

int main(void)
{
    test_roles();
    test_room_names();
    test_issue_check();
    test_issue_refusals();
    test_claims();
    test_bad_tokens();
    SC_TEST_END();
}
