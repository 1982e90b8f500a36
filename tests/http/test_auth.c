/* tests/http/test_auth.c - listener credentials: the token, users and
 * certificate-name files (comments, tenants, refusals that never quote a
 * secret), bearer and basic checks with their tenants, remembered passwords,
 * client-certificate names, reloads that keep the old credentials on error,
 * and the 401 a refused request gets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/http.h"

static char dir[64];

static const char *write_file(const char *name, const char *text)
{
    static char path[8][128];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, 128, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

/* A bcrypt hash of |pw| at the lowest cost, as htpasswd -B would write. */
static void bcrypt_of(const char *pw, char *out, size_t outlen)
{
    char salt[64];
    assert_non_null(crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt)));
    struct crypt_data cd;
    memset(&cd, 0, sizeof(cd));
    const char *h = crypt_r(pw, salt, &cd);
    assert_non_null(h);
    snprintf(out, outlen, "%s", h);
}

static void test_parse_files(void **state)
{
    (void)state;
    char err[256];
    const char *tokens = "# tokens\n\n  abc123 tenant-a\nxyz\n";
    assert_int_equal(
        http_auth_parse_for_test(HTTP_AUTH_BEARER, tokens, strlen(tokens), err, sizeof(err)), 2);
    /* Three fields, or a tenant with a control character: refused by line,
     * never quoting the line (it holds a secret). */
    assert_int_equal(
        http_auth_parse_for_test(HTTP_AUTH_BEARER, "ok\nsecret1 a b\n", 15, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":2:"));
    assert_null(strstr(err, "secret1"));
    assert_int_equal(http_auth_parse_for_test(HTTP_AUTH_BEARER, "a\0b\n", 4, err, sizeof(err)), -1);
    char hash[128], users[256];
    bcrypt_of("pw", hash, sizeof(hash));
    int n = snprintf(users, sizeof(users), "# users\nbob:%s:tenant-b\nann:%s\n", hash, hash);
    assert_int_equal(http_auth_parse_for_test(HTTP_AUTH_BASIC, users, (size_t)n, err, sizeof(err)),
                     2);
    /* A plain-text password is not a hash crypt(3) verifies. */
    assert_int_equal(
        http_auth_parse_for_test(HTTP_AUTH_BASIC, "bob:plaintext\n", 14, err, sizeof(err)), -1);
    assert_null(strstr(err, "plaintext"));
    assert_int_equal(http_auth_parse_for_test(HTTP_AUTH_BASIC, "nocolon\n", 8, err, sizeof(err)),
                     -1);
    assert_int_equal(
        http_auth_parse_for_test(HTTP_AUTH_MTLS, "alice tenant-a\nbob\n", 19, err, sizeof(err)), 2);
}

static void test_bearer(void **state)
{
    (void)state;
    char err[256];
    const char *f = write_file("tokens", "# comment\ntok-a tenant-a\ntok-any\n");
    http_auth *a = http_auth_new("test", HTTP_AUTH_BEARER, f, err, sizeof(err));
    assert_non_null(a);
    http_principal who;
    assert_int_equal(http_auth_check(a, "Bearer tok-a", NULL, &who), HTTP_AUTH_OK);
    assert_string_equal(who.tenant, "tenant-a");
    assert_string_equal(who.name, "token@2");
    assert_int_equal(http_auth_check(a, "bearer   tok-any", NULL, &who), HTTP_AUTH_OK);
    assert_string_equal(who.tenant, "");
    assert_int_equal(http_auth_check(a, "Bearer tok-b", NULL, &who), HTTP_AUTH_WRONG);
    assert_string_equal(who.name, "");
    assert_int_equal(http_auth_check(a, "Bearer tok-a-longer", NULL, &who), HTTP_AUTH_WRONG);
    assert_int_equal(http_auth_check(a, NULL, NULL, &who), HTTP_AUTH_MISSING);
    assert_int_equal(http_auth_check(a, "Basic dG9rLWE=", NULL, &who), HTTP_AUTH_MISSING);
    assert_string_equal(http_auth_challenge(a), "Bearer realm=\"ottr\"");

    /* A reload that fails keeps the old tokens; one that works replaces them. */
    write_file("tokens", "tok-c x y z\n");
    assert_int_equal(http_auth_reload(a, err, sizeof(err)), -1);
    assert_int_equal(http_auth_check(a, "Bearer tok-a", NULL, &who), HTTP_AUTH_OK);
    write_file("tokens", "tok-c\n");
    assert_int_equal(http_auth_reload(a, err, sizeof(err)), 0);
    assert_int_equal(http_auth_check(a, "Bearer tok-a", NULL, &who), HTTP_AUTH_WRONG);
    assert_int_equal(http_auth_check(a, "Bearer tok-c", NULL, &who), HTTP_AUTH_OK);
    http_auth_free(a);

    assert_null(http_auth_new("test", HTTP_AUTH_BEARER, NULL, err, sizeof(err)));
    assert_null(http_auth_new("test", HTTP_AUTH_BEARER, "/nonexistent/x", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/x"));
}

static void test_basic(void **state)
{
    (void)state;
    char err[256], hash[128], text[512];
    bcrypt_of("s3cret", hash, sizeof(hash));
    snprintf(text, sizeof(text), "bob:%s:tenant-b\nann:%s\n", hash, hash);
    const char *f = write_file("users", text);
    http_auth *a = http_auth_new("test", HTTP_AUTH_BASIC, f, err, sizeof(err));
    assert_non_null(a);
    http_principal who;
    /* bob:s3cret, bob:wrong, eve:s3cret, no colon */
    for (int round = 0; round < 2; round++) { /* the second time from memory */
        assert_int_equal(http_auth_check(a, "Basic Ym9iOnMzY3JldA==", NULL, &who), HTTP_AUTH_OK);
        assert_string_equal(who.name, "bob");
        assert_string_equal(who.tenant, "tenant-b");
    }
    assert_int_equal(http_auth_check(a, "Basic YW5uOnMzY3JldA==", NULL, &who), HTTP_AUTH_OK);
    assert_string_equal(who.tenant, "");
    assert_int_equal(http_auth_check(a, "Basic Ym9iOndyb25n", NULL, &who), HTTP_AUTH_WRONG);
    assert_int_equal(http_auth_check(a, "Basic ZXZlOnMzY3JldA==", NULL, &who), HTTP_AUTH_WRONG);
    assert_int_equal(http_auth_check(a, "Basic Ym9i", NULL, &who), HTTP_AUTH_WRONG);
    assert_int_equal(http_auth_check(a, "Basic !!!!", NULL, &who), HTTP_AUTH_WRONG);
    assert_int_equal(http_auth_check(a, "Bearer x", NULL, &who), HTTP_AUTH_MISSING);
    assert_string_equal(http_auth_challenge(a), "Basic realm=\"ottr\"");

    /* After a reload that drops bob, his remembered password no longer works. */
    snprintf(text, sizeof(text), "ann:%s\n", hash);
    write_file("users", text);
    assert_int_equal(http_auth_reload(a, err, sizeof(err)), 0);
    assert_int_equal(http_auth_check(a, "Basic Ym9iOnMzY3JldA==", NULL, &who), HTTP_AUTH_WRONG);
    http_auth_free(a);
}

static void test_mtls(void **state)
{
    (void)state;
    char err[256];
    http_principal who;
    http_auth *any = http_auth_new("test", HTTP_AUTH_MTLS, NULL, err, sizeof(err));
    assert_non_null(any);
    assert_int_equal(http_auth_check(any, NULL, "alice", &who), HTTP_AUTH_OK);
    assert_string_equal(who.name, "alice");
    assert_int_equal(http_auth_check(any, "Bearer x", NULL, &who), HTTP_AUTH_MISSING);
    assert_null(http_auth_challenge(any));
    http_auth_free(any);

    const char *f = write_file("names", "alice tenant-a\n");
    http_auth *a = http_auth_new("test", HTTP_AUTH_MTLS, f, err, sizeof(err));
    assert_non_null(a);
    assert_int_equal(http_auth_check(a, NULL, "alice", &who), HTTP_AUTH_OK);
    assert_string_equal(who.tenant, "tenant-a");
    assert_int_equal(http_auth_check(a, NULL, "mallory", &who), HTTP_AUTH_WRONG);
    http_auth_free(a);
}

static void test_refusal(void **state)
{
    (void)state;
    char err[256];
    const char *f = write_file("tokens2", "tok\n");
    http_auth *a = http_auth_new("test", HTTP_AUTH_BEARER, f, err, sizeof(err));
    assert_non_null(a);
    http_header h = {"authorization", "Bearer nope"};
    http_request req = {.method = "GET", .path = "/", .query = "", .headers = &h, .nheaders = 1};
    http_response resp;
    http_response_init(&resp);
    http_principal who;
    assert_int_equal(http_auth_request(a, &req, NULL, &who, &resp), -1);
    assert_int_equal(resp.status, 401);
    assert_int_equal(resp.nextra, 1);
    assert_string_equal(resp.extra_name[0], "WWW-Authenticate");
    assert_string_equal(resp.extra_value[0], "Bearer realm=\"ottr\"");
    assert_non_null(strstr(resp.body.data, "invalid credentials"));
    ottr_buf_free(&resp.body);
    h.value = "Bearer tok";
    http_response_init(&resp);
    assert_int_equal(http_auth_request(a, &req, NULL, &who, &resp), 0);
    ottr_buf_free(&resp.body);
    http_auth_free(a);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/ottr-auth-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_files), cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_basic),       cmocka_unit_test(test_mtls),
        cmocka_unit_test(test_refusal),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
