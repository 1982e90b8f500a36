/* sampler/policy_probabilistic.c - the probabilistic policy: keeps
 * sampling_percentage of traces, chosen by an XXH3 hash of the trace ID seeded
 * with hash_salt, so the same trace gets the same answer on every run. */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "sampler/internal.h"

#define DEFAULT_SALT "default-hash-seed"

typedef struct prob_cfg {
    uint64_t seed;
    uint64_t threshold; /* keep when hash < threshold */
    bool all;
} prob_cfg;

static int prob_parse(policy *p, const ottr_yaml_node *cfg, pol_parse *pp)
{
    static const char *const fields[] = {"sampling_percentage", "hash_salt", NULL};
    if (sampler_pol_need_map(pp, cfg, false) != 0 || sampler_pol_check_fields(pp, cfg, fields) != 0)
        return -1;
    prob_cfg *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return sampler_pol_error(pp, cfg, NULL, "out of memory");
    p->data = c;
    double pct = 0;
    int rc = sampler_pol_get_double(pp, cfg, "sampling_percentage", &pct);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return sampler_pol_error(pp, cfg, "sampling_percentage", "missing");
    if (pct < 0 || pct > 100)
        return sampler_pol_error(pp, ottr_yaml_get(cfg, "sampling_percentage"),
                                 "sampling_percentage", "must be between 0 and 100");
    char *salt = NULL;
    if (sampler_pol_get_str(pp, cfg, "hash_salt", &salt) < 0)
        return -1;
    const char *s = (salt && salt[0]) ? salt : DEFAULT_SALT;
    c->seed = XXH3_64bits(s, strlen(s));
    free(salt);
    c->all = pct >= 100;
    /* 2^64 * pct / 100, computed in long double to keep small rates exact enough. */
    c->threshold =
        c->all ? UINT64_MAX : (uint64_t)((long double)pct / 100.0L * 18446744073709551616.0L);
    return 0;
}

static pol_decision prob_evaluate(policy *p, const pol_trace *t)
{
    const prob_cfg *c = p->data;
    if (c->all)
        return POL_SAMPLED;
    uint64_t h = XXH3_64bits_withSeed(t->trace_id, 16, c->seed);
    return h < c->threshold ? POL_SAMPLED : POL_NOT_SAMPLED;
}

uint32_t sampler_policy_probabilistic_permille(const policy *p)
{
    const prob_cfg *c = p->data;
    if (c == NULL || c->all)
        return 1000;
    return (uint32_t)((long double)c->threshold / 18446744073709551616.0L * 1000.0L);
}

const policy_type sampler_policy_probabilistic = {
    .name = "probabilistic",
    .parse = prob_parse,
    .evaluate = prob_evaluate,
    .free_data = free,
};
