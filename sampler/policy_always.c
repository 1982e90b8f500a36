/* sampler/policy_always.c - the always_sample policy: keeps every trace. */
#include "sampler/internal.h"

static int always_parse(policy *p, const ottr_yaml_node *cfg, pol_parse *pp)
{
    (void)p;
    static const char *const fields[] = {NULL};
    if (sampler_pol_need_map(pp, cfg, true) != 0 || sampler_pol_check_fields(pp, cfg, fields) != 0)
        return -1;
    return 0;
}

static pol_decision always_evaluate(policy *p, const pol_trace *t)
{
    (void)p;
    (void)t;
    return POL_SAMPLED;
}

const policy_type sampler_policy_always_sample = {
    .name = "always_sample",
    .parse = always_parse,
    .evaluate = always_evaluate,
};
