/* http/tls.c - TLS for the HTTP server with OpenSSL: the server context (the
 * certificate files, client-certificate verification, TLS 1.2/1.3, ALPN h2 and
 * http/1.1), swapped whole on reload while open connections keep the one they
 * started with; and each connection's non-blocking reads and writes through its
 * SSL on the libevent loop. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "http/internal.h"

struct http_tls {
    char *cert_file, *key_file, *client_ca_file;
    int min_tls13;
    pthread_mutex_t mu;
    SSL_CTX *ctx; /* under |mu|; each SSL made from it holds a reference */
};

/* The first OpenSSL error as text, for a message. */
static const char *ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    if (e == 0)
        snprintf(buf, len, "unknown error");
    else
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

/* ALPN: h2 when the client offers it, else http/1.1; neither: no ALPN. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl, (void)arg;
    static const unsigned char *const prefs[] = {(const unsigned char *)"\x02h2",
                                                 (const unsigned char *)"\x08http/1.1"};
    for (size_t k = 0; k < sizeof(prefs) / sizeof(prefs[0]); k++) {
        for (unsigned int i = 0; i < inlen; i += 1u + in[i]) {
            if (i + 1u + in[i] > inlen)
                break;
            if (in[i] == prefs[k][0] && memcmp(in + i + 1, prefs[k] + 1, in[i]) == 0) {
                *out = in + i + 1;
                *outlen = in[i];
                return SSL_TLSEXT_ERR_OK;
            }
        }
    }
    return SSL_TLSEXT_ERR_NOACK;
}

static SSL_CTX *ctx_load(const http_tls *t, char *err, size_t errlen)
{
    char why[256];
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        snprintf(err, errlen, "TLS: %s", ssl_reason(why, sizeof(why)));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, t->min_tls13 ? TLS1_3_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    if (SSL_CTX_use_certificate_chain_file(ctx, t->cert_file) != 1) {
        snprintf(err, errlen, "TLS cert_file %s: %s", t->cert_file, ssl_reason(why, sizeof(why)));
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, t->key_file, SSL_FILETYPE_PEM) != 1) {
        snprintf(err, errlen, "TLS key_file %s: %s", t->key_file, ssl_reason(why, sizeof(why)));
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "TLS key_file %s does not match cert_file %s", t->key_file,
                 t->cert_file);
        goto fail;
    }
    if (t->client_ca_file != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, t->client_ca_file, NULL) != 1) {
            snprintf(err, errlen, "TLS client_ca_file %s: %s", t->client_ca_file,
                     ssl_reason(why, sizeof(why)));
            goto fail;
        }
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(t->client_ca_file);
        if (names != NULL)
            SSL_CTX_set_client_CA_list(ctx, names);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    ERR_clear_error();
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

static char *dup_or_null(const char *s, int *oom)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        *oom = 1;
    return d;
}

http_tls *http_tls_new(const http_tls_options *o, char *err, size_t errlen)
{
    if (o->cert_file == NULL || o->key_file == NULL) {
        snprintf(err, errlen, "TLS needs both cert_file and key_file");
        return NULL;
    }
    http_tls *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    int oom = 0;
    t->cert_file = dup_or_null(o->cert_file, &oom);
    t->key_file = dup_or_null(o->key_file, &oom);
    t->client_ca_file = dup_or_null(o->client_ca_file, &oom);
    t->min_tls13 = o->min_tls13;
    pthread_mutex_init(&t->mu, NULL);
    if (oom) {
        snprintf(err, errlen, "out of memory");
        http_tls_free(t);
        return NULL;
    }
    t->ctx = ctx_load(t, err, errlen);
    if (t->ctx == NULL) {
        http_tls_free(t);
        return NULL;
    }
    return t;
}

int http_tls_reload(http_tls *t, char *err, size_t errlen)
{
    if (t == NULL)
        return 0;
    SSL_CTX *fresh = ctx_load(t, err, errlen);
    if (fresh == NULL)
        return -1;
    pthread_mutex_lock(&t->mu);
    SSL_CTX *old = t->ctx;
    t->ctx = fresh;
    pthread_mutex_unlock(&t->mu);
    SSL_CTX_free(old); /* connections made from it hold their own references */
    return 0;
}

void http_tls_free(http_tls *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ctx);
    free(t->cert_file);
    free(t->key_file);
    free(t->client_ca_file);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* ------------------------------------------------------------------ connections */

int http_tls_conn_start(http_conn *c, http_tls *t)
{
    pthread_mutex_lock(&t->mu);
    SSL *ssl = SSL_new(t->ctx);
    pthread_mutex_unlock(&t->mu);
    if (ssl == NULL || SSL_set_fd(ssl, c->fd) != 1) {
        SSL_free(ssl);
        ERR_clear_error();
        return -1;
    }
    SSL_set_accept_state(ssl);
    c->ssl = ssl;
    return 0;
}

/* A failed read or write: counts a handshake that did not finish. */
static void tls_failed(http_conn *c)
{
    if (!c->tls_up) {
        ottr_counter_add(c->w->srv->m_tls_failed, 1);
        OTTR_DEBUG("http", "%s: TLS handshake failed", c->w->srv->name);
    }
    ERR_clear_error();
    c->tls_dead = 1;
}

ssize_t http_tls_recv(http_conn *c, uint8_t *buf, size_t cap)
{
    size_t got = 0;
    c->tls_read_wants_write = 0;
    while (got < cap) {
        size_t want = cap - got > INT_MAX ? INT_MAX : cap - got;
        int n = SSL_read(c->ssl, buf + got, (int)want);
        if (n > 0) {
            got += (size_t)n;
            c->tls_up = 1;
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ)
            break;
        if (e == SSL_ERROR_WANT_WRITE) {
            c->tls_read_wants_write = 1;
            break;
        }
        if (got > 0)
            break; /* the end or the error shows again on the next read */
        if (e == SSL_ERROR_ZERO_RETURN)
            return 0;
        tls_failed(c);
        errno = EIO;
        return -1;
    }
    if (SSL_is_init_finished(c->ssl))
        c->tls_up = 1;
    if (got == 0) {
        errno = EAGAIN;
        return -1;
    }
    return (ssize_t)got;
}

int http_tls_out_write(http_out *o, http_conn *c)
{
    while (o->bytes > 0) {
        http_seg *s = &o->segs[o->head];
        size_t len = s->len - s->off;
        int n = SSL_write(c->ssl, s->data + s->off, len > INT_MAX ? INT_MAX : (int)len);
        if (n > 0) {
            http_out_consume(o, (size_t)n);
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
            return 0;
        tls_failed(c);
        return -1;
    }
    return 1;
}

void http_tls_conn_close(http_conn *c)
{
    if (c->ssl == NULL)
        return;
    if (c->tls_up && !c->tls_dead)
        SSL_shutdown(c->ssl); /* one try at close_notify; the socket closes anyway */
    ERR_clear_error();
    SSL_free(c->ssl);
    c->ssl = NULL;
}

void http_tls_conn_notify_close(http_conn *c)
{
    if (c->ssl != NULL && c->tls_up && !c->tls_dead) {
        SSL_shutdown(c->ssl);
        ERR_clear_error();
    }
}

int http_tls_pending(const http_conn *c)
{
    return c->ssl != NULL && SSL_has_pending(c->ssl);
}

const char *http_tls_peer(http_conn *c)
{
    if (c->ssl == NULL || !c->tls_up)
        return NULL;
    if (!c->peer_done) {
        c->peer_done = 1;
        X509 *x = SSL_get0_peer_certificate(c->ssl);
        if (x != NULL && SSL_get_verify_result(c->ssl) == X509_V_OK) {
            X509_NAME *n = X509_get_subject_name(x);
            int len =
                n ? X509_NAME_get_text_by_NID(n, NID_commonName, c->peer, sizeof(c->peer)) : -1;
            if (len <= 0 || (size_t)len >= sizeof(c->peer) || strlen(c->peer) != (size_t)len)
                c->peer[0] = '\0';
        }
        ERR_clear_error();
    }
    return c->peer[0] ? c->peer : NULL;
}
