/* sampler/policy_latency.c - the latency policy: keeps traces whose duration
 * (latest span end minus earliest span start) falls in [threshold_ms,
 * upper_threshold_ms]; no upper bound when upper_threshold_ms is 0. */
#include <stdlib.h>

#include "sampler/internal.h"

typedef struct latency_cfg {
    int64_t threshold_ms;
    int64_t upper_ms;
} latency_cfg;

static int latency_parse(policy *p, const ottr_yaml_node *cfg, pol_parse *pp)
{
    static const char *const fields[] = {"threshold_ms", "upper_threshold_ms", NULL};
    if (sampler_pol_need_map(pp, cfg, false) != 0 || sampler_pol_check_fields(pp, cfg, fields) != 0)
        return -1;
    latency_cfg *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return sampler_pol_error(pp, cfg, NULL, "out of memory");
    p->data = c;
    int rc = sampler_pol_get_int(pp, cfg, "threshold_ms", &c->threshold_ms);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return sampler_pol_error(pp, cfg, "threshold_ms", "missing");
    if (c->threshold_ms < 0)
        return sampler_pol_error(pp, ottr_yaml_get(cfg, "threshold_ms"), "threshold_ms",
                                 "must not be negative");
    if (sampler_pol_get_int(pp, cfg, "upper_threshold_ms", &c->upper_ms) < 0)
        return -1;
    if (c->upper_ms < 0 || (c->upper_ms > 0 && c->upper_ms < c->threshold_ms))
        return sampler_pol_error(pp, ottr_yaml_get(cfg, "upper_threshold_ms"), "upper_threshold_ms",
                                 "must be 0 (none) or at least threshold_ms");
    return 0;
}

static pol_decision latency_evaluate(policy *p, const pol_trace *t)
{
    const latency_cfg *c = p->data;
    uint64_t dur_ms = 0;
    if (t->min_start_ns != UINT64_MAX && t->max_end_ns > t->min_start_ns)
        dur_ms = (t->max_end_ns - t->min_start_ns) / 1000000u;
    if (dur_ms < (uint64_t)c->threshold_ms)
        return POL_NOT_SAMPLED;
    if (c->upper_ms > 0 && dur_ms > (uint64_t)c->upper_ms)
        return POL_NOT_SAMPLED;
    return POL_SAMPLED;
}

const policy_type sampler_policy_latency = {
    .name = "latency",
    .parse = latency_parse,
    .evaluate = latency_evaluate,
    .free_data = free,
};
