/* sampler/policy.c - parses a tail_sampling `policies` list into policy trees,
 * evaluates span-level policies per span (into bits) and takes the final
 * decision: any drop drops, an inverted match excludes, any sampled keeps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "sampler/internal.h"

/* ------------------------------------------------------------------ trees */

static void policy_free(policy *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nsubs; i++)
        policy_free(p->subs[i]);
    free(p->subs);
    if (p->data && p->type && p->type->free_data)
        p->type->free_data(p->data);
    free(p->name);
    free(p->sig);
    free(p);
}

/* Canonical text of a YAML subtree: identical settings give identical text. */
static void yaml_sig(ottr_buf *b, const ottr_yaml_node *n)
{
    if (n == NULL) {
        ottr_buf_puts(b, "~");
        return;
    }
    switch (n->type) {
    case OTTR_YAML_SCALAR:
        ottr_buf_json_str(b, n->scalar, strlen(n->scalar));
        break;
    case OTTR_YAML_SEQ:
        ottr_buf_putc(b, '[');
        for (const ottr_yaml_node *c = n->child; c; c = c->next) {
            yaml_sig(b, c);
            ottr_buf_putc(b, ',');
        }
        ottr_buf_putc(b, ']');
        break;
    case OTTR_YAML_MAP:
        ottr_buf_putc(b, '{');
        for (const ottr_yaml_node *c = n->child; c; c = c->next) {
            ottr_buf_json_str(b, c->key, strlen(c->key));
            ottr_buf_putc(b, ':');
            yaml_sig(b, c);
            ottr_buf_putc(b, ',');
        }
        ottr_buf_putc(b, '}');
        break;
    }
}

static bool allowed_inside(const char *parent, const char *child)
{
    if (parent == NULL)
        return true;
    bool child_comb =
        strcmp(child, "and") == 0 || strcmp(child, "drop") == 0 || strcmp(child, "composite") == 0;
    if (strcmp(parent, "composite") == 0)
        return strcmp(child, "composite") != 0 && strcmp(child, "drop") != 0;
    return !child_comb; /* and, drop: leaves only */
}

/* Parses one policy map found at |n|; |base| is its path without the name. */
static policy *parse_one(pol_parse *pp, const ottr_yaml_node *n, const char *base)
{
    char saved_path[sizeof(pp->path)];
    const char *saved_type = pp->type;
    memcpy(saved_path, pp->path, sizeof(saved_path));
    policy *p = NULL;

    snprintf(pp->path, sizeof(pp->path), "%s", base);
    pp->type = NULL;
    if (n->type != OTTR_YAML_MAP) {
        sampler_pol_error(pp, n, NULL, "must be a map with name and type");
        goto fail;
    }
    const ottr_yaml_node *name = ottr_yaml_get(n, "name");
    if (name == NULL || name->type != OTTR_YAML_SCALAR || name->scalar[0] == '\0') {
        sampler_pol_error(pp, name ? name : n, "name",
                          name ? "must be a non-empty string" : "missing");
        goto fail;
    }
    snprintf(pp->path, sizeof(pp->path), "%s (%s)", base, name->scalar);
    const ottr_yaml_node *type = ottr_yaml_get(n, "type");
    if (type == NULL || type->type != OTTR_YAML_SCALAR || type->scalar[0] == '\0') {
        sampler_pol_error(pp, type ? type : n, "type",
                          type ? "must be a policy type name" : "missing");
        goto fail;
    }
    const policy_type *pt = sampler_policy_type_find(type->scalar);
    if (pt == NULL) {
        sampler_pol_error(pp, type, "type", "unknown policy type \"%s\"", type->scalar);
        goto fail;
    }
    if (!allowed_inside(saved_type, pt->name)) {
        sampler_pol_error(pp, type, "type", "\"%s\" is not allowed inside %s", pt->name,
                          saved_type);
        goto fail;
    }
    for (const ottr_yaml_node *c = n->child; c; c = c->next) {
        if (strcmp(c->key, "name") != 0 && strcmp(c->key, "type") != 0 &&
            strcmp(c->key, pt->name) != 0) {
            sampler_pol_error(pp, c, NULL, "unknown field \"%s\" for a %s policy", c->key,
                              pt->name);
            goto fail;
        }
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL || (p->name = strdup(name->scalar)) == NULL) {
        sampler_pol_error(pp, n, NULL, "out of memory");
        goto fail;
    }
    p->type = pt;
    p->bit = -1;
    pp->type = pt->name;
    pp->depth++;
    const ottr_yaml_node *cfg = ottr_yaml_get(n, pt->name);
    int rc = pt->parse(p, cfg, pp);
    pp->depth--;
    if (rc != 0)
        goto fail;
    if (pt->match_span != NULL || pt->match_resource != NULL) {
        if (pp->set->nleaves >= POL_MAX_BITS) {
            sampler_pol_error(pp, n, NULL,
                              "too many attribute, status and trace_state policies (at most %d)",
                              POL_MAX_BITS);
            goto fail;
        }
        ottr_buf b = {0};
        ottr_buf_puts(&b, pt->name);
        ottr_buf_putc(&b, ':');
        yaml_sig(&b, cfg);
        if (b.oom) {
            ottr_buf_free(&b);
            sampler_pol_error(pp, n, NULL, "out of memory");
            goto fail;
        }
        p->sig = ottr_buf_detach(&b, NULL);
        p->bit = (int)pp->set->nleaves;
        pp->set->leaves[pp->set->nleaves++] = p;
        if (pt->match_resource != NULL)
            pp->set->has_resource = true;
    }
    memcpy(pp->path, saved_path, sizeof(saved_path));
    pp->type = saved_type;
    return p;
fail:
    policy_free(p);
    memcpy(pp->path, saved_path, sizeof(saved_path));
    pp->type = saved_type;
    return NULL;
}

int sampler_pol_parse_subs(pol_parse *pp, policy *p, const ottr_yaml_node *cfg, const char *field)
{
    const ottr_yaml_node *n = sampler_pol_field(cfg, field);
    if (n == NULL || (n->type == OTTR_YAML_SCALAR && n->scalar[0] == '\0'))
        return sampler_pol_error(pp, n ? n : cfg, field, "needs at least one sub-policy");
    if (n->type != OTTR_YAML_SEQ)
        return sampler_pol_error(pp, n, field, "must be a list of policies");
    size_t cnt = 0;
    for (const ottr_yaml_node *c = n->child; c; c = c->next)
        cnt++;
    if (cnt == 0)
        return sampler_pol_error(pp, n, field, "needs at least one sub-policy");
    p->subs = calloc(cnt, sizeof(policy *));
    if (p->subs == NULL)
        return sampler_pol_error(pp, n, field, "out of memory");
    size_t i = 0;
    for (const ottr_yaml_node *c = n->child; c; c = c->next, i++) {
        char base[sizeof(pp->path)];
        snprintf(base, sizeof(base), "%.500s: %s.%s[%zu]", pp->path, pp->type, field, i);
        policy *sub = parse_one(pp, c, base);
        if (sub == NULL)
            return -1;
        for (size_t k = 0; k < i; k++) {
            if (strcmp(p->subs[k]->name, sub->name) == 0) {
                char nm[128];
                snprintf(nm, sizeof(nm), "%s", sub->name);
                /* Freed with the tree; the name is kept above for the message. */
                p->subs[p->nsubs++] = sub;
                return sampler_pol_error(pp, c, field, "duplicate sub-policy name \"%s\"", nm);
            }
        }
        p->subs[p->nsubs++] = sub;
    }
    return 0;
}

uint32_t sampler_policy_set_keep_prior(const policy_set *ps)
{
    if (ps == NULL || ps->ntop == 0)
        return 1000; /* no policies: everything is kept */
    uint32_t sum = 0;
    for (size_t i = 0; i < ps->ntop; i++) {
        if (ps->top[i]->type != &sampler_policy_probabilistic)
            return 1000;
        sum += sampler_policy_probabilistic_permille(ps->top[i]);
    }
    return sum > 1000 ? 1000 : (sum ? sum : 1);
}

static void policy_json(const policy *p, ottr_buf *out)
{
    ottr_buf_puts(out, "{\"name\":");
    ottr_buf_json_str(out, p->name, strlen(p->name));
    ottr_buf_puts(out, ",\"type\":");
    ottr_buf_json_str(out, p->type->name, strlen(p->type->name));
    if (p->nsubs) {
        ottr_buf_puts(out, ",\"policies\":[");
        for (size_t i = 0; i < p->nsubs; i++) {
            if (i)
                ottr_buf_putc(out, ',');
            policy_json(p->subs[i], out);
        }
        ottr_buf_putc(out, ']');
    }
    ottr_buf_putc(out, '}');
}

void sampler_policy_set_json(const policy_set *ps, ottr_buf *out)
{
    ottr_buf_putc(out, '[');
    for (size_t i = 0; ps && i < ps->ntop; i++) {
        if (i)
            ottr_buf_putc(out, ',');
        policy_json(ps->top[i], out);
    }
    ottr_buf_putc(out, ']');
}

void sampler_policy_set_free(policy_set *ps)
{
    if (ps == NULL)
        return;
    for (size_t i = 0; i < ps->ntop; i++)
        policy_free(ps->top[i]);
    free(ps->top);
    free(ps->kept);
    free(ps->dropped);
    free(ps);
}

int sampler_policy_set_parse(const ottr_yaml_node *policies, policy_set **out, char *err,
                             size_t errlen)
{
    policy_set *ps = calloc(1, sizeof(*ps));
    if (ps == NULL) {
        snprintf(err, errlen, "sampling.policies: out of memory");
        return -1;
    }
    pol_parse pp = {.err = err, .errlen = errlen, .set = ps};
    snprintf(pp.path, sizeof(pp.path), "sampling.policies");
    if (policies == NULL || (policies->type == OTTR_YAML_SCALAR && policies->scalar[0] == '\0')) {
        *out = ps;
        return 0;
    }
    if (policies->type != OTTR_YAML_SEQ) {
        sampler_pol_error(&pp, policies, NULL, "must be a list of policies");
        goto fail;
    }
    size_t cnt = 0;
    for (const ottr_yaml_node *c = policies->child; c; c = c->next)
        cnt++;
    ps->top = calloc(cnt ? cnt : 1, sizeof(policy *));
    ps->kept = calloc(cnt ? cnt : 1, sizeof(ottr_counter *));
    ps->dropped = calloc(cnt ? cnt : 1, sizeof(ottr_counter *));
    if (ps->top == NULL || ps->kept == NULL || ps->dropped == NULL) {
        sampler_pol_error(&pp, policies, NULL, "out of memory");
        goto fail;
    }
    size_t i = 0;
    for (const ottr_yaml_node *c = policies->child; c; c = c->next, i++) {
        char base[64];
        snprintf(base, sizeof(base), "sampling.policies[%zu]", i);
        policy *p = parse_one(&pp, c, base);
        if (p == NULL)
            goto fail;
        ps->top[ps->ntop++] = p;
        for (size_t k = 0; k < i; k++) {
            if (strcmp(ps->top[k]->name, p->name) == 0) {
                snprintf(pp.path, sizeof(pp.path), "%s (%s)", base, p->name);
                sampler_pol_error(&pp, ottr_yaml_get(c, "name"), "name",
                                  "duplicate policy name \"%s\"", p->name);
                goto fail;
            }
        }
    }
    *out = ps;
    return 0;
fail:
    sampler_policy_set_free(ps);
    return -1;
}

static ottr_counter *decision_counter(const char *policy_name, const char *decision)
{
    ottr_buf b = {0};
    ottr_prom_label(&b, "policy", policy_name);
    ottr_buf_putc(&b, ',');
    ottr_prom_label(&b, "decision", decision);
    ottr_counter *c =
        ottr_counter_get("ottr_sampler_decisions_total",
                         "Traces decided, by the policy that decided them.", b.oom ? NULL : b.data);
    ottr_buf_free(&b);
    return c;
}

void sampler_policy_set_bind_metrics(policy_set *ps)
{
    for (size_t i = 0; i < ps->ntop; i++) {
        ps->kept[i] = decision_counter(ps->top[i]->name, "kept");
        ps->dropped[i] = decision_counter(ps->top[i]->name, "dropped");
    }
    if (ps->ntop > 0)
        ps->none_dropped = decision_counter("none", "dropped");
    else
        ps->always_kept = decision_counter("always_sample", "kept");
}

/* ------------------------------------------------------------------ evaluation */

uint64_t sampler_policy_set_match(const policy_set *ps, const otlp_span_ref *spans, size_t n)
{
    if (ps->nleaves == 0)
        return 0;
    uint64_t all = ps->nleaves == 64 ? ~0ull : ((1ull << ps->nleaves) - 1);
    uint64_t bits = 0;
    const otlp_resource *last = NULL;
    bool have_last = false;
    for (size_t i = 0; i < n && bits != all; i++) {
        const otlp_span *sp = spans[i].span;
        if (ps->has_resource && (!have_last || spans[i].resource != last)) {
            last = spans[i].resource;
            have_last = true;
            if (last != NULL) {
                for (size_t k = 0; k < ps->nleaves; k++) {
                    const policy *p = ps->leaves[k];
                    if (!(bits >> k & 1) && p->type->match_resource &&
                        p->type->match_resource(p, last))
                        bits |= 1ull << k;
                }
            }
        }
        for (size_t k = 0; k < ps->nleaves; k++) {
            const policy *p = ps->leaves[k];
            if (!(bits >> k & 1) && p->type->match_span && p->type->match_span(p, sp))
                bits |= 1ull << k;
        }
    }
    return bits;
}

pol_decision sampler_pol_leaf_decision(const policy *p, const pol_trace *t)
{
    bool hit = (t->bits >> p->bit) & 1;
    if (p->invert)
        return hit ? POL_INVERT_NOT_SAMPLED : POL_INVERT_SAMPLED;
    return hit ? POL_SAMPLED : POL_NOT_SAMPLED;
}

pol_decision sampler_pol_evaluate(policy *p, const pol_trace *t)
{
    if (p->bit >= 0)
        return sampler_pol_leaf_decision(p, t);
    return p->type->evaluate(p, t);
}

bool sampler_policy_set_decide(policy_set *ps, const pol_trace *t, const char **decider)
{
    if (ps->ntop == 0) {
        if (ps->always_kept)
            ottr_counter_add(ps->always_kept, 1);
        *decider = "always_sample";
        return true;
    }
    ssize_t sampled = -1, inv_sampled = -1, inv_not = -1, dropped = -1;
    bool not_sampled = false;
    /* Every policy is evaluated, as rate-limiting ones count what they see. */
    for (size_t i = 0; i < ps->ntop; i++) {
        switch (sampler_pol_evaluate(ps->top[i], t)) {
        case POL_SAMPLED:
            if (sampled < 0)
                sampled = (ssize_t)i;
            break;
        case POL_NOT_SAMPLED:
            not_sampled = true;
            break;
        case POL_INVERT_SAMPLED:
            if (inv_sampled < 0)
                inv_sampled = (ssize_t)i;
            break;
        case POL_INVERT_NOT_SAMPLED:
            if (inv_not < 0)
                inv_not = (ssize_t)i;
            break;
        case POL_DROPPED:
            if (dropped < 0)
                dropped = (ssize_t)i;
            break;
        }
    }
    ssize_t by;
    bool keep;
    if (dropped >= 0) {
        by = dropped, keep = false;
    } else if (inv_not >= 0) {
        by = inv_not, keep = false;
    } else if (sampled >= 0) {
        by = sampled, keep = true;
    } else if (inv_sampled >= 0 && !not_sampled) {
        by = inv_sampled, keep = true;
    } else {
        *decider = "none";
        if (ps->none_dropped)
            ottr_counter_add(ps->none_dropped, 1);
        return false;
    }
    *decider = ps->top[by]->name;
    ottr_counter *c = keep ? ps->kept[by] : ps->dropped[by];
    if (c)
        ottr_counter_add(c, 1);
    return keep;
}

void sampler_policy_set_map_bits(const policy_set *from, const policy_set *to,
                                 uint64_t map[POL_MAX_BITS])
{
    for (size_t i = 0; i < POL_MAX_BITS; i++) {
        map[i] = 0;
        if (i >= from->nleaves)
            continue;
        for (size_t k = 0; k < to->nleaves; k++)
            if (strcmp(from->leaves[i]->sig, to->leaves[k]->sig) == 0)
                map[i] |= 1ull << k;
    }
}

uint64_t sampler_policy_bits_remap(uint64_t bits, const uint64_t map[POL_MAX_BITS])
{
    uint64_t out = 0;
    while (bits) {
        int i = __builtin_ctzll(bits);
        out |= map[i];
        bits &= bits - 1;
    }
    return out;
}
