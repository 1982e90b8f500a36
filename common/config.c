/* common/config.c - the daemon configuration: defaults, the YAML file and
 * command-line overrides, each key checked with an error naming key and line. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"

typedef enum key_type {
    KEY_STRING,
    KEY_ADDR,
    KEY_LOG_LEVEL,
    KEY_SYNC,
    KEY_DURATION,
    KEY_SIZE,
    KEY_UINT,
    KEY_THREADS,
    KEY_NODE, /* kept as written; checked by its owner (sampling.policies) */
} key_type;

typedef struct key_def {
    const char *name; /* dotted path */
    key_type type;
    size_t offset;
} key_def;

#define OFF(f) offsetof(ottr_config, f)

static const key_def keys[] = {
    {"data_dir", KEY_STRING, OFF(data_dir)},
    {"log_level", KEY_LOG_LEVEL, OFF(log_level)},
    {"grpc.addr", KEY_ADDR, OFF(grpc_addr)},
    {"grpc.max_recv_msg_size", KEY_SIZE, OFF(grpc_max_recv_bytes)},
    {"grpc.threads", KEY_THREADS, OFF(grpc_threads)},
    {"http.addr", KEY_ADDR, OFF(http_addr)},
    {"http.max_body_size", KEY_SIZE, OFF(http_max_body_bytes)},
    {"http.threads", KEY_THREADS, OFF(http_threads)},
    {"query.addr", KEY_ADDR, OFF(query_addr)},
    {"jaeger.addr", KEY_ADDR, OFF(jaeger_addr)},
    {"store.sync", KEY_SYNC, OFF(store_sync)},
    {"store.sync_interval", KEY_DURATION, OFF(store_sync_interval_ns)},
    {"store.retention", KEY_DURATION, OFF(store_retention_ns)},
    {"store.max_trace_bytes", KEY_SIZE, OFF(store_max_trace_bytes)},
    {"store.block_cache_size", KEY_SIZE, OFF(store_block_cache_bytes)},
    {"store.memtable_size", KEY_SIZE, OFF(store_memtable_bytes)},
    {"sampling.decision_wait", KEY_DURATION, OFF(decision_wait_ns)},
    {"sampling.decision_wait_after_root", KEY_DURATION, OFF(decision_wait_after_root_ns)},
    /* The OpenTelemetry Collector's name for the same setting. */
    {"sampling.decision_wait_after_root_received", KEY_DURATION, OFF(decision_wait_after_root_ns)},
    {"sampling.max_spans_per_trace", KEY_UINT, OFF(max_spans_per_trace)},
    {"sampling.max_trace_bytes", KEY_SIZE, OFF(max_trace_bytes)},
    {"sampling.max_buffered_traces", KEY_UINT, OFF(max_buffered_traces)},
    {"sampling.num_traces", KEY_UINT, OFF(max_buffered_traces)},
    {"sampling.max_memory", KEY_SIZE, OFF(max_memory_bytes)},
    {"sampling.decision_cache_size", KEY_UINT, OFF(decision_cache_size)},
    {"sampling.policies", KEY_NODE, OFF(policies)},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static int set_str(char **slot, const char *v)
{
    char *s = strdup(v);
    if (s == NULL)
        return -1;
    free(*slot);
    *slot = s;
    return 0;
}

int ottr_config_init(ottr_config *c)
{
    memset(c, 0, sizeof(*c));
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    c->grpc_threads = ncpu >= 2 ? (int)(ncpu > 16 ? 16 : ncpu) : 2;
    c->grpc_max_recv_bytes = 64ull << 20;
    c->http_threads = 2;
    c->http_max_body_bytes = 64ull << 20;
    c->store_sync = OTTR_SYNC_INTERVAL;
    c->store_sync_interval_ns = 100ull * 1000000;
    c->store_retention_ns = 72ull * 3600 * 1000000000;
    c->store_max_trace_bytes = 50ull << 20;
    c->store_block_cache_bytes = 64ull << 20;
    c->store_memtable_bytes = 128ull << 20;
    c->decision_wait_ns = 30ull * 1000000000;
    c->decision_wait_after_root_ns = 2ull * 1000000000;
    c->max_spans_per_trace = 100000;
    c->max_trace_bytes = 0; /* 0 = store.max_trace_bytes */
    c->max_buffered_traces = 1000000;
    c->max_memory_bytes = 512ull << 20;
    c->decision_cache_size = 200000;
    if (set_str(&c->data_dir, "./data") || set_str(&c->log_level, "info") ||
        set_str(&c->grpc_addr, "0.0.0.0:4317") || set_str(&c->http_addr, "0.0.0.0:4318") ||
        set_str(&c->query_addr, "0.0.0.0:3200") || set_str(&c->jaeger_addr, "0.0.0.0:16686")) {
        ottr_config_free(c);
        return -1;
    }
    return 0;
}

void ottr_config_free(ottr_config *c)
{
    free(c->data_dir);
    free(c->log_level);
    free(c->grpc_addr);
    free(c->http_addr);
    free(c->query_addr);
    free(c->jaeger_addr);
    free(c->source);
    ottr_yaml_free(c->yaml);
    memset(c, 0, sizeof(*c));
}

int ottr_parse_addr(const char *addr, char *host, size_t hostlen, int *port)
{
    const char *colon;
    const char *h = addr;
    size_t hlen;
    if (addr == NULL || *addr == '\0')
        return -1;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        h = addr + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (colon == NULL)
            return -1;
        hlen = (size_t)(colon - addr);
        if (memchr(addr, ':', hlen) != NULL) /* bare IPv6 needs brackets */
            return -1;
    }
    for (size_t i = 0; i < hlen; i++) {
        unsigned char ch = (unsigned char)h[i];
        if (!isalnum(ch) && ch != '.' && ch != '-' && ch != '_' && ch != ':' && ch != '%')
            return -1;
    }
    const char *p = colon + 1;
    if (*p == '\0')
        return -1;
    long v = 0;
    for (; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        v = v * 10 + (*p - '0');
        if (v > 65535)
            return -1;
    }
    if (hlen + 1 > hostlen)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)v;
    return 0;
}

static const key_def *find_key(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

/* Stores scalar |v| for |k|. On error writes "<problem>" to |err|. */
static int apply_scalar(ottr_config *c, const key_def *k, const char *v, char *err, size_t errlen)
{
    char *base = (char *)c;
    switch (k->type) {
    case KEY_STRING:
        if (*v == '\0') {
            snprintf(err, errlen, "must not be empty");
            return -1;
        }
        break;
    case KEY_ADDR: {
        char host[256];
        int port;
        if (ottr_parse_addr(v, host, sizeof(host), &port) != 0) {
            snprintf(err, errlen, "bad address \"%s\" (want host:port, e.g. 0.0.0.0:4317)", v);
            return -1;
        }
        break;
    }
    case KEY_LOG_LEVEL: {
        ottr_log_level l;
        if (ottr_log_level_parse(v, &l) != 0) {
            snprintf(err, errlen, "unknown log level \"%s\" (want debug, info, warn or error)", v);
            return -1;
        }
        break;
    }
    case KEY_SYNC: {
        ottr_sync_policy p;
        if (strcmp(v, "none") == 0)
            p = OTTR_SYNC_NONE;
        else if (strcmp(v, "interval") == 0)
            p = OTTR_SYNC_INTERVAL;
        else if (strcmp(v, "always") == 0)
            p = OTTR_SYNC_ALWAYS;
        else {
            snprintf(err, errlen, "unknown sync policy \"%s\" (want none, interval or always)", v);
            return -1;
        }
        *(ottr_sync_policy *)(base + k->offset) = p;
        return 0;
    }
    case KEY_DURATION: {
        uint64_t ns;
        if (ottr_parse_duration(v, &ns) != 0) {
            snprintf(err, errlen, "bad duration \"%s\" (want e.g. 500ms, 30s, 72h)", v);
            return -1;
        }
        *(uint64_t *)(base + k->offset) = ns;
        return 0;
    }
    case KEY_SIZE: {
        uint64_t n;
        if (ottr_parse_size(v, &n) != 0) {
            snprintf(err, errlen, "bad size \"%s\" (want bytes or e.g. 64MiB)", v);
            return -1;
        }
        *(uint64_t *)(base + k->offset) = n;
        return 0;
    }
    case KEY_UINT:
    case KEY_THREADS: {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(v, &end, 10);
        if (!isdigit((unsigned char)*v) || *end != '\0' || errno != 0) {
            snprintf(err, errlen, "bad number \"%s\" (want a whole number)", v);
            return -1;
        }
        if (k->type == KEY_THREADS) {
            if (n < 1 || n > 64) {
                snprintf(err, errlen, "bad thread count \"%s\" (want 1 to 64)", v);
                return -1;
            }
            *(int *)(base + k->offset) = (int)n;
        } else {
            *(uint64_t *)(base + k->offset) = n;
        }
        return 0;
    }
    case KEY_NODE:
        snprintf(err, errlen, "cannot be set from the command line");
        return -1;
    }
    if (set_str((char **)(base + k->offset), v) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int ottr_config_set(ottr_config *c, const char *key, const char *value, char *err, size_t errlen)
{
    const key_def *k = find_key(key);
    if (k == NULL) {
        snprintf(err, errlen, "%s: unknown key", key);
        return -1;
    }
    char problem[400];
    if (apply_scalar(c, k, value, problem, sizeof(problem)) != 0) {
        snprintf(err, errlen, "%s: %s", key, problem);
        return -1;
    }
    return 0;
}

/* Walks map |n| whose dotted path is |prefix| ("" at the top). */
static int apply_map(ottr_config *c, const ottr_yaml_node *n, const char *prefix, const char *where,
                     char *err, size_t errlen)
{
    for (const ottr_yaml_node *e = n->child; e; e = e->next) {
        char path[256];
        snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", e->key);
        const key_def *k = find_key(path);
        if (k == NULL) {
            /* A section: some key starts with "path." */
            size_t pl = strlen(path);
            int section = 0;
            for (size_t i = 0; i < NKEYS; i++)
                if (strncmp(keys[i].name, path, pl) == 0 && keys[i].name[pl] == '.')
                    section = 1;
            if (!section) {
                snprintf(err, errlen, "%s:%d: %s: unknown key", where, e->line, path);
                return -1;
            }
            if (e->type != OTTR_YAML_MAP) {
                snprintf(err, errlen, "%s:%d: %s: must be a map", where, e->line, path);
                return -1;
            }
            if (apply_map(c, e, path, where, err, errlen) != 0)
                return -1;
            continue;
        }
        if (k->type == KEY_NODE) {
            if (e->type != OTTR_YAML_SEQ &&
                !(e->type == OTTR_YAML_SCALAR && e->scalar[0] == '\0')) {
                snprintf(err, errlen, "%s:%d: %s: must be a list", where, e->line, path);
                return -1;
            }
            c->policies = e->type == OTTR_YAML_SEQ ? e : NULL;
            continue;
        }
        if (e->type != OTTR_YAML_SCALAR) {
            snprintf(err, errlen, "%s:%d: %s: must be a single value, not a %s", where, e->line,
                     path, e->type == OTTR_YAML_MAP ? "map" : "list");
            return -1;
        }
        char problem[400];
        if (apply_scalar(c, k, e->scalar, problem, sizeof(problem)) != 0) {
            snprintf(err, errlen, "%s:%d: %s: %s", where, e->line, path, problem);
            return -1;
        }
    }
    return 0;
}

static int load_tree(ottr_config *c, ottr_yaml_node *root, const char *where, char *err,
                     size_t errlen)
{
    if (root->type != OTTR_YAML_MAP) {
        snprintf(err, errlen, "%s:%d: the configuration must be a map of keys", where, root->line);
        ottr_yaml_free(root);
        return -1;
    }
    const ottr_yaml_node *old_policies = c->policies;
    if (apply_map(c, root, "", where, err, errlen) != 0) {
        c->policies = old_policies;
        ottr_yaml_free(root);
        return -1;
    }
    /* The new tree owns policies now; the old tree may go unless it still
     * holds the policies in effect. */
    if (c->policies == old_policies && old_policies != NULL) {
        /* keep the previous tree alive: chain it after the new one */
        ottr_yaml_node *prev = c->yaml;
        c->yaml = root;
        root->next = prev;
    } else {
        ottr_yaml_free(c->yaml);
        c->yaml = root;
    }
    return 0;
}

int ottr_config_load_file(ottr_config *c, const char *path, char *err, size_t errlen)
{
    ottr_yaml_node *root;
    if (ottr_yaml_parse_file(path, &root, err, errlen) != 0)
        return -1;
    if (load_tree(c, root, path, err, errlen) != 0)
        return -1;
    if (set_str(&c->source, path) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int ottr_config_load_string(ottr_config *c, const char *text, char *err, size_t errlen)
{
    ottr_yaml_node *root;
    char inner[512];
    if (ottr_yaml_parse_string(text, strlen(text), &root, inner, sizeof(inner)) != 0) {
        snprintf(err, errlen, "<config>: %s", inner);
        return -1;
    }
    return load_tree(c, root, "<config>", err, errlen);
}
