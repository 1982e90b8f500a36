/* sampler/policy_composite.c - the composite policy: sub-policies tried in
 * policy_order; the first that would keep a trace keeps it if its share of
 * max_total_spans_per_second (rate_allocation percent) has room this second.
 * Sub-policies without an allocation share what the listed ones leave. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampler/internal.h"

typedef struct comp_sub {
    policy *p;          /* owned by the policy's subs */
    uint64_t allocated; /* spans per second */
    uint64_t used;      /* spans kept in cur_sec */
} comp_sub;

typedef struct comp_cfg {
    uint64_t max_total;
    uint64_t total_used;
    uint64_t cur_sec;
    comp_sub *order;
    size_t n;
} comp_cfg;

static void comp_free(void *data)
{
    comp_cfg *c = data;
    free(c->order);
    free(c);
}

static ssize_t sub_index(const policy *p, const char *name)
{
    for (size_t i = 0; i < p->nsubs; i++)
        if (strcmp(p->subs[i]->name, name) == 0)
            return (ssize_t)i;
    return -1;
}

static int parse_order(policy *p, comp_cfg *c, const ottr_yaml_node *cfg, pol_parse *pp)
{
    char **names = NULL;
    size_t nn = 0;
    int rc = sampler_pol_get_str_list(pp, cfg, "policy_order", &names, &nn);
    if (rc < 0)
        return -1;
    bool *placed = calloc(p->nsubs, sizeof(bool));
    if (placed == NULL) {
        sampler_pol_free_str_list(names);
        return sampler_pol_error(pp, cfg, NULL, "out of memory");
    }
    for (size_t i = 0; i < nn; i++) {
        ssize_t k = sub_index(p, names[i]);
        if (k < 0 || placed[k]) {
            sampler_pol_error(pp, ottr_yaml_get(cfg, "policy_order"), "policy_order",
                              k < 0 ? "\"%s\" is not in composite_sub_policy"
                                    : "\"%s\" is listed twice",
                              names[i]);
            sampler_pol_free_str_list(names);
            free(placed);
            return -1;
        }
        placed[k] = true;
        c->order[c->n++].p = p->subs[k];
    }
    for (size_t k = 0; k < p->nsubs; k++)
        if (!placed[k])
            c->order[c->n++].p = p->subs[k];
    sampler_pol_free_str_list(names);
    free(placed);
    return 0;
}

static comp_sub *find_sub(comp_cfg *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->order[i].p->name, name) == 0)
            return &c->order[i];
    return NULL;
}

static int parse_allocation(comp_cfg *c, const ottr_yaml_node *cfg, pol_parse *pp)
{
    const ottr_yaml_node *ra = ottr_yaml_get(cfg, "rate_allocation");
    bool *listed = calloc(c->n, sizeof(bool));
    if (listed == NULL)
        return sampler_pol_error(pp, cfg, NULL, "out of memory");
    int64_t sum = 0;
    size_t nlisted = 0;
    if (ra != NULL && !(ra->type == OTTR_YAML_SCALAR && ra->scalar[0] == '\0')) {
        if (ra->type != OTTR_YAML_SEQ) {
            free(listed);
            return sampler_pol_error(pp, ra, "rate_allocation",
                                     "must be a list of {policy, percent}");
        }
        size_t i = 0;
        for (const ottr_yaml_node *it = ra->child; it; it = it->next, i++) {
            char field[64];
            snprintf(field, sizeof(field), "rate_allocation[%zu]", i);
            static const char *const fields[] = {"policy", "percent", NULL};
            if (it->type != OTTR_YAML_MAP) {
                free(listed);
                return sampler_pol_error(pp, it, field, "must be a map {policy, percent}");
            }
            for (const ottr_yaml_node *f = it->child; f; f = f->next) {
                bool ok = false;
                for (const char *const *a = fields; *a; a++)
                    ok |= strcmp(f->key, *a) == 0;
                if (!ok) {
                    free(listed);
                    return sampler_pol_error(pp, f, field, "unknown field \"%s\"", f->key);
                }
            }
            const ottr_yaml_node *pn = ottr_yaml_get(it, "policy");
            if (pn == NULL || pn->type != OTTR_YAML_SCALAR) {
                free(listed);
                return sampler_pol_error(pp, it, field, "policy: missing");
            }
            comp_sub *s = find_sub(c, pn->scalar);
            if (s == NULL || listed[s - c->order]) {
                free(listed);
                return sampler_pol_error(pp, pn, field,
                                         s ? "policy \"%s\" is listed twice"
                                           : "policy \"%s\" is not in composite_sub_policy",
                                         pn->scalar);
            }
            int64_t pct = 0;
            char pfield[80];
            snprintf(pfield, sizeof(pfield), "%s.percent", field);
            int rc = sampler_pol_get_int(pp, it, "percent", &pct);
            if (rc < 0) {
                free(listed);
                return -1;
            }
            if (pct < 0 || pct > 100) {
                free(listed);
                return sampler_pol_error(pp, ottr_yaml_get(it, "percent"), pfield,
                                         "must be between 0 and 100");
            }
            /* 0 or absent: an equal share, as the collector does. */
            if (pct == 0)
                pct = 100 / (int64_t)c->n;
            listed[s - c->order] = true;
            nlisted++;
            s->allocated = c->max_total * (uint64_t)pct / 100;
            sum += pct;
        }
        if (sum > 100) {
            free(listed);
            return sampler_pol_error(pp, ra, "rate_allocation",
                                     "percents add up to %lld (over 100)", (long long)sum);
        }
    }
    size_t rest = c->n - nlisted;
    for (size_t i = 0; i < c->n; i++)
        if (!listed[i])
            c->order[i].allocated = c->max_total * (uint64_t)(100 - sum) / 100 / rest;
    free(listed);
    return 0;
}

static int comp_parse(policy *p, const ottr_yaml_node *cfg, pol_parse *pp)
{
    static const char *const fields[] = {"max_total_spans_per_second", "policy_order",
                                         "composite_sub_policy", "rate_allocation", NULL};
    if (sampler_pol_need_map(pp, cfg, false) != 0 || sampler_pol_check_fields(pp, cfg, fields) != 0)
        return -1;
    comp_cfg *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return sampler_pol_error(pp, cfg, NULL, "out of memory");
    p->data = c;
    int64_t max = 0;
    int rc = sampler_pol_get_int(pp, cfg, "max_total_spans_per_second", &max);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return sampler_pol_error(pp, cfg, "max_total_spans_per_second", "missing");
    if (max <= 0)
        return sampler_pol_error(pp, ottr_yaml_get(cfg, "max_total_spans_per_second"),
                                 "max_total_spans_per_second", "must be positive");
    c->max_total = (uint64_t)max;
    if (sampler_pol_parse_subs(pp, p, cfg, "composite_sub_policy") != 0)
        return -1;
    c->order = calloc(p->nsubs, sizeof(comp_sub));
    if (c->order == NULL)
        return sampler_pol_error(pp, cfg, NULL, "out of memory");
    if (parse_order(p, c, cfg, pp) != 0)
        return -1;
    return parse_allocation(c, cfg, pp);
}

static pol_decision comp_evaluate(policy *p, const pol_trace *t)
{
    comp_cfg *c = p->data;
    uint64_t sec = t->now_ns / NS_PER_SEC;
    if (sec != c->cur_sec) {
        c->cur_sec = sec;
        c->total_used = 0;
        for (size_t i = 0; i < c->n; i++)
            c->order[i].used = 0;
    }
    for (size_t i = 0; i < c->n; i++) {
        comp_sub *s = &c->order[i];
        pol_decision d = sampler_pol_evaluate(s->p, t);
        if (d != POL_SAMPLED && d != POL_INVERT_SAMPLED)
            continue;
        /* The first sub-policy that wants the trace decides; over its share the
         * trace is not kept, and the share stays for smaller traces. */
        if (s->used + t->span_count <= s->allocated &&
            c->total_used + t->span_count <= c->max_total) {
            s->used += t->span_count;
            c->total_used += t->span_count;
            return POL_SAMPLED;
        }
        return POL_NOT_SAMPLED;
    }
    return POL_NOT_SAMPLED;
}

const policy_type sampler_policy_composite = {
    .name = "composite",
    .parse = comp_parse,
    .evaluate = comp_evaluate,
    .free_data = comp_free,
    .combinator = true,
};
