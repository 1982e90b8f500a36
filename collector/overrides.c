/* collector/overrides.c - overrides.per_tenant: a map of tenant name to the
 * limits it has instead of overrides.defaults, in the shape of Tempo's
 * per-tenant overrides:
 *   overrides:
 *     per_tenant:
 *       team-a:
 *         ingestion: {rate_limit_spans: 5000, burst_size_spans: 10000,
 *                     max_traces_per_user: 20000}
 *         global: {max_bytes_per_trace: 5MiB}
 *         sampling:
 *           policies: [{name: errors, type: status_code, ...}]
 * What a tenant leaves out it takes from overrides.defaults; without its own
 * sampling.policies its traces are decided by the global list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"

#define MAX_COUNT 100000000ull
#define GiB       (1024ull * 1024 * 1024)

/* One field: where it sits, its value's kind and bounds. */
typedef struct ov_field {
    const char *section; /* "ingestion" or "global" */
    const char *name;
    size_t offset; /* in sampler_tenant_limits */
    bool size;     /* a size (KiB, MiB...) rather than a count */
    uint64_t max;
} ov_field;

static const ov_field fields[] = {
    {"ingestion", "rate_limit_spans", offsetof(sampler_tenant_limits, rate_spans), false,
     MAX_COUNT},
    {"ingestion", "burst_size_spans", offsetof(sampler_tenant_limits, burst_spans), false,
     MAX_COUNT},
    {"ingestion", "max_traces_per_user", offsetof(sampler_tenant_limits, max_traces), false,
     MAX_COUNT},
    {"global", "max_bytes_per_trace", offsetof(sampler_tenant_limits, max_bytes_per_trace), true,
     GiB},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static const ov_field *find_field(const char *section, const char *name)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (strcmp(fields[i].section, section) == 0 && strcmp(fields[i].name, name) == 0)
            return &fields[i];
    return NULL;
}

static int parse_value(const ov_field *f, const char *v, uint64_t *out)
{
    if (f->size)
        return ottr_parse_size(v, out);
    char *end;
    if (*v < '0' || *v > '9')
        return -1;
    unsigned long long n = strtoull(v, &end, 10);
    if (*end != '\0')
        return -1;
    *out = n;
    return 0;
}

/* The tenant's sampling: {policies: [...]} (checked by the sampler). */
static int parse_sampling(const ottr_yaml_node *t, const ottr_yaml_node *sec,
                          sampler_tenant_override *o, const char *where, char *err, size_t errlen)
{
    for (const ottr_yaml_node *e = sec->child; e; e = e->next) {
        if (strcmp(e->key, "policies") != 0 || e->type != OTTR_YAML_SEQ) {
            snprintf(err, errlen, "%s:%d: overrides.per_tenant.%s.sampling.%s: %s", where, e->line,
                     t->key, e->key,
                     strcmp(e->key, "policies") != 0 ? "unknown key (want policies)"
                                                     : "must be a list");
            return -1;
        }
        o->policies = e;
    }
    return 0;
}

/* Fills |o| from one tenant's map |t|. */
static int parse_tenant(const ottr_yaml_node *t, sampler_tenant_override *o, const char *where,
                        char *err, size_t errlen)
{
    sampler_tenant_limits *lim = &o->limits;
    if (t->type != OTTR_YAML_MAP) {
        snprintf(err, errlen, "%s:%d: overrides.per_tenant.%s: must be a map", where, t->line,
                 t->key);
        return -1;
    }
    for (const ottr_yaml_node *sec = t->child; sec; sec = sec->next) {
        if (strcmp(sec->key, "ingestion") != 0 && strcmp(sec->key, "global") != 0 &&
            strcmp(sec->key, "sampling") != 0) {
            snprintf(err, errlen,
                     "%s:%d: overrides.per_tenant.%s.%s: unknown key (want ingestion, global or "
                     "sampling)",
                     where, sec->line, t->key, sec->key);
            return -1;
        }
        if (sec->type != OTTR_YAML_MAP) {
            snprintf(err, errlen, "%s:%d: overrides.per_tenant.%s.%s: must be a map", where,
                     sec->line, t->key, sec->key);
            return -1;
        }
        if (strcmp(sec->key, "sampling") == 0) {
            if (parse_sampling(t, sec, o, where, err, errlen) != 0)
                return -1;
            continue;
        }
        for (const ottr_yaml_node *e = sec->child; e; e = e->next) {
            const ov_field *f = find_field(sec->key, e->key);
            uint64_t v;
            if (f == NULL || e->type != OTTR_YAML_SCALAR || parse_value(f, e->scalar, &v) != 0 ||
                v > f->max) {
                snprintf(err, errlen, "%s:%d: overrides.per_tenant.%s.%s.%s: %s", where, e->line,
                         t->key, sec->key, e->key,
                         f == NULL ? "unknown key" : "bad value (want a number within bounds)");
                return -1;
            }
            *(uint64_t *)((char *)lim + f->offset) = v;
        }
    }
    return 0;
}

void collector_overrides_free(ottr_config *c)
{
    for (size_t i = 0; i < c->noverrides; i++)
        free((char *)c->overrides[i].name);
    free(c->overrides);
    c->overrides = NULL;
    c->noverrides = 0;
}

int collector_overrides_load(ottr_config *c, const char *where, char *err, size_t errlen)
{
    collector_overrides_free(c);
    if (errlen)
        err[0] = '\0';
    if (c->per_tenant == NULL)
        return 0;
    size_t n = 0;
    for (const ottr_yaml_node *t = c->per_tenant->child; t; t = t->next)
        n++;
    if (n == 0)
        return 0;
    c->overrides = calloc(n, sizeof(*c->overrides));
    if (c->overrides == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (const ottr_yaml_node *t = c->per_tenant->child; t; t = t->next) {
        if (!collector_tenant_valid(t->key, strlen(t->key))) {
            snprintf(err, errlen, "%s:%d: overrides.per_tenant.%s: not a valid tenant ID", where,
                     t->line, t->key);
            collector_overrides_free(c);
            return -1;
        }
        sampler_tenant_override *o = &c->overrides[c->noverrides];
        o->limits = c->tenant_limits;
        if (parse_tenant(t, o, where, err, errlen) != 0 || (o->name = strdup(t->key)) == NULL) {
            if (err[0] == '\0')
                snprintf(err, errlen, "out of memory");
            collector_overrides_free(c);
            return -1;
        }
        c->noverrides++;
    }
    return 0;
}
