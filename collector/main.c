/* collector/main.c - ottrd: parses flags and the config file, opens the store,
 * replays pending spans into the sampler, starts the query threads and ports,
 * then the OTLP receivers and the Zipkin port, and shuts everything down in
 * order on SIGINT/SIGTERM (SIGHUP reloads the sampling policies, TLS
 * certificates and credential files). */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cluster/cluster.h"
#include "collector/collector.h"
#include "sampler/sampler.h"
#include "store/store.h"

#define EXIT_USAGE  2 /* bad flag or config */
#define EXIT_STORE  3 /* data directory unusable */
#define EXIT_LISTEN 4 /* a port could not be bound */
/* Seconds between returns of freed heap memory to the system. */
#define MEMORY_TRIM_SEC      10
#define MMAP_THRESHOLD_BYTES (1024 * 1024)

typedef struct flag_def {
    const char *flag;
    const char *key; /* config key, or NULL for flags handled here */
    const char *arg;
    const char *help;
} flag_def;

static const flag_def flags[] = {
    {"--config", NULL, "FILE", "YAML configuration file (see --help-config, docs/CONFIG.md)"},
    {"--data-dir", "data_dir", "DIR", "where the store lives"},
    {"--grpc-addr", "grpc.addr", "HOST:PORT", "OTLP/gRPC listener"},
    {"--http-addr", "http.addr", "HOST:PORT", "OTLP/HTTP listener, HTTP/1.1 and h2c"},
    {"--query-addr", "query.addr", "HOST:PORT", "Tempo API, /ready and /metrics"},
    {"--jaeger-addr", "jaeger.addr", "HOST:PORT", "Jaeger query API"},
    {"--admin-addr", "admin.addr", "HOST:PORT", "admin API (checkpoints), /metrics, /ready"},
    {"--zipkin-addr", "zipkin.addr", "HOST:PORT", "Zipkin span receiver and query API"},
    {"--log-level", "log_level", "LEVEL", "debug, info, warn or error"},
    {"--role", "role", "ROLE", "all, receiver, store or query (Kafka mode: docs/SCALING.md)"},
    {"--multitenancy-enabled", "multitenancy_enabled", "BOOL",
     "true: every request names its tenant in X-Scope-OrgID (Tempo's multitenancy_enabled)"},
    {"--port-file", NULL, "FILE",
     "once listening, write the bound ports (grpc=, http=, query=, jaeger=, admin=, zipkin=) to "
     "FILE"},
    {"--check-config", NULL, "[FILE]",
     "validate the configuration (FILE, or --config) and flags as at start, print ok, exit"},
    {"--version", NULL, NULL, "print the version and exit"},
    {"--help", NULL, NULL, "print this help and exit"},
    {"--help-config", NULL, NULL, "list every configuration key with its default and exit"},
};
#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

static void usage(FILE *out)
{
    fprintf(out, "Usage: ottrd [FLAGS]\n\n"
                 "Ottr daemon: receives OTLP (and Zipkin) traces, tail-samples them, stores kept\n"
                 "traces and serves the Tempo, Jaeger and Zipkin query APIs. Flags override the\n"
                 "config file.\n\n");
    for (size_t i = 0; i < NFLAGS; i++) {
        char left[64];
        snprintf(left, sizeof(left), "%s%s%s", flags[i].flag, flags[i].arg ? " " : "",
                 flags[i].arg ? flags[i].arg : "");
        fprintf(out, "  %-26s %s", left, flags[i].help);
        /* The default is the config key's, from the config table. */
        ottr_config_doc d;
        for (size_t k = 0; flags[i].key && collector_config_doc_get(k, &d) == 0; k++)
            if (strcmp(d.name, flags[i].key) == 0 && d.def)
                fprintf(out, " (default %s)", d.def);
        fputc('\n', out);
    }
    fprintf(out, "\nSignals: SIGINT/SIGTERM shut down cleanly; SIGHUP reloads sampling.policies\n"
                 "from the config file, the TLS certificates and keys and the credential files.\n"
                 "Exit status: 0 ok, 2 bad flag or config, 3 data directory unusable, 4 a port\n"
                 "could not be bound.\n");
}

typedef struct args {
    const char *config;
    const char *port_file;
    int check_config;
    const char *check_file; /* --check-config FILE: the same as --config FILE */
} args;

static const flag_def *find_flag(const char *name)
{
    for (size_t i = 0; i < NFLAGS; i++)
        if (strcmp(flags[i].flag, name) == 0)
            return &flags[i];
    return NULL;
}

/* Two passes: the first finds --config (and --help/--version), the second
 * applies the other flags over the loaded file. Returns 0, 1 (exit 0 now) or
 * -1 (usage error, message printed). */
static int parse_args(int argc, char **argv, args *a, ottr_config *cfg, int pass)
{
    for (int i = 1; i < argc; i++) {
        char name[64];
        const char *val = NULL;
        const char *eq = strchr(argv[i], '=');
        if (eq && strncmp(argv[i], "--", 2) == 0 && (size_t)(eq - argv[i]) < sizeof(name)) {
            memcpy(name, argv[i], (size_t)(eq - argv[i]));
            name[eq - argv[i]] = '\0';
            val = eq + 1;
        } else {
            snprintf(name, sizeof(name), "%s", argv[i]);
        }
        const flag_def *f = find_flag(name);
        if (f == NULL) {
            fprintf(stderr, "ottrd: unknown flag %s (see ottrd --help)\n", argv[i]);
            return -1;
        }
        if (strcmp(f->flag, "--check-config") == 0) {
            /* An optional FILE: the next argument unless it is a flag. */
            if (val == NULL && i + 1 < argc && argv[i + 1][0] != '-')
                val = argv[++i];
        } else if (f->arg && val == NULL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ottrd: flag %s needs a value (%s)\n", name, f->arg);
                return -1;
            }
            val = argv[++i];
        } else if (!f->arg && val) {
            fprintf(stderr, "ottrd: flag %s takes no value\n", name);
            return -1;
        }
        if (pass == 1) {
            if (strcmp(name, "--help") == 0) {
                usage(stdout);
                return 1;
            }
            if (strcmp(name, "--help-config") == 0) {
                collector_config_print_help(stdout);
                return 1;
            }
            if (strcmp(name, "--version") == 0) {
                printf("ottrd %s (revision %s)\n", OTTR_VERSION, OTTR_REVISION);
                return 1;
            }
            if (strcmp(name, "--config") == 0)
                a->config = val;
            else if (strcmp(name, "--port-file") == 0)
                a->port_file = val;
            else if (strcmp(name, "--check-config") == 0) {
                a->check_config = 1;
                if (val)
                    a->check_file = val;
            }
            continue;
        }
        if (f->key) {
            char err[512];
            if (collector_config_set(cfg, f->key, val, err, sizeof(err)) != 0) {
                fprintf(stderr, "ottrd: flag %s: %s\n", name, err);
                return -1;
            }
        }
    }
    return 0;
}

static int load_config(int argc, char **argv, args *a, ottr_config *cfg)
{
    if (collector_config_init(cfg) != 0) {
        fprintf(stderr, "ottrd: out of memory\n");
        return -1;
    }
    int rc = parse_args(argc, argv, a, cfg, 1);
    if (rc != 0)
        return rc;
    if (a->check_file) {
        if (a->config && strcmp(a->config, a->check_file) != 0) {
            fprintf(stderr, "ottrd: --check-config %s and --config %s name two files\n",
                    a->check_file, a->config);
            return -1;
        }
        a->config = a->check_file;
    }
    char err[1024];
    if (a->config && collector_config_load_file(cfg, a->config, err, sizeof(err)) != 0) {
        fprintf(stderr, "ottrd: config error: %s\n", err);
        return -1;
    }
    rc = parse_args(argc, argv, a, cfg, 2);
    if (rc != 0)
        return rc;
    if (sampler_check_policies(cfg->policies, err, sizeof(err)) != 0) {
        fprintf(stderr, "ottrd: config error: %s%s%s\n", a->config ? a->config : "",
                a->config ? ": " : "", err);
        return -1;
    }
    if (cfg->role != ROLE_ALL && cfg->kafka_brokers == NULL) {
        fprintf(stderr, "ottrd: config error: role %s needs kafka.brokers\n",
                cfg->role == ROLE_RECEIVER ? "receiver"
                : cfg->role == ROLE_STORE  ? "store"
                                           : "query");
        return -1;
    }
    if (collector_security_check(cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "ottrd: config error: %s\n", err);
        return -1;
    }
    for (size_t i = 0; i < cfg->noverrides; i++) {
        const sampler_tenant_override *o = &cfg->overrides[i];
        if (o->policies && sampler_check_policies(o->policies, err, sizeof(err)) != 0) {
            fprintf(stderr,
                    "ottrd: config error: %s%soverrides.per_tenant.%s.sampling.policies: %s\n",
                    a->config ? a->config : "", a->config ? ": " : "", o->name, err);
            return -1;
        }
    }
    return 0;
}

static void render_store_metrics(void *ctx, ottr_buf *out)
{
    store_render_metrics(ctx, out);
}

static ottr_status ingest_to_sampler(void *ctx, const otlp_batch *b)
{
    return sampler_submit(ctx, b);
}

static bool sampler_pushes_back(void *ctx, uint32_t tenant, const uint8_t (*tids)[16], size_t n)
{
    return sampler_would_push_back(ctx, tenant, tids, n);
}

static cluster_kafka_options kafka_options(const ottr_config *cfg)
{
    cluster_kafka_options k = {.brokers = cfg->kafka_brokers,
                               .topic = cfg->kafka_topic,
                               .group = cfg->kafka_group,
                               .produce_timeout_ns = cfg->kafka_produce_timeout_ns,
                               .commit_interval_ns = cfg->kafka_commit_interval_ns,
                               .session_timeout_ns = cfg->kafka_session_timeout_ns};
    return k;
}

static int write_port_file(const char *path, int grpc, int http, int query, int jaeger, int admin,
                           int zipkin)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "grpc=%d\nhttp=%d\nquery=%d\njaeger=%d\nadmin=%d\nzipkin=%d\n", grpc, http, query,
            jaeger, admin, zipkin);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return -1;
    return 0;
}

/* Makes the backup directory (admin.backup_dir, or <data_dir>/backups) and
 * stores its absolute path in |out|. Returns 0 or -1 with why in |err|. */
static int backup_dir_init(const ottr_config *cfg, char *out, size_t outlen, char *err,
                           size_t errlen)
{
    char dir[PATH_MAX];
    if (cfg->admin_backup_dir != NULL)
        snprintf(dir, sizeof(dir), "%s", cfg->admin_backup_dir);
    else
        snprintf(dir, sizeof(dir), "%s/backups", cfg->data_dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create the backup directory %.900s: %s", dir,
                 strerror(errno));
        return -1;
    }
    char real[PATH_MAX];
    if (realpath(dir, real) == NULL) {
        snprintf(err, errlen, "backup directory %.900s: %s", dir, strerror(errno));
        return -1;
    }
    snprintf(out, outlen, "%s", real);
    return 0;
}

/* Re-reads the config file on SIGHUP and swaps in its policies. */
static void reload_policies(const args *a, sampler *smp, ottr_config *cfg)
{
    if (a->config == NULL)
        return;
    ottr_config fresh;
    char err[1024];
    if (collector_config_init(&fresh) != 0)
        return;
    if (collector_config_load_file(&fresh, a->config, err, sizeof(err)) != 0 ||
        sampler_reload(smp, fresh.policies, err, sizeof(err)) != 0) {
        OTTR_ERROR("collector", "reload rejected, keeping the current policies: %s", err);
        collector_config_free(&fresh);
        return;
    }
    /* The sampler copied what it needs; keep the new tree as the current one. */
    ottr_yaml_node *old = cfg->yaml;
    cfg->yaml = fresh.yaml;
    cfg->policies = fresh.policies;
    fresh.yaml = old;
    fresh.policies = NULL;
    /* overrides.per_tenant stays as at start (the sampler holds its array and
     * parsed the tenants' own policies then); its nodes were in the old tree. */
    cfg->per_tenant = NULL;
    for (size_t i = 0; i < cfg->noverrides; i++)
        cfg->overrides[i].policies = NULL;
    collector_config_free(&fresh);
    OTTR_INFO("collector", "sampling policies reloaded from %s", a->config);
}

/* SIGHUP: the credential files, then every listener's TLS files. A listener
 * whose files fail keeps serving the old ones. */
static void reload_security(collector_security *sec, otlp_grpc *grpc, http_server *const srv[5])
{
    static const collector_listener ls[5] = {LISTENER_HTTP, LISTENER_QUERY, LISTENER_JAEGER,
                                             LISTENER_ADMIN, LISTENER_ZIPKIN};
    int ok = collector_security_reload(sec) == 0;
    char err[1024];
    if (collector_grpc_reload_tls(grpc, err, sizeof(err)) != 0) {
        OTTR_ERROR("collector", "grpc.tls: reload failed, keeping the current certificate: %s",
                   err);
        ok = 0;
    }
    for (int i = 0; i < 5; i++) {
        if (http_server_reload_tls(srv[i], err, sizeof(err)) != 0) {
            OTTR_ERROR("collector", "%s.tls: reload failed, keeping the current certificate: %s",
                       collector_listener_name(ls[i]), err);
            ok = 0;
        }
    }
    if (ok)
        OTTR_INFO("collector", "TLS certificates and credential files reloaded");
}

int main(int argc, char **argv)
{
    args a = {0};
    ottr_config cfg;
    int rc = load_config(argc, argv, &a, &cfg);
    if (rc != 0) {
        collector_config_free(&cfg);
        return rc > 0 ? 0 : EXIT_USAGE;
    }
    if (a.check_config) {
        /* The credential files and certificates are read too. */
        collector_security chk;
        char err[1024];
        int bad = collector_security_init(&chk, &cfg, err, sizeof(err)) != 0;
        if (!bad) {
            for (int l = 0; l < COLLECTOR_NLISTENERS && !bad; l++) {
                http_tls *t = chk.has_tls[l] ? http_tls_new(&chk.tls[l], err, sizeof(err)) : NULL;
                bad = chk.has_tls[l] && t == NULL;
                http_tls_free(t);
            }
            collector_security_free(&chk);
        }
        if (bad)
            fprintf(stderr, "ottrd: config error: %s\n", err);
        else
            printf("ok\n");
        collector_config_free(&cfg);
        return bad ? EXIT_USAGE : 0;
    }
    ottr_log_set_level((ottr_log_level)cfg.log_level);
    collector_metrics_process_init();
    /* Blocks of 1 MiB and more (memtable arenas, the keep's write batches) get
     * their own mappings, given back to the system when freed. glibc would
     * otherwise raise this threshold after the first such free, and memtable
     * blocks would then fragment the heap: RSS rose ~25 MB/min for minutes.
     * Lower, every OTLP/HTTP request's arena would be fresh pages to fault in
     * (128 KiB cost a third of the HTTP receiver's throughput per CPU). */
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
    curl_global_init(CURL_GLOBAL_DEFAULT); /* query.peers: queries to the store nodes */

    /* Every thread inherits this mask; the main thread takes signals with sigwait. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    int exit_code = 0;
    char err[1024];
    store *st = NULL;
    sampler *smp = NULL;
    http_server *query_srv = NULL, *jaeger_srv = NULL, *otlp_http = NULL, *admin_srv = NULL;
    http_server *zipkin_srv = NULL;
    collector_security sec;
    char backup_dir[PATH_MAX];
    otlp_grpc *grpc = NULL;
    collector_query_pool *pool = NULL;
    cluster_producer *producer = NULL;
    cluster_consumer *consumer = NULL;
    ottrd_query_ctx qctx = {.cfg = &cfg};
    atomic_init(&qctx.ready, false);
    atomic_init(&qctx.grpc_up, false);
    atomic_init(&qctx.http_up, false);

    if (collector_security_init(&sec, &cfg, err, sizeof(err)) != 0) {
        OTTR_ERROR("collector", "%s", err);
        fprintf(stderr, "ottrd: config error: %s\n", err);
        collector_config_free(&cfg);
        return EXIT_USAGE;
    }

    store_options so;
    collector_config_to_store_options(&cfg, &so);
    ottr_status s = store_open(&so, &st, err, sizeof(err));
    if (s != OTTR_OK) {
        OTTR_ERROR("collector", "cannot open the store in %s: %s", cfg.data_dir, err);
        fprintf(stderr, "ottrd: cannot open the store in %s: %s\n", cfg.data_dir, err);
        exit_code = EXIT_STORE;
        goto out;
    }
    qctx.st = st;
    qctx.tenants = (tenant_ctx){.st = st, .enabled = cfg.multitenancy != 0};
    ottr_metrics_add_collector(render_store_metrics, st);
    if (backup_dir_init(&cfg, backup_dir, sizeof(backup_dir), err, sizeof(err)) != 0) {
        OTTR_ERROR("collector", "%s", err);
        fprintf(stderr, "ottrd: %s\n", err);
        exit_code = EXIT_STORE;
        goto out;
    }
    qctx.backup_dir = backup_dir;

    cluster_kafka_options ko = kafka_options(&cfg);
    if (cfg.role != ROLE_ALL) {
        /* Every node but a store-only one takes spans through Kafka. */
        s = cluster_producer_start(&ko, st, &producer, err, sizeof(err));
        if (s != OTTR_OK) {
            OTTR_ERROR("collector", "%s", err);
            fprintf(stderr, "ottrd: %s\n", err);
            exit_code = s == OTTR_ERR_INVALID ? EXIT_USAGE : 1;
            goto out;
        }
    }
    if (cfg.role == ROLE_RECEIVER || cfg.role == ROLE_QUERY)
        goto sampled; /* no sampler here: the store nodes sample */

    sampler_options smo;
    collector_config_to_sampler_options(&cfg, &smo);
    s = sampler_create(&smo, st, &smp, err, sizeof(err));
    if (s != OTTR_OK) {
        fprintf(stderr, "ottrd: sampler: %s\n", err);
        exit_code = s == OTTR_ERR_INVALID ? EXIT_USAGE : 1;
        goto out;
    }
    /* A store node's undecided spans are also still in Kafka, past its
     * committed offsets, and come back from there to whichever node owns them
     * now; replaying them here too is harmless (a chunk taken from Kafka is
     * named after its record: a second copy overwrites) and keeps what an
     * earlier role: all left in the pending log. */
    s = sampler_replay(smp);
    if (s != OTTR_OK) {
        OTTR_ERROR("collector", "replay of pending spans failed: %s", ottr_status_str(s));
        exit_code = EXIT_STORE;
        goto out;
    }
    if (sampler_start(smp) != OTTR_OK) {
        OTTR_ERROR("collector", "cannot start the sampler");
        exit_code = 1;
        goto out;
    }
    qctx.smp = smp;

sampled:;
    collector_query_pool_options qo = {.threads = cfg.query_max_concurrent,
                                       .max_queued = cfg.query_max_queued,
                                       .timeout_ns = cfg.query_timeout_ns,
                                       .max_bytes = cfg.query_max_bytes};
    if (collector_query_pool_start(&qo, &pool) != OTTR_OK) {
        OTTR_ERROR("collector", "cannot start the query threads");
        exit_code = 1;
        goto out;
    }
    qctx.pool = pool;

    http_limits query_lim, otlp_lim;
    collector_config_to_http_limits(&cfg, cfg.query_max_conns, &query_lim);
    collector_config_to_http_limits(&cfg, cfg.http_max_conns, &otlp_lim);
    http_server_options ho = {.name = "query",
                              .addr = cfg.query_addr,
                              .threads = 2,
                              .max_body_bytes = 1 << 20,
                              .handler = collector_routes_tempo_handle,
                              .ctx = &qctx,
                              .limits = &query_lim,
                              .tls = sec.has_tls[LISTENER_QUERY] ? &sec.tls[LISTENER_QUERY] : NULL,
                              .auth = collector_query_auth,
                              .auth_ctx = sec.auth[LISTENER_QUERY]};
    if (http_server_start(&ho, &query_srv, err, sizeof(err)) != OTTR_OK) {
        OTTR_ERROR("collector", "query listener: %s", err);
        exit_code = EXIT_LISTEN;
        goto out;
    }
    ho = (http_server_options){.name = "jaeger",
                               .addr = cfg.jaeger_addr,
                               .threads = 2,
                               .max_body_bytes = 16 << 20, /* POST /api/transform uploads */
                               .handler = collector_routes_jaeger_handle,
                               .ctx = &qctx,
                               .limits = &query_lim,
                               .tls =
                                   sec.has_tls[LISTENER_JAEGER] ? &sec.tls[LISTENER_JAEGER] : NULL,
                               .auth = http_auth_request,
                               .auth_ctx = sec.auth[LISTENER_JAEGER]};
    if (http_server_start(&ho, &jaeger_srv, err, sizeof(err)) != OTTR_OK) {
        OTTR_ERROR("collector", "jaeger listener: %s", err);
        exit_code = EXIT_LISTEN;
        goto out;
    }
    ho = (http_server_options){.name = "admin",
                               .addr = cfg.admin_addr,
                               .threads = 1,
                               .max_body_bytes = 1 << 16,
                               .handler = collector_routes_admin_handle,
                               .ctx = &qctx,
                               .limits = &query_lim,
                               .tls = sec.has_tls[LISTENER_ADMIN] ? &sec.tls[LISTENER_ADMIN] : NULL,
                               .auth = http_auth_request,
                               .auth_ctx = sec.auth[LISTENER_ADMIN]};
    if (http_server_start(&ho, &admin_srv, err, sizeof(err)) != OTTR_OK) {
        OTTR_ERROR("collector", "admin listener: %s", err);
        exit_code = EXIT_LISTEN;
        goto out;
    }

    otlp_grpc_options go = {.addr = cfg.grpc_addr,
                            .threads = cfg.grpc_threads,
                            .max_recv_bytes = cfg.grpc_max_recv_bytes,
                            .ingest = producer ? cluster_produce : ingest_to_sampler,
                            .would_push_back = producer ? NULL : sampler_pushes_back,
                            .ingest_ctx = producer ? (void *)producer : (void *)smp,
                            .limits = cfg.limits,
                            .tenants = qctx.tenants,
                            .max_conn_idle_ms = cfg.grpc_max_conn_idle_ns / 1000000u,
                            .max_conn_age_ms = cfg.grpc_max_conn_age_ns / 1000000u,
                            .max_conn_age_grace_ms = cfg.grpc_max_conn_age_grace_ns / 1000000u,
                            .keepalive_time_ms = cfg.grpc_keepalive_time_ns / 1000000u,
                            .tls = sec.has_tls[LISTENER_GRPC] ? &sec.tls[LISTENER_GRPC] : NULL,
                            .auth = sec.auth[LISTENER_GRPC]};
    if (collector_grpc_start(&go, &grpc, err, sizeof(err)) != OTTR_OK) {
        OTTR_ERROR("collector", "grpc listener: %s", err);
        exit_code = EXIT_LISTEN;
        goto out;
    }
    atomic_store(&qctx.grpc_up, true);
    otlp_http_ctx hctx = {.ingest = producer ? cluster_produce : ingest_to_sampler,
                          .would_push_back = producer ? NULL : sampler_pushes_back,
                          .ingest_ctx = producer ? (void *)producer : (void *)smp,
                          .max_body_bytes = cfg.http_max_body_bytes,
                          .limits = cfg.limits,
                          .tenants = qctx.tenants};
    ho = (http_server_options){.name = "otlp_http",
                               .addr = cfg.http_addr,
                               .threads = cfg.http_threads,
                               .max_body_bytes = cfg.http_max_body_bytes,
                               .handler = collector_http_handle,
                               .ctx = &hctx,
                               .limits = &otlp_lim,
                               .tls = sec.has_tls[LISTENER_HTTP] ? &sec.tls[LISTENER_HTTP] : NULL,
                               .auth = collector_otlp_http_auth,
                               .auth_ctx = sec.auth[LISTENER_HTTP]};
    if (http_server_start(&ho, &otlp_http, err, sizeof(err)) != OTTR_OK) {
        OTTR_ERROR("collector", "otlp http listener: %s", err);
        exit_code = EXIT_LISTEN;
        goto out;
    }
    atomic_store(&qctx.http_up, true);
    /* Zipkin takes spans like the OTLP/HTTP port (same limits) and answers
     * queries like the query ports (same query threads). */
    zipkin_ctx zctx = {.ingest = hctx, .q = &qctx};
    ho = (http_server_options){.name = "zipkin",
                               .addr = cfg.zipkin_addr,
                               .threads = 2,
                               .max_body_bytes = cfg.http_max_body_bytes,
                               .handler = collector_zipkin_handle,
                               .ctx = &zctx,
                               .limits = &otlp_lim,
                               .tls =
                                   sec.has_tls[LISTENER_ZIPKIN] ? &sec.tls[LISTENER_ZIPKIN] : NULL,
                               .auth = http_auth_request,
                               .auth_ctx = sec.auth[LISTENER_ZIPKIN]};
    if (http_server_start(&ho, &zipkin_srv, err, sizeof(err)) != OTTR_OK) {
        OTTR_ERROR("collector", "zipkin listener: %s", err);
        exit_code = EXIT_LISTEN;
        goto out;
    }

    OTTR_INFO("collector",
              "ottrd %s listening: otlp grpc port %d, otlp http port %d, query port %d, "
              "jaeger port %d, admin port %d, zipkin port %d, data in %s",
              OTTR_VERSION, collector_grpc_port(grpc), http_server_port(otlp_http),
              http_server_port(query_srv), http_server_port(jaeger_srv),
              http_server_port(admin_srv), http_server_port(zipkin_srv), cfg.data_dir);
    collector_security_warn(&cfg, &sec);
    if (a.port_file &&
        write_port_file(a.port_file, collector_grpc_port(grpc), http_server_port(otlp_http),
                        http_server_port(query_srv), http_server_port(jaeger_srv),
                        http_server_port(admin_srv), http_server_port(zipkin_srv)) != 0) {
        OTTR_ERROR("collector", "cannot write port file %s: %s", a.port_file, strerror(errno));
        exit_code = 1;
        goto out;
    }
    if (cfg.role == ROLE_STORE) {
        char node[64];
        snprintf(node, sizeof(node), "ottrd-%d", (int)getpid());
        cluster_consumer_options co = {.kafka = ko,
                                       .smp = smp,
                                       .st = st,
                                       .multitenant = cfg.multitenancy != 0,
                                       .limits = cfg.limits};
        ko.client_id = node;
        co.kafka = ko;
        if (cluster_consumer_start(&co, &consumer, err, sizeof(err)) != OTTR_OK) {
            OTTR_ERROR("collector", "%s", err);
            exit_code = 1;
            goto out;
        }
    }
    atomic_store(&qctx.ready, true);

    for (;;) {
        /* Between signals, every MEMORY_TRIM_SEC: the free memory the threads'
         * malloc arenas hold back goes back to the system. */
        struct timespec trim_every = {MEMORY_TRIM_SEC, 0};
        int sig = sigtimedwait(&sigs, NULL, &trim_every);
        if (sig < 0) {
            if (errno == EAGAIN)
                malloc_trim(0);
            continue;
        }
        if (sig == SIGHUP) {
            reload_policies(&a, smp, &cfg);
            reload_security(
                &sec, grpc,
                (http_server *[]){otlp_http, query_srv, jaeger_srv, admin_srv, zipkin_srv});
            continue;
        }
        OTTR_INFO("collector", "received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
        break;
    }

out:
    /* Ordered shutdown: stop taking spans, finish what is in flight, settle the
     * sampler, then the query side, then the store. */
    atomic_store(&qctx.ready, false);
    atomic_store(&qctx.http_up, false);
    if (zipkin_srv)
        http_server_stop(zipkin_srv);
    if (otlp_http)
        http_server_stop(otlp_http);
    atomic_store(&qctx.grpc_up, false);
    if (grpc)
        collector_grpc_stop(grpc);
    /* Receivers are stopped: nothing more to produce. What the store node read
     * but has not settled stays uncommitted for the partitions' next owners. */
    cluster_producer_stop(producer);
    cluster_consumer_stop(consumer);
    if (smp)
        sampler_stop(smp);
    /* Queries end (waiting ones 503, running ones cut short) before the query
     * ports stop, which wait for every deferred answer. */
    collector_query_pool_stop(pool);
    if (query_srv)
        http_server_stop(query_srv);
    if (jaeger_srv)
        http_server_stop(jaeger_srv);
    if (admin_srv)
        http_server_stop(admin_srv);
    collector_query_pool_free(pool);
    qctx.smp = NULL;
    if (smp)
        sampler_destroy(smp);
    if (st)
        ottr_metrics_remove_collector(render_store_metrics, st);
    store_close(st);
    ottr_metrics_shutdown();
    collector_security_free(&sec);
    collector_config_free(&cfg);
    curl_global_cleanup();
    if (exit_code == 0)
        OTTR_INFO("collector", "stopped");
    return exit_code;
}
