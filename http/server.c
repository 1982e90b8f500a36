/* http/server.c - the HTTP server's threads and connections: one accept
 * thread hands sockets to N libevent loop threads (least loaded first); each loop
 * reads into one buffer, sniffs the HTTP/2 preface, feeds HTTP/1.1 or HTTP/2, and
 * writes queued output; a tick enforces the idle, request and linger deadlines and
 * the minimum body rate. The accept thread caps connections per client address;
 * at the server's cap the loop taking a newcomer closes its most idle or slowest
 * connection to make room. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/internal.h"

static const uint8_t h2_magic[HTTP_SNIFF_LEN] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

#define ACCEPT_BACKOFF_MS 100  /* after EMFILE and the like */
#define TICK_MS           1000 /* at most; shorter with short limits */
#define TICK_MIN_MS       50
#define IP_BUCKETS        4096
#define EVICT_SCAN        256 /* connections looked at, least recently read first */
/* Newcomers past the cap still being handed to loops, each to replace a victim;
 * past this many more they are refused at once. */
#define OVER_CAP_SLACK 64

/* An accepted socket on its way to a loop thread. */
typedef struct http_pending {
    int fd;
    int evict; /* over the cap: adopt only in place of a victim */
    http_ipkey ip;
} http_pending;

/* Open connections of one client address. */
typedef struct http_ipent {
    struct http_ipent *next;
    http_ipkey key;
    uint32_t n;
} http_ipent;

/* The answer to a client over its address's cap, written once without waiting. */
static const char over_ip_cap[] = "HTTP/1.1 503 Service Unavailable\r\n"
                                  "Content-Type: text/plain; charset=utf-8\r\n"
                                  "Content-Length: 39\r\n"
                                  "Retry-After: 1\r\n"
                                  "Connection: close\r\n\r\n"
                                  "too many connections from this address\n";

static void conn_on_read(evutil_socket_t fd, short what, void *arg);
static void conn_on_write(evutil_socket_t fd, short what, void *arg);

/* ------------------------------------------------------------------ client addresses */

static uint32_t ip_hash(const http_server *s, const http_ipkey *k)
{
    uint64_t h = s->ip_seed ^ 0xcbf29ce484222325ull;
    for (int i = 0; i < 8; i++)
        h = (h ^ k->b[i]) * 0x100000001b3ull;
    h = (h ^ k->v6) * 0x100000001b3ull;
    return (uint32_t)(h ^ (h >> 32)) % IP_BUCKETS;
}

/* The key of the peer in |ss|: IPv4 (also when mapped into IPv6) or an IPv6 /64. */
static void ip_key(const struct sockaddr_storage *ss, http_ipkey *k)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memset(k, 0, sizeof(*k));
    if (ss->ss_family == AF_INET) {
        memcpy(k->b, &((const struct sockaddr_in *)ss)->sin_addr, 4);
        k->valid = 1;
    } else if (ss->ss_family == AF_INET6) {
        const uint8_t *a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
        if (memcmp(a, mapped, 12) == 0) {
            memcpy(k->b, a + 12, 4);
        } else {
            memcpy(k->b, a, 8);
            k->v6 = 1;
        }
        k->valid = 1;
    }
}

static int ip_same(const http_ipkey *a, const http_ipkey *b)
{
    return a->v6 == b->v6 && memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

/* Counts one more connection of |k|. Returns 0, or -1 when the address is at
 * its cap (nothing counted). Out of memory lets the connection in uncounted. */
static int ip_acquire(http_server *s, http_ipkey *k)
{
    if (!k->valid || s->lim.max_conns_per_ip == 0)
        return 0;
    uint32_t b = ip_hash(s, k);
    int rc = 0;
    pthread_mutex_lock(&s->ip_mu);
    http_ipent *e = s->ip_buckets[b];
    while (e != NULL && !ip_same(&e->key, k))
        e = e->next;
    if (e == NULL) {
        e = calloc(1, sizeof(*e));
        if (e == NULL) {
            k->valid = 0; /* not counted, so not released either */
        } else {
            e->key = *k;
            e->next = s->ip_buckets[b];
            s->ip_buckets[b] = e;
        }
    }
    if (e != NULL) {
        if (e->n >= s->lim.max_conns_per_ip)
            rc = -1;
        else
            e->n++;
    }
    pthread_mutex_unlock(&s->ip_mu);
    return rc;
}

static void ip_release(http_server *s, const http_ipkey *k)
{
    if (!k->valid || s->lim.max_conns_per_ip == 0)
        return;
    uint32_t b = ip_hash(s, k);
    pthread_mutex_lock(&s->ip_mu);
    http_ipent **pp = &s->ip_buckets[b];
    while (*pp != NULL && !ip_same(&(*pp)->key, k))
        pp = &(*pp)->next;
    http_ipent *e = *pp;
    if (e != NULL && --e->n == 0) {
        *pp = e->next;
        free(e);
    }
    pthread_mutex_unlock(&s->ip_mu);
}

static void ip_free_all(http_server *s)
{
    if (s->ip_buckets == NULL)
        return;
    for (size_t i = 0; i < IP_BUCKETS; i++) {
        http_ipent *e = s->ip_buckets[i], *next;
        for (; e != NULL; e = next) {
            next = e->next;
            free(e);
        }
    }
    free(s->ip_buckets);
    s->ip_buckets = NULL;
}

/* Closes a socket that was never adopted and forgets it. */
static void server_drop(http_server *s, int fd, const http_ipkey *ip)
{
    close(fd);
    ip_release(s, ip);
    atomic_fetch_sub(&s->nconns, 1);
}

/* ------------------------------------------------------------------ connections */

static void conn_unlink(http_conn *c)
{
    http_worker *w = c->w;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        w->conns_tail = c->prev;
    c->prev = c->next = NULL;
}

static void conn_push_front(http_conn *c)
{
    http_worker *w = c->w;
    c->prev = NULL;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    else
        w->conns_tail = c;
    w->conns = c;
}

static void conn_close(http_conn *c)
{
    http_worker *w = c->w;
    event_del(&c->rev);
    event_del(&c->wev);
    http_tls_conn_close(c);
    close(c->fd);
    http_defer_conn_closed(c);
    conn_unlink(c);
    ip_release(w->srv, &c->ip);
    http_h1_free(c);
    http_h2_free(c);
    http_out_free(&c->out);
    free(c);
    atomic_fetch_sub(&w->nconns, 1);
    atomic_fetch_sub(&w->srv->nconns, 1);
    if (w->draining && w->conns == NULL)
        event_base_loopbreak(w->base);
}

/* Reading of |c| goes on: over TLS, bytes already decrypted or read into its
 * SSL are taken now, since the socket may never signal them. */
static void conn_read_resume(http_conn *c)
{
    event_add(&c->rev, NULL);
    if (http_tls_pending(c))
        event_active(&c->rev, EV_READ, 1);
}

/* Starts the lingering close: the answer is out, so shut the write side and
 * discard what the client still sends, so that it reads the answer instead of a
 * reset. Returns 0, or -1 when |c| was closed. */
static int conn_linger(http_conn *c)
{
    if (c->eof) {
        conn_close(c);
        return -1;
    }
    http_tls_conn_notify_close(c);
    shutdown(c->fd, SHUT_WR);
    c->lingering = 1;
    c->linger_deadline_ms = http_now_ms() + c->w->srv->lim.linger_ms;
    if (c->write_armed) {
        event_del(&c->wev);
        c->write_armed = 0;
    }
    if (c->read_paused) {
        event_add(&c->rev, NULL);
        c->read_paused = 0;
    }
    return 0;
}

/* Sends what is queued, arms or disarms the events and closes when done. Returns
 * 0, or -1 when |c| was closed. */
static int conn_flush(http_conn *c)
{
    if (c->fatal) {
        conn_close(c);
        return -1;
    }
    if (c->lingering)
        return 0;
    for (;;) {
        if (c->proto == HTTP_PROTO_H2 && http_h2_pump(c) != 0) {
            conn_close(c);
            return -1;
        }
        if (c->out.bytes == 0)
            break;
        int rc = c->ssl ? http_tls_out_write(&c->out, c) : http_out_write(&c->out, c->fd);
        if (rc < 0) {
            conn_close(c);
            return -1;
        }
        c->last_ms = http_now_ms();
        if (rc == 0)
            break;
    }
    if (c->out.bytes > 0) {
        if (!c->write_armed) {
            event_add(&c->wev, NULL);
            c->write_armed = 1;
        }
    } else if (c->write_armed) {
        event_del(&c->wev);
        c->write_armed = 0;
    }
    if (c->out.bytes == 0 && c->ndeferred == 0) {
        if (c->proto == HTTP_PROTO_H2 && http_h2_done(c)) {
            conn_close(c);
            return -1;
        }
        /* An idle keep-alive connection of a stopping server closes at once. */
        int h1_done = c->proto == HTTP_PROTO_H1 && c->w->draining && http_h1_idle(c) && !c->closing;
        if (c->eof || h1_done || (c->proto == HTTP_PROTO_H2 && c->closing)) {
            conn_close(c);
            return -1;
        }
        if (c->closing)
            return conn_linger(c);
    }
    if (c->out.bytes > HTTP_OUT_HIGH_WATER && !c->read_paused) {
        event_del(&c->rev);
        c->read_paused = 1;
    } else if (c->read_paused && c->out.bytes < HTTP_OUT_LOW_WATER && !c->eof && !c->held) {
        conn_read_resume(c);
        c->read_paused = 0;
    }
    return 0;
}

/* Hands fresh bytes to the protocol; |data| has HTTP_SNIFF_LEN bytes of headroom.
 * Returns 0, or -1 when the connection must close at once. */
static int conn_feed(http_conn *c, uint8_t *data, size_t n)
{
    if (c->proto == HTTP_PROTO_SNIFF) {
        if (c->sniff_len > 0) {
            data -= c->sniff_len;
            memcpy(data, c->sniff, c->sniff_len);
            n += c->sniff_len;
            c->sniff_len = 0;
        }
        size_t m = n < HTTP_SNIFF_LEN ? n : HTTP_SNIFF_LEN;
        if (memcmp(data, h2_magic, m) == 0) {
            if (n < HTTP_SNIFF_LEN) {
                memcpy(c->sniff, data, n); /* a prefix of the preface: wait */
                c->sniff_len = (uint8_t)n;
                return 0;
            }
            c->proto = HTTP_PROTO_H2;
            if (http_h2_start(c) != 0)
                return -1;
        } else {
            c->proto = HTTP_PROTO_H1;
            http_h1_start(c);
        }
    }
    if (c->proto == HTTP_PROTO_H2)
        return http_h2_feed(c, data, n);
    return http_h1_feed(c, data, n);
}

int http_conn_feed(http_conn *c, uint8_t *data, size_t n)
{
    return conn_feed(c, data, n);
}

static void conn_on_read(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    http_conn *c = arg;
    http_worker *w = c->w;
    uint8_t *buf = w->rbuf + HTTP_SNIFF_LEN;
    for (int i = 0; i < 4; i++) {
        ssize_t n = c->ssl && !c->lingering ? http_tls_recv(c, buf, HTTP_READ_BUF)
                                            : recv(fd, buf, HTTP_READ_BUF, 0);
        if (n > 0) {
            c->last_ms = http_now_ms();
            c->rx_bytes += (uint64_t)n;
            if (c->prev != NULL) { /* the list stays least recently read last */
                conn_unlink(c);
                conn_push_front(c);
            }
            if (c->lingering || c->closing)
                continue; /* discarded */
            if (conn_feed(c, buf, (size_t)n) != 0) {
                conn_close(c);
                return;
            }
            if ((size_t)n < HTTP_READ_BUF || c->out.bytes > HTTP_OUT_HIGH_WATER || c->held)
                break;
            continue;
        }
        if (n == 0) {
            if (c->lingering || (c->out.bytes == 0 && c->ndeferred == 0) ||
                c->proto == HTTP_PROTO_SNIFF) {
                conn_close(c);
                return;
            }
            /* Half-closed: send what is queued, then close. */
            c->eof = 1;
            event_del(&c->rev);
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        conn_close(c);
        return;
    }
    if (c->tls_read_wants_write && !c->write_armed) {
        event_add(&c->wev, NULL); /* conn_on_write reads again */
        c->write_armed = 1;
    }
    if (conn_flush(c) != 0)
        return;
    if (http_tls_pending(c) && !c->read_paused && !c->held && !c->eof && !c->lingering)
        event_active(&c->rev, EV_READ, 1);
}

static void conn_on_write(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    http_conn *c = arg;
    if (c->tls_read_wants_write) {
        conn_on_read(fd, EV_READ, c);
        return;
    }
    conn_flush(c);
}

/* 1 when nothing of a request is under way on |c|. */
static int conn_idle(const http_conn *c)
{
    if (c->out.bytes > 0 || c->ndeferred > 0)
        return 0;
    if (c->proto == HTTP_PROTO_H1)
        return http_h1_idle(c);
    return c->proto == HTTP_PROTO_SNIFF && c->sniff_len == 0;
}

/* How |c| stands for making room for a newcomer: 0 closing already, 1 idle (no
 * request under way) since |*since_ms|, 2 receiving a request since |*since_ms|,
 * 3 never (an answer is under way). */
static int conn_evict_class(const http_conn *c, uint64_t *since_ms)
{
    *since_ms = c->last_ms;
    if (c->lingering || c->closing || c->fatal)
        return 0;
    if (c->out.bytes > 0 || c->ndeferred > 0)
        return 3;
    switch (c->proto) {
    case HTTP_PROTO_SNIFF:
        *since_ms = c->start_ms;
        return c->sniff_len == 0 ? 1 : 2;
    case HTTP_PROTO_H1:
        if (http_h1_idle(c))
            return 1;
        *since_ms = c->h1.clock.start_ms;
        return c->h1.answered ? 3 : 2;
    default:
        return http_h2_evict_class(c, since_ms);
    }
}

/* The connection of |w| to close for a newcomer at the cap: one closing
 * already, else the one that has gone longest without finishing anything (idle
 * the longest, or receiving one request the longest); NULL when every one looked
 * at is answering. Looks at the least recently read ones first, EVICT_SCAN of
 * them at most, so that a flood of newcomers costs little each. */
static http_conn *worker_pick_victim(http_worker *w)
{
    http_conn *best = NULL;
    uint64_t best_since = 0;
    int seen = 0;
    for (http_conn *c = w->conns_tail; c != NULL; c = c->prev) {
        uint64_t since;
        int k = conn_evict_class(c, &since);
        if (k == 0)
            return c;
        if (k < 3 && (best == NULL || since < best_since)) {
            best = c;
            best_since = since;
        }
        if (++seen >= EVICT_SCAN && best != NULL)
            break;
    }
    return best;
}

static void conn_adopt(http_worker *w, const http_pending *p)
{
    http_server *s = w->srv;
    if (p->evict && atomic_load(&s->nconns) > s->lim.max_connections) {
        http_conn *victim = worker_pick_victim(w);
        if (victim == NULL) {
            ottr_counter_add(s->m_refused_max, 1);
            server_drop(s, p->fd, &p->ip);
            atomic_fetch_sub(&w->nconns, 1);
            return;
        }
        OTTR_DEBUG("http", "%s: at %u connections: closing one to let a new one in", s->name,
                   s->lim.max_connections);
        ottr_counter_add(s->m_evicted, 1);
        if (victim->proto == HTTP_PROTO_H2 && !victim->lingering) {
            http_h2_goaway(victim); /* best effort: tell the client why */
            if (conn_flush(victim) == 0)
                conn_close(victim);
        } else {
            conn_close(victim);
        }
    }
    http_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        server_drop(s, p->fd, &p->ip);
        atomic_fetch_sub(&w->nconns, 1);
        return;
    }
    c->w = w;
    c->fd = p->fd;
    c->ip = p->ip;
    c->last_ms = c->start_ms = http_now_ms();
    if (s->tls != NULL && http_tls_conn_start(c, s->tls) != 0) {
        free(c);
        server_drop(s, p->fd, &p->ip);
        atomic_fetch_sub(&w->nconns, 1);
        return;
    }
    event_assign(&c->rev, w->base, c->fd, EV_READ | EV_PERSIST, conn_on_read, c);
    event_assign(&c->wev, w->base, c->fd, EV_WRITE | EV_PERSIST, conn_on_write, c);
    conn_push_front(c);
    ottr_counter_add(s->m_conns, 1);
    event_add(&c->rev, NULL);
}

int http_conn_flush(http_conn *c)
{
    return conn_flush(c);
}

void http_conn_close(http_conn *c)
{
    conn_close(c);
}

/* ------------------------------------------------------------------ loop threads */

/* Stops the loop once every connection is gone: idle ones close now, HTTP/2 ones
 * get a GOAWAY, busy HTTP/1.1 ones close after their current answer. */
static void worker_drain(http_worker *w)
{
    w->draining = 1;
    w->drain_deadline_ms = http_now_ms() + w->srv->lim.drain_ms;
    http_conn *c = w->conns, *next;
    for (; c != NULL; c = next) {
        next = c->next;
        if (c->lingering)
            continue;
        if (c->proto == HTTP_PROTO_H2) {
            http_h2_goaway(c);
            conn_flush(c);
            continue;
        }
        /* A request may already wait in the socket: take it in first. */
        if (conn_idle(c) && !c->read_paused && !c->eof) {
            conn_on_read(c->fd, EV_READ, c);
            /* |c| may be gone now; look again through the list. */
        }
    }
    for (c = w->conns; c != NULL; c = next) {
        next = c->next;
        if (!c->lingering && c->proto != HTTP_PROTO_H2 && conn_idle(c))
            conn_close(c);
    }
    if (w->conns == NULL)
        event_base_loopbreak(w->base);
}

static void worker_on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    http_worker *w = arg;
    const http_limits *lim = &w->srv->lim;
    uint64_t now = http_now_ms();
    if (w->draining && now >= w->drain_deadline_ms) {
        if (w->conns != NULL)
            OTTR_WARN("http", "%s: closing %u connections still busy at shutdown", w->srv->name,
                      atomic_load(&w->nconns));
        while (w->conns != NULL)
            conn_close(w->conns);
        event_base_loopbreak(w->base);
        return;
    }
    http_conn *c = w->conns, *next;
    for (; c != NULL; c = next) {
        next = c->next;
        if (c->lingering) {
            if (now >= c->linger_deadline_ms)
                conn_close(c);
            continue;
        }
        uint64_t since;
        int idle = now - c->last_ms >= lim->idle_timeout_ms;
        if (!idle && c->proto == HTTP_PROTO_H2 && http_h2_evict_class(c, &since) == 1)
            idle = now - since >= lim->idle_timeout_ms; /* PINGs alone do not keep it */
        if (idle && c->ndeferred == 0) {
            OTTR_DEBUG("http", "%s: closing an idle connection", w->srv->name);
            if (c->proto == HTTP_PROTO_H2) {
                http_h2_goaway(c); /* best effort: tell the client why */
                if (conn_flush(c) != 0)
                    continue;
            }
            conn_close(c);
            continue;
        }
        if (c->proto == HTTP_PROTO_H1) {
            http_h1_check(c, now);
            if (c->closing)
                conn_flush(c);
        } else if (c->proto == HTTP_PROTO_H2) {
            http_h2_check(c, now);
            conn_flush(c);
        } else if (c->sniff_len > 0 && now - c->start_ms >= lim->request_timeout_ms) {
            http_count_late(w->srv, HTTP_LATE_TIMEOUT, "HTTP/2 preface");
            conn_close(c);
        }
    }
    ottr_gauge_set(w->srv->m_open, (double)atomic_load(&w->srv->nconns));
}

/* The tick period: a quarter of the shortest deadline, within TICK_MIN_MS and
 * TICK_MS, so that a deadline is enforced at most a quarter late. */
static uint32_t tick_ms(const http_limits *l)
{
    uint32_t t = TICK_MS;
    uint32_t d[] = {l->idle_timeout_ms, l->header_timeout_ms, l->request_timeout_ms,
                    l->min_body_rate ? l->body_rate_window_ms : TICK_MS * 4, l->linger_ms};
    for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
        if (d[i] / 4 < t)
            t = d[i] / 4;
    return t < TICK_MIN_MS ? TICK_MIN_MS : t;
}

static void worker_on_notify(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    http_worker *w = arg;
    uint64_t v;
    if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        OTTR_WARN("http", "%s: eventfd read: %s", w->srv->name, strerror(errno));
    http_defer_deliver(w);
    for (;;) {
        http_pending got[64];
        size_t n = 0;
        pthread_mutex_lock(&w->mu);
        while (n < 64 && w->npending > 0)
            got[n++] = w->pending[--w->npending];
        int stop = w->stop_req;
        pthread_mutex_unlock(&w->mu);
        for (size_t i = 0; i < n; i++)
            conn_adopt(w, &got[i]);
        if (n == 0) {
            if (stop && !w->draining)
                worker_drain(w);
            return;
        }
    }
}

static void *worker_main(void *arg)
{
    http_worker *w = arg;
    pthread_setname_np(pthread_self(), "ottr-http");
    event_base_dispatch(w->base);
    while (w->conns != NULL)
        conn_close(w->conns);
    return NULL;
}

static void worker_wake(http_worker *w)
{
    uint64_t one = 1;
    if (write(w->notify_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        OTTR_WARN("http", "%s: eventfd write: %s", w->srv->name, strerror(errno));
}

static int worker_init(http_server *s, http_worker *w, int index)
{
    w->srv = s;
    w->index = index;
    w->notify_fd = -1;
    if (pthread_mutex_init(&w->mu, NULL) != 0)
        return -1;
    struct event_config *cfg = event_config_new();
    if (cfg == NULL)
        return -1;
    event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
    w->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    w->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->rbuf = malloc(HTTP_SNIFF_LEN + HTTP_READ_BUF);
    w->hdrs = calloc(HTTP_MAX_HEADERS + 1, sizeof(http_header)); /* + host from :authority */
    if (w->base == NULL || w->notify_fd < 0 || w->rbuf == NULL || w->hdrs == NULL)
        return -1;
    event_assign(&w->notify_ev, w->base, w->notify_fd, EV_READ | EV_PERSIST, worker_on_notify, w);
    event_assign(&w->tick_ev, w->base, -1, EV_PERSIST, worker_on_tick, w);
    uint32_t t = tick_ms(&s->lim);
    struct timeval tv = {t / 1000, (suseconds_t)(t % 1000) * 1000};
    if (event_add(&w->notify_ev, NULL) != 0 || event_add(&w->tick_ev, &tv) != 0)
        return -1;
    w->date_sec = -1;
    return 0;
}

static void worker_free(http_worker *w)
{
    if (w->base) {
        event_del(&w->notify_ev);
        event_del(&w->tick_ev);
        event_base_free(w->base);
    }
    for (size_t i = 0; i < w->npending; i++)
        server_drop(w->srv, w->pending[i].fd, &w->pending[i].ip);
    free(w->pending);
    if (w->notify_fd >= 0)
        close(w->notify_fd);
    free(w->rbuf);
    free(w->hdrs);
    pthread_mutex_destroy(&w->mu);
}

/* ------------------------------------------------------------------ accept thread */

/* Gives |p| to the loop with the fewest connections or, when it is to replace
 * a victim, to the one with the most. Returns 0 or -1. */
static int server_dispatch(http_server *s, const http_pending *p, unsigned *rr)
{
    http_worker *best = NULL;
    unsigned best_n = 0;
    for (int i = 0; i < s->nworkers; i++) {
        http_worker *w = &s->workers[(*rr + (unsigned)i) % (unsigned)s->nworkers];
        unsigned n = atomic_load(&w->nconns);
        if (best == NULL || (p->evict ? n > best_n : n < best_n)) {
            best = w;
            best_n = n;
        }
    }
    (*rr)++;
    pthread_mutex_lock(&best->mu);
    if (best->npending == best->cappending) {
        size_t cap = best->cappending ? best->cappending * 2 : 16;
        http_pending *np = realloc(best->pending, cap * sizeof(*np));
        if (np == NULL) {
            pthread_mutex_unlock(&best->mu);
            return -1;
        }
        best->pending = np;
        best->cappending = cap;
    }
    best->pending[best->npending++] = *p;
    atomic_fetch_add(&best->nconns, 1);
    pthread_mutex_unlock(&best->mu);
    worker_wake(best);
    return 0;
}

/* Logs at most every 10 s through |*last|. */
static int log_due(uint64_t *last)
{
    uint64_t now = http_now_ms();
    if (*last != 0 && now - *last < 10000)
        return 0;
    *last = now;
    return 1;
}

/* Lets the accepted |fd| from |ss| in, or refuses it. */
static void server_admit(http_server *s, int fd, const struct sockaddr_storage *ss, unsigned *rr)
{
    static _Thread_local uint64_t last_ip_log, last_full_log;
    http_pending p = {.fd = fd};
    ip_key(ss, &p.ip);
    if (ip_acquire(s, &p.ip) != 0) {
        /* Counted first: whoever reads the answer finds the count already up. */
        ottr_counter_add(s->m_refused_ip, 1);
        /* One try without waiting: the client learns why and when to come back. */
        ssize_t n = send(fd, over_ip_cap, sizeof(over_ip_cap) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)n;
        close(fd);
        if (log_due(&last_ip_log))
            OTTR_WARN("http", "%s: a client address has %u connections open; refusing more",
                      s->name, s->lim.max_conns_per_ip);
        return;
    }
    unsigned open = atomic_load(&s->nconns);
    if (open >= s->lim.max_connections + OVER_CAP_SLACK) {
        /* The loops are behind making room: refuse. */
        ottr_counter_add(s->m_refused_max, 1);
        close(fd);
        ip_release(s, &p.ip);
        return;
    }
    if (open >= s->lim.max_connections) {
        p.evict = 1;
        if (log_due(&last_full_log))
            OTTR_WARN("http", "%s: %u connections open; closing idle or slow ones for new ones",
                      s->name, s->lim.max_connections);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    atomic_fetch_add(&s->nconns, 1);
    if (server_dispatch(s, &p, rr) != 0)
        server_drop(s, fd, &p.ip);
}

static void *acceptor_main(void *arg)
{
    http_server *s = arg;
    pthread_setname_np(pthread_self(), "ottr-accept");
    unsigned rr = 0;
    int backoff = 0;
    for (;;) {
        struct pollfd p[2] = {{.fd = s->listen_fd, .events = backoff ? 0 : POLLIN},
                              {.fd = s->acceptor_fd, .events = POLLIN}};
        int rc = poll(p, 2, backoff ? ACCEPT_BACKOFF_MS : -1);
        if (rc < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        backoff = 0;
        if (!(p[0].revents & POLLIN))
            continue;
        for (int i = 0; i < 64; i++) {
            struct sockaddr_storage ss;
            socklen_t sl = sizeof(ss);
            int fd =
                accept4(s->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED)
                    continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK) {
                    OTTR_WARN("http", "%s: accept: %s", s->name, strerror(errno));
                    backoff = 1;
                }
                break;
            }
            server_admit(s, fd, &ss, &rr);
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ start / stop */

static int server_listen(http_server *s, char *err, size_t errlen)
{
    char host[128];
    int port;
    if (ottr_parse_addr(s->addr, host, sizeof(host), &port) != 0) {
        snprintf(err, errlen, "bad address \"%s\" (want host:port)", s->addr);
        return -1;
    }
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host[0] ? host : "0.0.0.0", portstr, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "resolve %s: %s", s->addr, gai_strerror(gai));
        return -1;
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "bind %s: %s", s->addr, strerror(saved));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        snprintf(err, errlen, "getsockname %s: %s", s->addr, strerror(errno));
        close(fd);
        return -1;
    }
    s->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    s->listen_fd = fd;
    return 0;
}

static void server_free(http_server *s)
{
    if (s->acceptor_started) {
        uint64_t one = 1;
        if (write(s->acceptor_fd, &one, sizeof(one)) < 0)
            OTTR_WARN("http", "%s: eventfd write: %s", s->name, strerror(errno));
        pthread_join(s->acceptor, NULL);
    }
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    s->listen_fd = -1;
    for (int i = 0; i < s->nstarted; i++) {
        http_worker *w = &s->workers[i];
        pthread_mutex_lock(&w->mu);
        w->stop_req = 1;
        pthread_mutex_unlock(&w->mu);
        worker_wake(w);
    }
    for (int i = 0; i < s->nstarted; i++)
        pthread_join(s->workers[i].thread, NULL);
    http_defer_stop(s);
    for (int i = 0; i < s->ninit; i++)
        worker_free(&s->workers[i]);
    free(s->workers);
    if (s->acceptor_fd >= 0)
        close(s->acceptor_fd);
    http_h2_callbacks_free(s);
    http_tls_free(s->tls);
    ip_free_all(s);
    pthread_mutex_destroy(&s->ip_mu);
    free(s);
}

ottr_status http_server_start_limits(const http_server_options *o, const http_limits *l,
                                     http_server **out, char *err, size_t errlen)
{
    *out = NULL;
    if (o == NULL || o->handler == NULL || o->addr == NULL || o->threads < 1 ||
        o->max_body_bytes == 0) {
        snprintf(err, errlen, "http server: bad options");
        return OTTR_ERR_INVALID;
    }
    http_server *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return OTTR_ERR_NOMEM;
    }
    s->o = *o;
    s->o.limits = NULL; /* copied into |lim| */
    s->lim = *l;
    if (s->lim.max_connections == 0)
        s->lim.max_connections = 1;
    s->listen_fd = -1;
    s->acceptor_fd = -1;
    pthread_mutex_init(&s->ip_mu, NULL);
    if (getrandom(&s->ip_seed, sizeof(s->ip_seed), GRND_NONBLOCK) != sizeof(s->ip_seed))
        s->ip_seed = ottr_mono_ns() ^ (uint64_t)(uintptr_t)s;
    snprintf(s->name, sizeof(s->name), "%s", o->name ? o->name : "http");
    snprintf(s->addr, sizeof(s->addr), "%s", o->addr);
    s->o.name = s->name;
    s->o.addr = s->addr;

    char labels[96];
    snprintf(labels, sizeof(labels), "server=\"%s\"", s->name);
    s->m_conns =
        ottr_counter_get("ottr_http_connections_total", "HTTP connections accepted.", labels);
    s->m_bad = ottr_counter_get("ottr_http_bad_requests_total",
                                "HTTP requests answered 400/408 by the server itself.", labels);
    snprintf(labels, sizeof(labels), "server=\"%s\",version=\"1.1\"", s->name);
    s->m_req_h1 = ottr_counter_get("ottr_http_requests_total", "HTTP requests handled.", labels);
    snprintf(labels, sizeof(labels), "server=\"%s\",version=\"2\"", s->name);
    s->m_req_h2 = ottr_counter_get("ottr_http_requests_total", "HTTP requests handled.", labels);
    snprintf(labels, sizeof(labels), "server=\"%s\"", s->name);
    s->m_timeouts = ottr_counter_get(
        "ottr_http_requests_timed_out_total",
        "HTTP requests answered 408 because their headers and body did not arrive in time.",
        labels);
    s->m_slow = ottr_counter_get("ottr_http_slow_bodies_total",
                                 "HTTP requests answered 408 because their body arrived slower "
                                 "than the minimum body rate.",
                                 labels);
    s->m_evicted = ottr_counter_get(
        "ottr_http_connections_evicted_total",
        "HTTP connections closed, idle or slow, to let a new one in at the connection cap.",
        labels);
    s->m_open = ottr_gauge_get("ottr_http_connections_open", "HTTP connections open.", labels);
    snprintf(labels, sizeof(labels), "server=\"%s\",reason=\"per_ip\"", s->name);
    s->m_refused_ip = ottr_counter_get("ottr_http_connections_refused_total",
                                       "HTTP connections refused at once.", labels);
    snprintf(labels, sizeof(labels), "server=\"%s\",reason=\"max\"", s->name);
    s->m_refused_max = ottr_counter_get("ottr_http_connections_refused_total",
                                        "HTTP connections refused at once.", labels);

    snprintf(labels, sizeof(labels), "server=\"%s\"", s->name);
    s->m_tls_failed = ottr_counter_get(
        "ottr_http_tls_handshakes_failed_total",
        "HTTP connections closed because their TLS handshake failed (no or a wrong client "
        "certificate, a plain-text client, no common protocol version).",
        labels);
    if (o->tls != NULL && (s->tls = http_tls_new(o->tls, err, errlen)) == NULL) {
        server_free(s);
        return OTTR_ERR_INVALID;
    }
    s->o.tls = NULL; /* the names live in |tls| */

    if (server_listen(s, err, errlen) != 0) {
        server_free(s);
        return OTTR_ERR_IO;
    }
    s->nworkers = o->threads;
    s->workers = calloc((size_t)s->nworkers, sizeof(http_worker));
    s->ip_buckets = calloc(IP_BUCKETS, sizeof(*s->ip_buckets));
    s->acceptor_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->workers == NULL || s->ip_buckets == NULL || s->acceptor_fd < 0 ||
        http_h2_callbacks_new(s) != 0) {
        snprintf(err, errlen, "http server %s: out of resources", s->name);
        server_free(s);
        return OTTR_ERR_NOMEM;
    }
    for (int i = 0; i < s->nworkers; i++) {
        s->ninit++;
        if (worker_init(s, &s->workers[i], i) != 0) {
            snprintf(err, errlen, "http server %s: event loop setup failed", s->name);
            server_free(s);
            return OTTR_ERR_IO;
        }
    }
    for (int i = 0; i < s->nworkers; i++) {
        if (pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]) != 0) {
            snprintf(err, errlen, "http server %s: cannot start threads", s->name);
            server_free(s);
            return OTTR_ERR_IO;
        }
        s->nstarted++;
    }
    if (pthread_create(&s->acceptor, NULL, acceptor_main, s) != 0) {
        snprintf(err, errlen, "http server %s: cannot start threads", s->name);
        server_free(s);
        return OTTR_ERR_IO;
    }
    s->acceptor_started = 1;
    OTTR_DEBUG("http", "%s: listening on port %d with %d loop threads", s->name, s->port,
               s->nworkers);
    *out = s;
    return OTTR_OK;
}

ottr_status http_server_start(const http_server_options *o, http_server **out, char *err,
                              size_t errlen)
{
    http_limits l;
    if (o != NULL && o->limits != NULL)
        l = *o->limits;
    else
        http_limits_default(&l);
    return http_server_start_limits(o, &l, out, err, errlen);
}

int http_server_port(const http_server *s)
{
    return s->port;
}

int http_server_reload_tls(http_server *s, char *err, size_t errlen)
{
    return s == NULL ? 0 : http_tls_reload(s->tls, err, errlen);
}

void http_server_stop(http_server *s)
{
    if (s != NULL)
        server_free(s);
}
