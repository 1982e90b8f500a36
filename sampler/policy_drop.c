/* sampler/policy_drop.c - the drop policy: drops a trace, whatever the other
 * policies say, when every one of its drop_sub_policy policies matches. */
#include "sampler/internal.h"

static int drop_parse(policy *p, const ottr_yaml_node *cfg, pol_parse *pp)
{
    static const char *const fields[] = {"drop_sub_policy", NULL};
    if (sampler_pol_need_map(pp, cfg, false) != 0 || sampler_pol_check_fields(pp, cfg, fields) != 0)
        return -1;
    return sampler_pol_parse_subs(pp, p, cfg, "drop_sub_policy");
}

static pol_decision drop_evaluate(policy *p, const pol_trace *t)
{
    for (size_t i = 0; i < p->nsubs; i++) {
        pol_decision d = sampler_pol_evaluate(p->subs[i], t);
        if (d == POL_NOT_SAMPLED || d == POL_INVERT_NOT_SAMPLED)
            return POL_NOT_SAMPLED;
    }
    return POL_DROPPED;
}

const policy_type sampler_policy_drop = {
    .name = "drop",
    .parse = drop_parse,
    .evaluate = drop_evaluate,
    .combinator = true,
};
