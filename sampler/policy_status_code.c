/* sampler/policy_status_code.c - the status_code policy: keeps traces with a
 * span whose status is one of status_codes (OK, ERROR, UNSET). */
#include <stdlib.h>
#include <strings.h>

#include "sampler/internal.h"

typedef struct status_cfg {
    bool want[3]; /* by OTLP status code */
} status_cfg;

static int status_parse(policy *p, const ottr_yaml_node *cfg, pol_parse *pp)
{
    static const char *const fields[] = {"status_codes", NULL};
    if (sampler_pol_need_map(pp, cfg, false) != 0 || sampler_pol_check_fields(pp, cfg, fields) != 0)
        return -1;
    status_cfg *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return sampler_pol_error(pp, cfg, NULL, "out of memory");
    p->data = c;
    char **codes = NULL;
    size_t n = 0;
    int rc = sampler_pol_get_str_list(pp, cfg, "status_codes", &codes, &n);
    if (rc < 0)
        return -1;
    const ottr_yaml_node *at = ottr_yaml_get(cfg, "status_codes");
    if (rc == 0 || n == 0) {
        sampler_pol_free_str_list(codes);
        return sampler_pol_error(pp, at ? at : cfg, "status_codes",
                                 "needs at least one status code");
    }
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(codes[i], "OK") == 0) {
            c->want[STATUS_OK] = true;
        } else if (strcasecmp(codes[i], "ERROR") == 0) {
            c->want[STATUS_ERROR] = true;
        } else if (strcasecmp(codes[i], "UNSET") == 0) {
            c->want[STATUS_UNSET] = true;
        } else {
            sampler_pol_error(pp, at, "status_codes",
                              "unknown status code \"%s\" (want OK, ERROR or UNSET)", codes[i]);
            sampler_pol_free_str_list(codes);
            return -1;
        }
    }
    sampler_pol_free_str_list(codes);
    return 0;
}

static bool status_match(const policy *p, const otlp_span *sp)
{
    const status_cfg *c = p->data;
    int code = span_status(sp);
    return code >= 0 && code < 3 && c->want[code];
}

const policy_type sampler_policy_status_code = {
    .name = "status_code",
    .parse = status_parse,
    .match_span = status_match,
    .free_data = free,
};
