/* sampler/policy_boolean.c - the boolean_attribute policy: keeps traces with a
 * span or resource boolean attribute |key| equal to |value|; invert_match
 * excludes them instead. */
#include <stdlib.h>

#include "sampler/internal.h"

typedef struct boolean_cfg {
    char *key;
    bool value;
} boolean_cfg;

static void boolean_free(void *data)
{
    boolean_cfg *c = data;
    free(c->key);
    free(c);
}

static int boolean_parse(policy *p, const ottr_yaml_node *cfg, pol_parse *pp)
{
    static const char *const fields[] = {"key", "value", "invert_match", NULL};
    if (sampler_pol_need_map(pp, cfg, false) != 0 || sampler_pol_check_fields(pp, cfg, fields) != 0)
        return -1;
    boolean_cfg *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return sampler_pol_error(pp, cfg, NULL, "out of memory");
    p->data = c;
    int rc = sampler_pol_get_str(pp, cfg, "key", &c->key);
    if (rc < 0)
        return -1;
    if (rc == 0 || c->key[0] == '\0')
        return sampler_pol_error(pp, cfg, "key", "missing");
    rc = sampler_pol_get_bool(pp, cfg, "value", &c->value);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return sampler_pol_error(pp, cfg, "value", "missing");
    if (sampler_pol_get_bool(pp, cfg, "invert_match", &p->invert) < 0)
        return -1;
    return 0;
}

static bool boolean_value_matches(const boolean_cfg *c, const otlp_any *v)
{
    return v != NULL && v->value_case == ANY_BOOL && (bool)v->bool_value == c->value;
}

static bool boolean_match_span(const policy *p, const otlp_span *sp)
{
    const boolean_cfg *c = p->data;
    return boolean_value_matches(c, otlp_attr_find(sp->attributes, sp->n_attributes, c->key));
}

static bool boolean_match_resource(const policy *p, const otlp_resource *r)
{
    const boolean_cfg *c = p->data;
    return boolean_value_matches(c, otlp_attr_find(r->attributes, r->n_attributes, c->key));
}

const policy_type sampler_policy_boolean_attribute = {
    .name = "boolean_attribute",
    .parse = boolean_parse,
    .match_span = boolean_match_span,
    .match_resource = boolean_match_resource,
    .free_data = boolean_free,
};
