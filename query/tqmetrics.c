/* query/tqmetrics.c - parses the metrics stage of a TraceQL metrics query:
 * finds the top-level `|` (outside braces, parentheses and strings) that is
 * followed by a metrics function, then reads the function and its arguments,
 * an optional by(...) and optional `| topk(n)` / `| bottomk(n)`. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/tqmetrics.h"

static const struct {
    const char *name;
    tqm_fn fn;
} fns[] = {
    {"rate", TQM_RATE},
    {"count_over_time", TQM_COUNT},
    {"sum_over_time", TQM_SUM},
    {"min_over_time", TQM_MIN},
    {"max_over_time", TQM_MAX},
    {"avg_over_time", TQM_AVG},
    {"quantile_over_time", TQM_QUANTILE},
    {"histogram_over_time", TQM_HISTOGRAM},
    {"compare", TQM_COMPARE},
};

typedef struct mp {
    const char *s;
    size_t pos;
    char *err;
    size_t errlen;
    int failed;
} mp;

static int fail(mp *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(mp *p, const char *fmt, ...)
{
    if (!p->failed) {
        char msg[160];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        snprintf(p->err, p->errlen, "invalid TraceQL metrics query: %s at column %zu", msg,
                 p->pos + 1);
    }
    p->failed = 1;
    return -1;
}

static void skip_ws(mp *p)
{
    while (p->s[p->pos] && isspace((unsigned char)p->s[p->pos]))
        p->pos++;
}

static int accept(mp *p, char c)
{
    skip_ws(p);
    if (p->s[p->pos] != c)
        return 0;
    p->pos++;
    return 1;
}

static int expect(mp *p, char c)
{
    return accept(p, c) ? 0 : fail(p, "expected '%c'", c);
}

/* An identifier of letters, digits and _ into |out|; its length (0: none). */
static size_t ident(mp *p, char *out, size_t outlen)
{
    skip_ws(p);
    size_t n = 0;
    while ((isalnum((unsigned char)p->s[p->pos]) || p->s[p->pos] == '_') && n + 1 < outlen)
        out[n++] = p->s[p->pos++];
    out[n] = '\0';
    return n;
}

/* The function named at |s| (after spaces), or -1. */
static int fn_at(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        size_t n = strlen(fns[i].name);
        if (strncmp(s, fns[i].name, n) == 0) {
            const char *r = s + n;
            while (*r && isspace((unsigned char)*r))
                r++;
            if (*r == '(')
                return (int)i;
        }
    }
    return -1;
}

/* Index of the top-level `|` starting the metrics stage, or -1. A query that
 * starts with the function (no spanset) splits at 0 with no `|`. */
static long find_stage(const char *s, size_t *stage)
{
    int depth = 0;
    char quote = 0;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        if (quote) {
            if (c == '\\' && s[i + 1])
                i++;
            else if (c == quote)
                quote = 0;
            continue;
        }
        if (c == '"' || c == '`') {
            quote = c;
        } else if (c == '{' || c == '(') {
            depth++;
        } else if (c == '}' || c == ')') {
            depth--;
        } else if (c == '|' && depth == 0 && s[i + 1] != '|' && (i == 0 || s[i - 1] != '|') &&
                   fn_at(s + i + 1) >= 0) {
            *stage = i + 1;
            return (long)i;
        }
    }
    return -1;
}

/* A reference to a span value: duration, name, status, kind, span:x, trace:x,
 * .attr, span.attr, resource.attr. */
static int parse_ref(mp *p, tqm_ref *r)
{
    skip_ws(p);
    const char *s = p->s + p->pos;
    size_t n = 0;
    while (s[n] && (isalnum((unsigned char)s[n]) || strchr("._:-/", s[n]) != NULL))
        n++;
    if (s[n] == '"') /* span."quoted key" */
        return fail(p, "quoted attribute names are not supported here");
    if (n == 0 || n >= TQM_NAME_MAX)
        return fail(p, "expected an attribute");
    char w[TQM_NAME_MAX];
    memcpy(w, s, n);
    w[n] = '\0';
    p->pos += n;
    memset(r, 0, sizeof(*r));
    snprintf(r->label, sizeof(r->label), "%s", w);
    static const struct {
        const char *word;
        tqm_what what;
    } intr[] = {
        {"duration", TQMW_DURATION},
        {"span:duration", TQMW_DURATION},
        {"name", TQMW_NAME},
        {"span:name", TQMW_NAME},
        {"status", TQMW_STATUS},
        {"span:status", TQMW_STATUS},
        {"kind", TQMW_KIND},
        {"span:kind", TQMW_KIND},
        {"statusMessage", TQMW_STATUS_MESSAGE},
        {"span:statusMessage", TQMW_STATUS_MESSAGE},
        {"rootName", TQMW_ROOT_NAME},
        {"trace:rootName", TQMW_ROOT_NAME},
        {"rootServiceName", TQMW_ROOT_SERVICE},
        {"trace:rootService", TQMW_ROOT_SERVICE},
        {"traceDuration", TQMW_TRACE_DURATION},
        {"trace:duration", TQMW_TRACE_DURATION},
    };
    for (size_t i = 0; i < sizeof(intr) / sizeof(intr[0]); i++)
        if (strcmp(w, intr[i].word) == 0) {
            r->what = intr[i].what;
            return 0;
        }
    r->what = TQMW_ATTR;
    const char *key;
    if (w[0] == '.') {
        r->scope = TQS_ANY;
        key = w + 1;
    } else if (strncmp(w, "span.", 5) == 0) {
        r->scope = TQS_SPAN;
        key = w + 5;
    } else if (strncmp(w, "resource.", 9) == 0) {
        r->scope = TQS_RESOURCE;
        key = w + 9;
    } else {
        p->pos -= n;
        return fail(p, "unknown attribute \"%s\" (want .x, span.x, resource.x or an intrinsic)", w);
    }
    if (key[0] == '\0')
        return fail(p, "attribute without a name");
    snprintf(r->name, sizeof(r->name), "%s", key);
    return 0;
}

static int parse_number(mp *p, double *out)
{
    skip_ws(p);
    char *end;
    *out = strtod(p->s + p->pos, &end);
    if (end == p->s + p->pos)
        return fail(p, "expected a number");
    p->pos = (size_t)(end - p->s);
    return 0;
}

/* A balanced { ... } copied out (compare's filter). */
static int parse_spanset(mp *p, char **out)
{
    skip_ws(p);
    if (p->s[p->pos] != '{')
        return fail(p, "expected a spanset filter { ... }");
    size_t start = p->pos;
    int depth = 0;
    char quote = 0;
    for (; p->s[p->pos]; p->pos++) {
        char c = p->s[p->pos];
        if (quote) {
            if (c == '\\' && p->s[p->pos + 1])
                p->pos++;
            else if (c == quote)
                quote = 0;
        } else if (c == '"' || c == '`') {
            quote = c;
        } else if (c == '{') {
            depth++;
        } else if (c == '}' && --depth == 0) {
            p->pos++;
            *out = strndup(p->s + start, p->pos - start);
            return *out ? 0 : fail(p, "out of memory");
        }
    }
    return fail(p, "unclosed '{'");
}

static int parse_args(mp *p, tqm_query *m)
{
    if (expect(p, '(') != 0)
        return -1;
    switch (m->fn) {
    case TQM_RATE:
    case TQM_COUNT:
        break;
    case TQM_SUM:
    case TQM_MIN:
    case TQM_MAX:
    case TQM_AVG:
    case TQM_HISTOGRAM:
        if (parse_ref(p, &m->arg) != 0)
            return -1;
        break;
    case TQM_QUANTILE:
        if (parse_ref(p, &m->arg) != 0)
            return -1;
        while (accept(p, ',')) {
            if (m->nq == TQM_MAX_QUANTILES)
                return fail(p, "at most %d quantiles", TQM_MAX_QUANTILES);
            double q;
            if (parse_number(p, &q) != 0)
                return -1;
            if (!(q >= 0 && q <= 1))
                return fail(p, "a quantile is between 0 and 1");
            m->q[m->nq++] = q;
        }
        if (m->nq == 0)
            return fail(p, "quantile_over_time wants at least one quantile");
        break;
    case TQM_COMPARE:
        if (parse_spanset(p, &m->compare_filter) != 0)
            return -1;
        if (accept(p, ',')) {
            double n;
            if (parse_number(p, &n) != 0)
                return -1;
            if (!(n >= 1 && n <= 1000))
                return fail(p, "compare's topN is between 1 and 1000");
            m->compare_top = (int)n;
            /* compare's own start and end (Unix nanoseconds) are not supported:
             * the selection is the filter's spans over the whole range. */
            if (accept(p, ','))
                return fail(p, "compare() takes a filter and topN only");
        }
        break;
    }
    return expect(p, ')');
}

static int parse_by(mp *p, tqm_query *m)
{
    if (expect(p, '(') != 0)
        return -1;
    do {
        if (m->nby == TQM_MAX_BY)
            return fail(p, "by() takes at most %d attributes", TQM_MAX_BY);
        if (parse_ref(p, &m->by[m->nby++]) != 0)
            return -1;
    } while (accept(p, ','));
    return expect(p, ')');
}

int query_tqm_parse(const char *q, tqm_query *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->compare_top = 10;
    mp p = {q, 0, err, errlen, 0};
    size_t stage = 0;
    long bar = find_stage(q, &stage);
    if (bar < 0) {
        if (fn_at(q) < 0)
            return 0;
        while (isspace((unsigned char)q[stage]))
            stage++;
    }
    const char *f = q;
    size_t flen = bar < 0 ? 0 : (size_t)bar;
    while (flen > 0 && isspace((unsigned char)f[0]))
        f++, flen--;
    while (flen > 0 && isspace((unsigned char)f[flen - 1]))
        flen--;
    out->filter = flen ? strndup(f, flen) : strdup("{}");
    if (out->filter == NULL)
        return fail(&p, "out of memory");
    p.pos = stage;
    int i = fn_at(q + stage);
    char word[32];
    ident(&p, word, sizeof(word));
    out->fn = fns[i].fn;
    out->fn_name = fns[i].name;
    if (parse_args(&p, out) != 0)
        return -1;
    skip_ws(&p);
    if (strncmp(q + p.pos, "by", 2) == 0 && !isalnum((unsigned char)q[p.pos + 2])) {
        if (out->fn == TQM_COMPARE)
            return fail(&p, "compare() takes no by()");
        p.pos += 2;
        if (parse_by(&p, out) != 0)
            return -1;
    }
    while (accept(&p, '|')) {
        size_t n = ident(&p, word, sizeof(word));
        int sign = strcmp(word, "topk") == 0 ? 1 : strcmp(word, "bottomk") == 0 ? -1 : 0;
        if (n == 0 || sign == 0)
            return fail(&p, "after the metrics function only topk(n) or bottomk(n)");
        if (out->topk != 0)
            return fail(&p, "one topk or bottomk");
        double k;
        if (expect(&p, '(') != 0 || parse_number(&p, &k) != 0 || expect(&p, ')') != 0)
            return -1;
        if (!(k >= 1 && k <= 10000) || k != (double)(int)k)
            return fail(&p, "%s wants a whole number from 1 to 10000", word);
        out->topk = sign * (int)k;
    }
    skip_ws(&p);
    if (q[p.pos] != '\0')
        return fail(&p, "unexpected \"%.20s\"", q + p.pos);
    return 1;
}

void query_tqm_free(tqm_query *m)
{
    free(m->filter);
    free(m->compare_filter);
    m->filter = m->compare_filter = NULL;
}
