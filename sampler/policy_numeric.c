/* sampler/policy_numeric.c - the numeric_attribute policy: keeps traces with a
 * span or resource attribute |key| in [min_value, max_value]; invert_match
 * excludes them instead. */
#include <stdlib.h>

#include "sampler/internal.h"

typedef struct numeric_cfg {
    char *key;
    int64_t min, max;
} numeric_cfg;

static void numeric_free(void *data)
{
    numeric_cfg *c = data;
    free(c->key);
    free(c);
}

static int numeric_parse(policy *p, const ottr_yaml_node *cfg, pol_parse *pp)
{
    static const char *const fields[] = {"key", "min_value", "max_value", "invert_match", NULL};
    if (sampler_pol_need_map(pp, cfg, false) != 0 || sampler_pol_check_fields(pp, cfg, fields) != 0)
        return -1;
    numeric_cfg *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return sampler_pol_error(pp, cfg, NULL, "out of memory");
    p->data = c;
    int rc = sampler_pol_get_str(pp, cfg, "key", &c->key);
    if (rc < 0)
        return -1;
    if (rc == 0 || c->key[0] == '\0')
        return sampler_pol_error(pp, cfg, "key", "missing");
    c->min = INT64_MIN;
    c->max = INT64_MAX;
    int rmin = sampler_pol_get_int(pp, cfg, "min_value", &c->min);
    if (rmin < 0)
        return -1;
    int rmax = sampler_pol_get_int(pp, cfg, "max_value", &c->max);
    if (rmax < 0)
        return -1;
    if (rmin == 0 && rmax == 0)
        return sampler_pol_error(pp, cfg, "min_value", "set min_value, max_value or both");
    if (c->min > c->max)
        return sampler_pol_error(pp, ottr_yaml_get(cfg, "max_value"), "max_value",
                                 "must not be less than min_value");
    if (sampler_pol_get_bool(pp, cfg, "invert_match", &p->invert) < 0)
        return -1;
    return 0;
}

static bool numeric_value_matches(const numeric_cfg *c, const otlp_any *v)
{
    if (v == NULL)
        return false;
    if (v->value_case == ANY_INT)
        return v->int_value >= c->min && v->int_value <= c->max;
    if (v->value_case == ANY_DOUBLE)
        return v->double_value >= (double)c->min && v->double_value <= (double)c->max;
    return false;
}

static bool numeric_match_span(const policy *p, const otlp_span *sp)
{
    const numeric_cfg *c = p->data;
    return numeric_value_matches(c, otlp_attr_find(sp->attributes, sp->n_attributes, c->key));
}

static bool numeric_match_resource(const policy *p, const otlp_resource *r)
{
    const numeric_cfg *c = p->data;
    return numeric_value_matches(c, otlp_attr_find(r->attributes, r->n_attributes, c->key));
}

const policy_type sampler_policy_numeric_attribute = {
    .name = "numeric_attribute",
    .parse = numeric_parse,
    .match_span = numeric_match_span,
    .match_resource = numeric_match_resource,
    .free_data = numeric_free,
};
