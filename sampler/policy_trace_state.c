/* sampler/policy_trace_state.c - the trace_state policy: keeps traces with a
 * span whose W3C tracestate has |key| set to one of |values|. */
#include <stdlib.h>
#include <string.h>

#include "sampler/internal.h"

typedef struct trace_state_cfg {
    char *key;
    char **values;
    size_t nvalues;
} trace_state_cfg;

static void trace_state_free(void *data)
{
    trace_state_cfg *c = data;
    free(c->key);
    sampler_pol_free_str_list(c->values);
    free(c);
}

static int trace_state_parse(policy *p, const ottr_yaml_node *cfg, pol_parse *pp)
{
    static const char *const fields[] = {"key", "values", NULL};
    if (sampler_pol_need_map(pp, cfg, false) != 0 || sampler_pol_check_fields(pp, cfg, fields) != 0)
        return -1;
    trace_state_cfg *c = calloc(1, sizeof(*c));
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
    if (rc == 0 || c->nvalues == 0)
        return sampler_pol_error(pp, cfg, "values", "needs at least one value");
    return 0;
}

static bool is_ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

static bool trace_state_match(const policy *p, const otlp_span *sp)
{
    const trace_state_cfg *c = p->data;
    const char *s = sp->trace_state;
    if (s == NULL || s[0] == '\0')
        return false;
    size_t klen = strlen(c->key);
    /* list-member *( OWS "," OWS list-member ), each member key "=" value. */
    while (*s) {
        while (is_ows(*s) || *s == ',')
            s++;
        const char *member = s;
        while (*s && *s != ',')
            s++;
        const char *end = s;
        while (end > member && is_ows(end[-1]))
            end--;
        const char *eq = memchr(member, '=', (size_t)(end - member));
        if (eq == NULL)
            continue;
        if ((size_t)(eq - member) != klen || memcmp(member, c->key, klen) != 0)
            continue;
        size_t vlen = (size_t)(end - eq - 1);
        for (size_t i = 0; i < c->nvalues; i++)
            if (strlen(c->values[i]) == vlen && memcmp(c->values[i], eq + 1, vlen) == 0)
                return true;
        return false; /* a key appears once */
    }
    return false;
}

const policy_type sampler_policy_trace_state = {
    .name = "trace_state",
    .parse = trace_state_parse,
    .match_span = trace_state_match,
    .free_data = trace_state_free,
};
