/* sampler/policy_rate.c - the rate_limiting policy: keeps traces while the
 * spans kept in the current second stay within spans_per_second. */
#include <stdlib.h>

#include "sampler/internal.h"

typedef struct rate_cfg {
    int64_t sps;
    uint64_t cur_sec;
    uint64_t used;
} rate_cfg;

static int rate_parse(policy *p, const ottr_yaml_node *cfg, pol_parse *pp)
{
    static const char *const fields[] = {"spans_per_second", NULL};
    if (sampler_pol_need_map(pp, cfg, false) != 0 || sampler_pol_check_fields(pp, cfg, fields) != 0)
        return -1;
    rate_cfg *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return sampler_pol_error(pp, cfg, NULL, "out of memory");
    p->data = c;
    int rc = sampler_pol_get_int(pp, cfg, "spans_per_second", &c->sps);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return sampler_pol_error(pp, cfg, "spans_per_second", "missing");
    if (c->sps <= 0)
        return sampler_pol_error(pp, ottr_yaml_get(cfg, "spans_per_second"), "spans_per_second",
                                 "must be positive");
    return 0;
}

static pol_decision rate_evaluate(policy *p, const pol_trace *t)
{
    rate_cfg *c = p->data;
    uint64_t sec = t->now_ns / NS_PER_SEC;
    if (sec != c->cur_sec) {
        c->cur_sec = sec;
        c->used = 0;
    }
    if (c->used + t->span_count > (uint64_t)c->sps)
        return POL_NOT_SAMPLED;
    c->used += t->span_count;
    return POL_SAMPLED;
}

const policy_type sampler_policy_rate_limiting = {
    .name = "rate_limiting",
    .parse = rate_parse,
    .evaluate = rate_evaluate,
    .free_data = free,
};
