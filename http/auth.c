/* http/auth.c - who may use a listener: bearer tokens, basic-auth users with
 * crypt(3) hashes, or client-certificate names, each from a file that SIGHUP
 * reloads, each entry optionally bound to a tenant. Shared by the HTTP ports and
 * the OTLP/gRPC receiver (its "authorization" metadata is the same header).
 *
 * Secrets never leave this file: tokens are kept as SHA-256 digests and compared
 * in constant time over every entry; a basic-auth password that passed crypt(3)
 * once is remembered as a keyed digest, so that a client sending it with every
 * request (Grafana does) does not pay a bcrypt each time. */
#include <ctype.h>
#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "http/http.h"

#define DIGEST_LEN    32
#define VERIFIED_MAX  64        /* remembered (user, password) pairs per file */
#define MAX_FILE      (8 << 20) /* a credential file this large is a mistake */
#define MAX_ENTRIES   100000
#define MAX_TOKEN_LEN 4096

typedef struct cred {
    char name[128];             /* user, common name, or "token@LINE" */
    char tenant[128];           /* "" when not bound */
    uint8_t digest[DIGEST_LEN]; /* bearer: SHA-256 of the token */
    char *hash;                 /* basic: the crypt(3) hash (owned) */
} cred;

/* One loaded file; replaced whole by a reload. */
typedef struct cred_set {
    cred *v;
    size_t n;
    uint8_t key[DIGEST_LEN]; /* keys the remembered password digests */
    pthread_mutex_t mu;      /* guards |verified| */
    uint8_t verified[VERIFIED_MAX][DIGEST_LEN];
    size_t nverified, next;
} cred_set;

struct http_auth {
    char listener[32];
    http_auth_type type;
    char *file; /* NULL: mtls without a list */
    pthread_rwlock_t lock;
    cred_set *set; /* under |lock| */
    ottr_counter *m_missing, *m_wrong;
};

/* ------------------------------------------------------------------ digests */

static void sha256(const void *p, size_t n, uint8_t out[DIGEST_LEN])
{
    unsigned len = DIGEST_LEN;
    if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1)
        memset(out, 0, DIGEST_LEN); /* never equal to a real token's: see cred_ok */
}

/* ------------------------------------------------------------------ files */

static void set_free(cred_set *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].hash != NULL) {
            OPENSSL_cleanse(s->v[i].hash, strlen(s->v[i].hash));
            free(s->v[i].hash);
        }
    }
    OPENSSL_cleanse(s->v, s->n * sizeof(cred));
    free(s->v);
    pthread_mutex_destroy(&s->mu);
    OPENSSL_cleanse(s, sizeof(*s));
    free(s);
}

/* Copies |n| bytes of |p| into |out| (NUL-terminated). -1 when it does not fit or
 * holds a control character. */
static int take(const char *p, size_t n, char *out, size_t outlen)
{
    if (n == 0 || n >= outlen)
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x21 || p[i] == 0x7f)
            return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

/* Parses one non-comment line |p| (|n| bytes) into |c|. Returns NULL, or what
 * is wrong with it (never quoting the line: it may hold a secret). */
static const char *parse_line(http_auth_type type, const char *p, size_t n, int lineno, cred *c)
{
    memset(c, 0, sizeof(*c));
    if (type == HTTP_AUTH_BASIC) {
        const char *c1 = memchr(p, ':', n);
        if (c1 == NULL)
            return "want USER:HASH[:TENANT]";
        const char *hs = c1 + 1, *end = p + n;
        const char *c2 = memchr(hs, ':', (size_t)(end - hs));
        size_t hlen = (size_t)((c2 ? c2 : end) - hs);
        if (take(p, (size_t)(c1 - p), c->name, sizeof(c->name)) != 0)
            return "bad user name";
        if (c2 != NULL && take(c2 + 1, (size_t)(end - c2 - 1), c->tenant, sizeof(c->tenant)) != 0)
            return "bad tenant";
        char hash[512];
        if (take(hs, hlen, hash, sizeof(hash)) != 0)
            return "bad hash";
        if (crypt_checksalt(hash) != CRYPT_SALT_OK)
            return "the hash is not one crypt(3) verifies (want bcrypt $2b$/$2y$, yescrypt $y$ or "
                   "sha512crypt $6$, e.g. from htpasswd -nB or mkpasswd)";
        c->hash = strdup(hash);
        OPENSSL_cleanse(hash, sizeof(hash));
        return c->hash == NULL ? "out of memory" : NULL;
    }
    /* bearer and mtls: FIRST [TENANT] */
    size_t i = 0;
    while (i < n && !isspace((unsigned char)p[i]))
        i++;
    size_t first = i;
    while (i < n && isspace((unsigned char)p[i]))
        i++;
    size_t ts = i;
    while (i < n && !isspace((unsigned char)p[i]))
        i++;
    size_t te = i;
    while (i < n && isspace((unsigned char)p[i]))
        i++;
    if (i != n)
        return "want one or two fields";
    if (te > ts && take(p + ts, te - ts, c->tenant, sizeof(c->tenant)) != 0)
        return "bad tenant";
    if (type == HTTP_AUTH_MTLS) {
        if (take(p, first, c->name, sizeof(c->name)) != 0)
            return "bad common name";
        return NULL;
    }
    if (first > MAX_TOKEN_LEN)
        return "token longer than 4096 bytes";
    for (size_t k = 0; k < first; k++)
        if ((unsigned char)p[k] < 0x21 || p[k] == 0x7f)
            return "bad token";
    sha256(p, first, c->digest);
    snprintf(c->name, sizeof(c->name), "token@%d", lineno);
    return NULL;
}

/* Parses credential file text. Returns the set, or NULL with why in |err|. */
static cred_set *parse_text(http_auth_type type, const char *text, size_t len, const char *where,
                            char *err, size_t errlen)
{
    cred_set *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    if (getrandom(s->key, sizeof(s->key), 0) != (ssize_t)sizeof(s->key)) {
        snprintf(err, errlen, "no random key");
        set_free(s);
        return NULL;
    }
    size_t cap = 0;
    int lineno = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        lineno++;
        const char *a = p, *b = le;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        p = nl ? nl + 1 : end;
        if (a == b || *a == '#')
            continue;
        if (memchr(a, '\0', (size_t)(b - a)) != NULL) {
            snprintf(err, errlen, "%s:%d: a NUL byte", where, lineno);
            set_free(s);
            return NULL;
        }
        if (s->n == MAX_ENTRIES) {
            snprintf(err, errlen, "%s: more than %d entries", where, MAX_ENTRIES);
            set_free(s);
            return NULL;
        }
        if (s->n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            cred *v = realloc(s->v, nc * sizeof(cred));
            if (v == NULL) {
                snprintf(err, errlen, "out of memory");
                set_free(s);
                return NULL;
            }
            s->v = v;
            cap = nc;
        }
        const char *problem = parse_line(type, a, (size_t)(b - a), lineno, &s->v[s->n]);
        if (problem != NULL) {
            snprintf(err, errlen, "%s:%d: %s", where, lineno, problem);
            set_free(s);
            return NULL;
        }
        s->n++;
    }
    return s;
}

static cred_set *load_file(http_auth_type type, const char *path, char *err, size_t errlen)
{
    if (path == NULL)
        return parse_text(type, "", 0, "", err, errlen);
    ottr_buf b = {0};
    cred_set *s = NULL;
    if (ottr_buf_read_file(&b, path, MAX_FILE, err, errlen) == 0)
        s = parse_text(type, b.data ? b.data : "", b.len, path, err, errlen);
    if (b.data != NULL)
        OPENSSL_cleanse(b.data, b.len);
    ottr_buf_free(&b);
    return s;
}

int http_auth_parse_for_test(http_auth_type type, const char *text, size_t len, char *err,
                             size_t errlen)
{
    cred_set *s = parse_text(type, text, len, "<text>", err, errlen);
    if (s == NULL)
        return -1;
    int n = (int)s->n;
    set_free(s);
    return n;
}

/* ------------------------------------------------------------------ the listener's */

http_auth *http_auth_new(const char *listener, http_auth_type type, const char *file, char *err,
                         size_t errlen)
{
    if (type != HTTP_AUTH_NONE && type != HTTP_AUTH_MTLS && file == NULL) {
        snprintf(err, errlen, "%s: this authentication type needs a file", listener);
        return NULL;
    }
    http_auth *a = calloc(1, sizeof(*a));
    if (a == NULL || (file != NULL && (a->file = strdup(file)) == NULL)) {
        free(a);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(a->listener, sizeof(a->listener), "%s", listener);
    a->type = type;
    pthread_rwlock_init(&a->lock, NULL);
    if (type != HTTP_AUTH_NONE) {
        a->set = load_file(type, a->file, err, errlen);
        if (a->set == NULL) {
            http_auth_free(a);
            return NULL;
        }
    }
    char labels[96];
    snprintf(labels, sizeof(labels), "listener=\"%s\",reason=\"missing\"", a->listener);
    a->m_missing = ottr_counter_get("ottr_auth_failures_total",
                                    "Requests refused for missing or wrong credentials.", labels);
    snprintf(labels, sizeof(labels), "listener=\"%s\",reason=\"wrong\"", a->listener);
    a->m_wrong = ottr_counter_get("ottr_auth_failures_total",
                                  "Requests refused for missing or wrong credentials.", labels);
    return a;
}

int http_auth_reload(http_auth *a, char *err, size_t errlen)
{
    if (a == NULL || a->type == HTTP_AUTH_NONE)
        return 0;
    cred_set *s = load_file(a->type, a->file, err, errlen);
    if (s == NULL)
        return -1;
    pthread_rwlock_wrlock(&a->lock);
    cred_set *old = a->set;
    a->set = s;
    pthread_rwlock_unlock(&a->lock);
    set_free(old);
    return 0;
}

void http_auth_free(http_auth *a)
{
    if (a == NULL)
        return;
    set_free(a->set);
    free(a->file);
    pthread_rwlock_destroy(&a->lock);
    free(a);
}

http_auth_type http_auth_get_type(const http_auth *a)
{
    return a ? a->type : HTTP_AUTH_NONE;
}

const char *http_auth_challenge(const http_auth *a)
{
    switch (http_auth_get_type(a)) {
    case HTTP_AUTH_BEARER:
        return "Bearer realm=\"ottr\"";
    case HTTP_AUTH_BASIC:
        return "Basic realm=\"ottr\"";
    default:
        return NULL;
    }
}

/* ------------------------------------------------------------------ checks */

static void grant(const cred *c, http_principal *who)
{
    snprintf(who->name, sizeof(who->name), "%s", c->name);
    snprintf(who->tenant, sizeof(who->tenant), "%s", c->tenant);
}

/* The value after scheme |scheme| (case-insensitive, then spaces), or NULL. */
static const char *after_scheme(const char *authz, const char *scheme)
{
    size_t n = strlen(scheme);
    if (authz == NULL || strncasecmp(authz, scheme, n) != 0 || authz[n] != ' ')
        return NULL;
    authz += n;
    while (*authz == ' ')
        authz++;
    return *authz ? authz : NULL;
}

static http_auth_result check_bearer(cred_set *s, const char *token, http_principal *who)
{
    size_t n = strlen(token);
    while (n > 0 && token[n - 1] == ' ')
        n--;
    uint8_t d[DIGEST_LEN];
    sha256(token, n, d);
    const cred *hit = NULL;
    /* Every entry is compared, whichever matches. */
    for (size_t i = 0; i < s->n; i++)
        if (CRYPTO_memcmp(d, s->v[i].digest, DIGEST_LEN) == 0)
            hit = &s->v[i];
    OPENSSL_cleanse(d, sizeof(d));
    if (hit == NULL)
        return HTTP_AUTH_WRONG;
    grant(hit, who);
    return HTTP_AUTH_OK;
}

/* 1 when crypt(3) of |password| with |hash| gives |hash|. */
static int crypt_ok(const char *hash, const char *password)
{
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    if (cd == NULL)
        return 0;
    const char *out = crypt_r(password, hash, cd);
    size_t hl = strlen(hash);
    int ok = out != NULL && out[0] != '*' && strlen(out) == hl && CRYPTO_memcmp(out, hash, hl) == 0;
    OPENSSL_cleanse(cd, sizeof(*cd));
    free(cd);
    return ok;
}

static http_auth_result check_basic(cred_set *s, const char *b64, http_principal *who)
{
    size_t in = strlen(b64);
    while (in > 0 && b64[in - 1] == ' ')
        in--;
    if (in == 0 || in % 4 != 0 || in > 4096)
        return HTTP_AUTH_WRONG;
    unsigned char raw[3072 + 1];
    int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)in);
    if (n < 0)
        return HTTP_AUTH_WRONG;
    n -= (b64[in - 1] == '=') + (b64[in - 2] == '=');
    raw[n] = '\0';
    http_auth_result r = HTTP_AUTH_WRONG;
    char *colon = memchr(raw, ':', (size_t)n);
    if (colon == NULL || memchr(raw, '\0', (size_t)n) != NULL)
        goto out;
    *colon = '\0';
    const char *user = (const char *)raw, *password = colon + 1;
    const cred *c = NULL;
    for (size_t i = 0; i < s->n && c == NULL; i++)
        if (strcmp(s->v[i].name, user) == 0)
            c = &s->v[i];
    if (c == NULL) {
        /* As slow as a known user, so that names cannot be told apart by time. */
        if (s->n > 0)
            crypt_ok(s->v[0].hash, password);
        goto out;
    }
    /* The keyed digest of user NUL password NUL hash: a remembered success. */
    uint8_t d[DIGEST_LEN];
    unsigned dl = DIGEST_LEN;
    unsigned char msg[3072 + 600];
    size_t ul = strlen(user), pl = strlen(password), hl = strlen(c->hash);
    memcpy(msg, user, ul + 1);
    memcpy(msg + ul + 1, password, pl + 1);
    memcpy(msg + ul + pl + 2, c->hash, hl);
    if (HMAC(EVP_sha256(), s->key, sizeof(s->key), msg, ul + pl + 2 + hl, d, &dl) == NULL)
        memset(d, 0xff, sizeof(d));
    OPENSSL_cleanse(msg, sizeof(msg));
    int known = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nverified; i++)
        known |= CRYPTO_memcmp(d, s->verified[i], DIGEST_LEN) == 0;
    pthread_mutex_unlock(&s->mu);
    if (!known && crypt_ok(c->hash, password)) {
        known = 1;
        pthread_mutex_lock(&s->mu);
        memcpy(s->verified[s->next], d, DIGEST_LEN);
        s->next = (s->next + 1) % VERIFIED_MAX;
        if (s->nverified < VERIFIED_MAX)
            s->nverified++;
        pthread_mutex_unlock(&s->mu);
    }
    OPENSSL_cleanse(d, sizeof(d));
    if (known) {
        grant(c, who);
        r = HTTP_AUTH_OK;
    }
out:
    OPENSSL_cleanse(raw, sizeof(raw));
    return r;
}

static http_auth_result check_mtls(cred_set *s, const char *file, const char *peer,
                                   http_principal *who)
{
    if (file == NULL) {
        cred c = {0};
        snprintf(c.name, sizeof(c.name), "%s", peer);
        grant(&c, who);
        return HTTP_AUTH_OK;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->v[i].name, peer) == 0) {
            grant(&s->v[i], who);
            return HTTP_AUTH_OK;
        }
    }
    return HTTP_AUTH_WRONG;
}

http_auth_result http_auth_check(http_auth *a, const char *authz, const char *peer,
                                 http_principal *who)
{
    memset(who, 0, sizeof(*who));
    if (a == NULL || a->type == HTTP_AUTH_NONE)
        return HTTP_AUTH_OK;
    http_auth_result r = HTTP_AUTH_MISSING;
    const char *v;
    pthread_rwlock_rdlock(&a->lock);
    if (a->type == HTTP_AUTH_BEARER && (v = after_scheme(authz, "Bearer")) != NULL)
        r = check_bearer(a->set, v, who);
    else if (a->type == HTTP_AUTH_BASIC && (v = after_scheme(authz, "Basic")) != NULL)
        r = check_basic(a->set, v, who);
    else if (a->type == HTTP_AUTH_MTLS && peer != NULL && peer[0] != '\0')
        r = check_mtls(a->set, a->file, peer, who);
    pthread_rwlock_unlock(&a->lock);
    if (r != HTTP_AUTH_OK) {
        memset(who, 0, sizeof(*who));
        ottr_counter_add(r == HTTP_AUTH_MISSING ? a->m_missing : a->m_wrong, 1);
        OTTR_DEBUG("http", "%s: request refused: %s credentials", a->listener,
                   r == HTTP_AUTH_MISSING ? "missing" : "wrong");
    }
    return r;
}

int http_auth_request(void *ctx, const http_request *req, const char *peer, http_principal *who,
                      http_response *resp)
{
    http_auth *a = ctx;
    http_auth_result r = http_auth_check(a, http_request_header(req, "authorization"), peer, who);
    if (r == HTTP_AUTH_OK)
        return 0;
    const char *ch = http_auth_challenge(a);
    resp->status = 401;
    if (ch != NULL)
        http_response_set_header(resp, "WWW-Authenticate", ch);
    http_response_set_type(resp, "application/json");
    ottr_buf_reset(&resp->body);
    ottr_buf_puts(&resp->body, r == HTTP_AUTH_MISSING ? "{\"error\":\"authentication required\"}\n"
                                                      : "{\"error\":\"invalid credentials\"}\n");
    return -1;
}
