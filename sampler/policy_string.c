/* sampler/policy_string.c - the string_attribute policy: keeps traces with a
 * span or resource attribute |key| equal to one of |values| (or matching one of
 * them as regular expressions); invert_match excludes those traces instead. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "sampler/internal.h"

typedef struct string_cfg {
    char *key;
    char **values; /* NULL-terminated */
    size_t nvalues;
    regex_t *re; /* nvalues compiled expressions when regex matching is on */
    size_t nre;
} string_cfg;

static void string_free(void *data)
{
    string_cfg *c = data;
    free(c->key);
    sampler_pol_free_str_list(c->values);
    for (size_t i = 0; i < c->nre; i++)
        regfree(&c->re[i]);
    free(c->re);
    free(c);
}

static int string_parse(policy *p, const ottr_yaml_node *cfg, pol_parse *pp)
{
    static const char *const fields[] = {
        "key", "values", "enabled_regex_matching", "cache_max_size", "invert_match", NULL};
    if (sampler_pol_need_map(pp, cfg, false) != 0 || sampler_pol_check_fields(pp, cfg, fields) != 0)
        return -1;
    string_cfg *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return sampler_pol_error(pp, cfg, NULL, "out of memory");
    p->data = c;
    int rc = sampler_pol_get_str(pp, cfg, "key", &c->key);
    if (rc < 0)
        return -1;
    if (rc == 0 || c->key[0] == '\0')
        return sampler_pol_error(pp, cfg, "key", "missing");
    rc = sampler_pol_get_str_list(pp, cfg, "values", &c->values, &c->nvalues);
    if (rc < 0)
        return -1;
    const ottr_yaml_node *vat = ottr_yaml_get(cfg, "values");
    if (rc == 0 || c->nvalues == 0)
        return sampler_pol_error(pp, vat ? vat : cfg, "values", "needs at least one value");
    bool regex = false;
    int64_t cache = 0;
    if (sampler_pol_get_bool(pp, cfg, "enabled_regex_matching", &regex) < 0 ||
        sampler_pol_get_bool(pp, cfg, "invert_match", &p->invert) < 0 ||
        sampler_pol_get_int(pp, cfg, "cache_max_size", &cache) < 0)
        return -1;
    if (regex) {
        c->re = calloc(c->nvalues, sizeof(regex_t));
        if (c->re == NULL)
            return sampler_pol_error(pp, vat, "values", "out of memory");
        for (size_t i = 0; i < c->nvalues; i++) {
            int e = regcomp(&c->re[i], c->values[i], REG_EXTENDED | REG_NOSUB);
            if (e != 0) {
                char msg[128];
                regerror(e, &c->re[i], msg, sizeof(msg));
                return sampler_pol_error(pp, vat, "values", "bad regular expression \"%s\": %s",
                                         c->values[i], msg);
            }
            c->nre++;
        }
    }
    return 0;
}

static bool string_value_matches(const string_cfg *c, const char *v)
{
    if (c->re != NULL) {
        for (size_t i = 0; i < c->nre; i++)
            if (regexec(&c->re[i], v, 0, NULL, 0) == 0)
                return true;
        return false;
    }
    if (v[0] == '\0')
        return false;
    for (size_t i = 0; i < c->nvalues; i++)
        if (strcmp(c->values[i], v) == 0)
            return true;
    return false;
}

static bool string_match_span(const policy *p, const otlp_span *sp)
{
    const string_cfg *c = p->data;
    const char *v = otlp_attr_str(sp->attributes, sp->n_attributes, c->key);
    /* An empty span attribute never matches, as in the collector. */
    return v != NULL && v[0] != '\0' && string_value_matches(c, v);
}

static bool string_match_resource(const policy *p, const otlp_resource *r)
{
    const string_cfg *c = p->data;
    const otlp_any *av = otlp_attr_find(r->attributes, r->n_attributes, c->key);
    if (av == NULL)
        return false;
    const char *v = (av->value_case == ANY_STRING && av->string_value) ? av->string_value : "";
    return string_value_matches(c, v);
}

const policy_type sampler_policy_string_attribute = {
    .name = "string_attribute",
    .parse = string_parse,
    .match_span = string_match_span,
    .match_resource = string_match_resource,
    .free_data = string_free,
};
