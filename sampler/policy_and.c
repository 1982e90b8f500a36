/* sampler/policy_and.c - the and policy: keeps a trace when every one of its
 * and_sub_policy policies would. */
#include "sampler/internal.h"

static int and_parse(policy *p, const ottr_yaml_node *cfg, pol_parse *pp)
{
    static const char *const fields[] = {"and_sub_policy", NULL};
    if (sampler_pol_need_map(pp, cfg, false) != 0 || sampler_pol_check_fields(pp, cfg, fields) != 0)
        return -1;
    return sampler_pol_parse_subs(pp, p, cfg, "and_sub_policy");
}

static pol_decision and_evaluate(policy *p, const pol_trace *t)
{
    for (size_t i = 0; i < p->nsubs; i++) {
        pol_decision d = sampler_pol_evaluate(p->subs[i], t);
        if (d == POL_NOT_SAMPLED || d == POL_INVERT_NOT_SAMPLED)
            return POL_NOT_SAMPLED;
    }
    return POL_SAMPLED;
}

const policy_type sampler_policy_and = {
    .name = "and",
    .parse = and_parse,
    .evaluate = and_evaluate,
    .combinator = true,
};
