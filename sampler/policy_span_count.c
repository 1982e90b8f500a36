/* sampler/policy_span_count.c - the span_count policy: keeps traces with
 * min_spans <= span count <= max_spans (no upper bound when max_spans is 0). */
#include <stdlib.h>

#include "sampler/internal.h"

typedef struct span_count_cfg {
    int64_t min_spans;
    int64_t max_spans;
} span_count_cfg;

static int span_count_parse(policy *p, const ottr_yaml_node *cfg, pol_parse *pp)
{
    static const char *const fields[] = {"min_spans", "max_spans", NULL};
    if (sampler_pol_need_map(pp, cfg, false) != 0 || sampler_pol_check_fields(pp, cfg, fields) != 0)
        return -1;
    span_count_cfg *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return sampler_pol_error(pp, cfg, NULL, "out of memory");
    p->data = c;
    int rc = sampler_pol_get_int(pp, cfg, "min_spans", &c->min_spans);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return sampler_pol_error(pp, cfg, "min_spans", "missing");
    if (c->min_spans < 0)
        return sampler_pol_error(pp, ottr_yaml_get(cfg, "min_spans"), "min_spans",
                                 "must not be negative");
    if (sampler_pol_get_int(pp, cfg, "max_spans", &c->max_spans) < 0)
        return -1;
    if (c->max_spans < 0 || (c->max_spans > 0 && c->max_spans < c->min_spans))
        return sampler_pol_error(pp, ottr_yaml_get(cfg, "max_spans"), "max_spans",
                                 "must be 0 (none) or at least min_spans");
    return 0;
}

static pol_decision span_count_evaluate(policy *p, const pol_trace *t)
{
    const span_count_cfg *c = p->data;
    if (t->span_count < (uint64_t)c->min_spans)
        return POL_NOT_SAMPLED;
    if (c->max_spans > 0 && t->span_count > (uint64_t)c->max_spans)
        return POL_NOT_SAMPLED;
    return POL_SAMPLED;
}

const policy_type sampler_policy_span_count = {
    .name = "span_count",
    .parse = span_count_parse,
    .evaluate = span_count_evaluate,
    .free_data = free,
};
