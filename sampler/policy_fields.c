/* sampler/policy_fields.c - reading a policy's settings from the YAML tree:
 * typed field getters and error messages that name the policy, field and line. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sampler/internal.h"

int sampler_pol_error(pol_parse *pp, const ottr_yaml_node *at, const char *field, const char *fmt,
                      ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char line[32] = "";
    if (at != NULL && at->line > 0)
        snprintf(line, sizeof(line), " (line %d)", at->line);
    if (pp->err == NULL || pp->errlen == 0)
        return -1;
    if (field != NULL && pp->type != NULL)
        snprintf(pp->err, pp->errlen, "%s: %s.%s: %s%s", pp->path, pp->type, field, msg, line);
    else if (field != NULL)
        snprintf(pp->err, pp->errlen, "%s: %s: %s%s", pp->path, field, msg, line);
    else
        snprintf(pp->err, pp->errlen, "%s: %s%s", pp->path, msg, line);
    return -1;
}

int sampler_pol_need_map(pol_parse *pp, const ottr_yaml_node *cfg, bool optional)
{
    if (cfg == NULL) {
        if (optional)
            return 0;
        return sampler_pol_error(pp, NULL, NULL, "missing \"%s\" settings", pp->type);
    }
    /* `latency:` with nothing after it is an empty scalar: same as an empty map. */
    if (cfg->type == OTTR_YAML_SCALAR && cfg->scalar[0] == '\0') {
        if (optional)
            return 0;
        return sampler_pol_error(pp, cfg, NULL, "missing \"%s\" settings", pp->type);
    }
    if (cfg->type != OTTR_YAML_MAP)
        return sampler_pol_error(pp, cfg, NULL, "\"%s\" must be a map", pp->type);
    return 0;
}

int sampler_pol_check_fields(pol_parse *pp, const ottr_yaml_node *cfg, const char *const *allowed)
{
    if (cfg == NULL || cfg->type != OTTR_YAML_MAP)
        return 0;
    for (const ottr_yaml_node *c = cfg->child; c; c = c->next) {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(c->key, *a) == 0)
                ok = true;
        if (!ok)
            return sampler_pol_error(pp, c, c->key, "unknown field");
    }
    return 0;
}

const ottr_yaml_node *sampler_pol_field(const ottr_yaml_node *cfg, const char *field)
{
    if (cfg == NULL || cfg->type != OTTR_YAML_MAP)
        return NULL;
    return ottr_yaml_get(cfg, field);
}

static int need_scalar(pol_parse *pp, const ottr_yaml_node *n, const char *field)
{
    if (n->type != OTTR_YAML_SCALAR)
        return sampler_pol_error(pp, n, field, "must be a single value");
    return 0;
}

int sampler_pol_get_int(pol_parse *pp, const ottr_yaml_node *cfg, const char *field, int64_t *out)
{
    const ottr_yaml_node *n = sampler_pol_field(cfg, field);
    if (n == NULL)
        return 0;
    if (need_scalar(pp, n, field) != 0)
        return -1;
    const char *s = n->scalar;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (s[0] == '\0' || *end != '\0' || errno != 0)
        return sampler_pol_error(pp, n, field, "not an integer: \"%s\"", s);
    *out = v;
    return 1;
}

int sampler_pol_get_double(pol_parse *pp, const ottr_yaml_node *cfg, const char *field, double *out)
{
    const ottr_yaml_node *n = sampler_pol_field(cfg, field);
    if (n == NULL)
        return 0;
    if (need_scalar(pp, n, field) != 0)
        return -1;
    const char *s = n->scalar;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (s[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(v))
        return sampler_pol_error(pp, n, field, "not a number: \"%s\"", s);
    *out = v;
    return 1;
}

int sampler_pol_get_bool(pol_parse *pp, const ottr_yaml_node *cfg, const char *field, bool *out)
{
    const ottr_yaml_node *n = sampler_pol_field(cfg, field);
    if (n == NULL)
        return 0;
    if (need_scalar(pp, n, field) != 0)
        return -1;
    const char *s = n->scalar;
    if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0 || strcasecmp(s, "on") == 0) {
        *out = true;
        return 1;
    }
    if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0 || strcasecmp(s, "off") == 0) {
        *out = false;
        return 1;
    }
    return sampler_pol_error(pp, n, field, "not a boolean: \"%s\" (want true or false)", s);
}

int sampler_pol_get_str(pol_parse *pp, const ottr_yaml_node *cfg, const char *field, char **out)
{
    const ottr_yaml_node *n = sampler_pol_field(cfg, field);
    if (n == NULL)
        return 0;
    if (need_scalar(pp, n, field) != 0)
        return -1;
    char *s = strdup(n->scalar);
    if (s == NULL)
        return sampler_pol_error(pp, n, field, "out of memory");
    *out = s;
    return 1;
}

void sampler_pol_free_str_list(char **list)
{
    if (list == NULL)
        return;
    for (char **p = list; *p; p++)
        free(*p);
    free(list);
}

int sampler_pol_get_str_list(pol_parse *pp, const ottr_yaml_node *cfg, const char *field,
                             char ***out, size_t *nout)
{
    const ottr_yaml_node *n = sampler_pol_field(cfg, field);
    if (n == NULL)
        return 0;
    size_t cnt = 0;
    if (n->type == OTTR_YAML_SCALAR) {
        cnt = n->scalar[0] ? 1 : 0;
    } else if (n->type == OTTR_YAML_SEQ) {
        for (const ottr_yaml_node *c = n->child; c; c = c->next) {
            if (c->type != OTTR_YAML_SCALAR)
                return sampler_pol_error(pp, c, field, "must be a list of values");
            cnt++;
        }
    } else {
        return sampler_pol_error(pp, n, field, "must be a list of values");
    }
    char **list = calloc(cnt + 1, sizeof(char *));
    if (list == NULL)
        return sampler_pol_error(pp, n, field, "out of memory");
    size_t i = 0;
    if (n->type == OTTR_YAML_SCALAR) {
        if (cnt)
            list[i++] = strdup(n->scalar);
    } else {
        for (const ottr_yaml_node *c = n->child; c; c = c->next)
            list[i++] = strdup(c->scalar);
    }
    for (size_t k = 0; k < i; k++) {
        if (list[k] == NULL) {
            /* sampler_pol_free_str_list stops at the first NULL: free every slot here. */
            for (size_t m = 0; m < i; m++)
                free(list[m]);
            free(list);
            return sampler_pol_error(pp, n, field, "out of memory");
        }
    }
    *out = list;
    *nout = cnt;
    return 1;
}
