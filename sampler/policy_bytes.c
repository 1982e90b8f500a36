/* sampler/policy_bytes.c - the bytes_limiting policy: a token bucket of
 * burst_capacity bytes (default twice bytes_per_second) refilled at
 * bytes_per_second; a trace is kept when its bytes fit in the bucket. */
#include <stdlib.h>

#include "sampler/internal.h"

typedef struct bytes_cfg {
    double rate;
    double burst;
    double tokens;
    uint64_t last_ns; /* 0 before the first evaluation */
} bytes_cfg;

static int bytes_parse(policy *p, const ottr_yaml_node *cfg, pol_parse *pp)
{
    static const char *const fields[] = {"bytes_per_second", "burst_capacity", NULL};
    if (sampler_pol_need_map(pp, cfg, false) != 0 || sampler_pol_check_fields(pp, cfg, fields) != 0)
        return -1;
    bytes_cfg *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return sampler_pol_error(pp, cfg, NULL, "out of memory");
    p->data = c;
    int64_t bps = 0, burst = 0;
    int rc = sampler_pol_get_int(pp, cfg, "bytes_per_second", &bps);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return sampler_pol_error(pp, cfg, "bytes_per_second", "missing");
    if (bps <= 0)
        return sampler_pol_error(pp, ottr_yaml_get(cfg, "bytes_per_second"), "bytes_per_second",
                                 "must be positive");
    rc = sampler_pol_get_int(pp, cfg, "burst_capacity", &burst);
    if (rc < 0)
        return -1;
    if (rc == 1 && burst <= 0)
        return sampler_pol_error(pp, ottr_yaml_get(cfg, "burst_capacity"), "burst_capacity",
                                 "must be positive");
    c->rate = (double)bps;
    c->burst = rc == 1 ? (double)burst : 2.0 * (double)bps;
    c->tokens = c->burst;
    return 0;
}

static pol_decision bytes_evaluate(policy *p, const pol_trace *t)
{
    bytes_cfg *c = p->data;
    if (c->last_ns != 0 && t->now_ns > c->last_ns) {
        c->tokens += (double)(t->now_ns - c->last_ns) / NS_PER_SEC * c->rate;
        if (c->tokens > c->burst)
            c->tokens = c->burst;
    }
    if (c->last_ns == 0 || t->now_ns > c->last_ns)
        c->last_ns = t->now_ns;
    if ((double)t->bytes > c->tokens)
        return POL_NOT_SAMPLED;
    c->tokens -= (double)t->bytes;
    return POL_SAMPLED;
}

const policy_type sampler_policy_bytes_limiting = {
    .name = "bytes_limiting",
    .parse = bytes_parse,
    .evaluate = bytes_evaluate,
    .free_data = free,
};
