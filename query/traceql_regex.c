/* query/traceql_regex.c - TraceQL's regular expressions: refuses the patterns
 * glibc's engine takes exponential time or memory on, then compiles the rest
 * anchored at both ends (Tempo anchors them too). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/tqlex.h"

#define MAX_DEPTH 64

#define MAX_REGEX 1024

/* The most nodes regex_check() may count: well under a second in regcomp. */
#define MAX_REGEX_NODES 20000
#define REGEX_NODES_CAP ((size_t)1 << 40) /* counts saturate here */

static size_t sat_add(size_t a, size_t b)
{
    return a + b > REGEX_NODES_CAP ? REGEX_NODES_CAP : a + b;
}

static size_t sat_mul(size_t a, size_t b)
{
    return b != 0 && a > REGEX_NODES_CAP / b ? REGEX_NODES_CAP : a * b;
}

/* Reads the interval "{m}", "{m,}", "{,n}" or "{m,n}" at s[*i] ('{'): returns
 * the number of copies of its operand glibc builds, with *i moved to the '}'
 * and *min set; 0 when it is not an interval (a literal '{'). */
static size_t regex_interval(const char *s, size_t n, size_t *i, size_t *min)
{
    size_t j = *i + 1, m = 0, hi, digits = 0;
    while (j < n && isdigit((unsigned char)s[j]) && digits++ < 6)
        m = m * 10 + (size_t)(s[j++] - '0');
    hi = m;
    if (j < n && s[j] == ',') {
        size_t d2 = 0;
        hi = 0;
        for (j++; j < n && isdigit((unsigned char)s[j]) && d2++ < 6; j++)
            hi = hi * 10 + (size_t)(s[j] - '0');
        if (d2 == 0)
            hi = m; /* {m,}: m copies and a starred one */
        digits += d2;
    }
    if (j >= n || s[j] != '}' || digits == 0)
        return 0;
    *i = j;
    *min = m;
    return (hi > m ? hi : m) + 1;
}

/* Moves *i from the '[' of a bracket expression to its ']'. */
static void regex_skip_bracket(const char *s, size_t n, size_t *i)
{
    size_t j = *i + 1;
    if (j < n && s[j] == '^')
        j++;
    if (j < n && s[j] == ']')
        j++;
    for (; j < n && s[j] != ']'; j++) {
        if (s[j] == '[' && j + 1 < n && strchr(":.=", s[j + 1]) != NULL) {
            char close = s[j + 1];
            for (j += 2; j + 1 < n && !(s[j] == close && s[j + 1] == ']'); j++)
                ;
            j++;
        }
    }
    *i = j;
}

/* What one level of parentheses of a pattern holds so far. */
typedef struct regex_level {
    size_t nodes;    /* counted in completed alternatives and this one */
    bool alt_empty;  /* a completed alternative can match the empty string */
    bool cat_empty;  /* so can every operand of this one before |last| */
    size_t last;     /* nodes of the last operand; 0: none yet */
    bool last_empty; /* it can match the empty string */
} regex_level;

/* 1 when the alternative under way at |l| can match the empty string. */
static bool regex_cat_empty(const regex_level *l)
{
    return l->cat_empty && (l->last == 0 || l->last_empty);
}

/* Refuses the ERE patterns that glibc's regcomp takes exponential time or
 * memory to compile: a repetition (* + ? {m,n}) of something that can match the
 * empty string ("a**", "(a?)+", "(a?){0,40}": the epsilon closures explode),
 * and trees past MAX_REGEX_NODES nodes (regcomp copies the operand of x+ once
 * and of x{m,n} up to n times: "(a{99}){99}"); and an unmatched ')'.
 * Returns NULL, or why. */
static const char *regex_check(const char *s, size_t n)
{
    regex_level lv[MAX_DEPTH + 1];
    int depth = 0;
    lv[0] = (regex_level){0, false, true, 0, false};
    for (size_t i = 0; i < n; i++) {
        regex_level *l = &lv[depth];
        size_t atom = 1, copies = 0, min = 0;
        bool empty = false;
        switch (s[i]) {
        case '\\':
            /* Word boundaries and buffer anchors match no character. */
            empty = i + 1 < n && strchr("bB<>`'", s[i + 1]) != NULL;
            i++;
            break;
        case '[':
            regex_skip_bracket(s, n, &i);
            break;
        case '^':
        case '$':
            empty = true;
            break;
        case '(':
            if (depth == MAX_DEPTH)
                return "too complex: nested too deeply";
            lv[++depth] = (regex_level){0, false, true, 0, false};
            continue;
        case ')':
            /* Unmatched, it would close the group the pattern is wrapped in
             * ("^(" ... ")$") and escape the anchors. */
            if (depth == 0)
                return "an unmatched ')'";
            atom = sat_add(l->nodes, 1);
            empty = l->alt_empty || regex_cat_empty(l);
            l = &lv[--depth];
            break;
        case '|':
            l->alt_empty = l->alt_empty || regex_cat_empty(l);
            l->cat_empty = true;
            l->last = 0;
            l->nodes = sat_add(l->nodes, 1);
            continue;
        case '*':
        case '?':
            copies = 1;
            break;
        case '+':
            copies = 2;
            min = 1;
            break;
        case '{':
            copies = regex_interval(s, n, &i, &min);
            break;
        default:
            break;
        }
        if (copies > 0 && l->last > 0) {
            if (l->last_empty)
                return "too complex: a repetition of something that can match the empty "
                       "string";
            /* The operand is counted once: add the other copies. */
            size_t more = sat_add(sat_mul(l->last, copies - 1), 1);
            l->nodes = sat_add(l->nodes, more);
            l->last = sat_add(l->last, more);
            l->last_empty = min == 0;
        } else {
            /* An operand (or a repetition without one, which regcomp refuses). */
            if (l->last > 0)
                l->cat_empty = l->cat_empty && l->last_empty;
            l->nodes = sat_add(l->nodes, atom);
            l->last = atom;
            l->last_empty = empty;
        }
        if (l->nodes > MAX_REGEX_NODES)
            return "too complex: too large once repetitions are expanded";
    }
    return NULL;
}

int query_tql_regex(parser *p, const char *text, size_t len, size_t col, regex_t **out)
{
    /* glibc's engine backtracks on back-references: refuse them, and size. */
    if (len > MAX_REGEX) {
        query_tql_fail(p, col, "regular expression longer than %d bytes", MAX_REGEX);
        return -1;
    }
    for (size_t i = 0; i + 1 < len; i++) {
        if (text[i] == '\\' && isdigit((unsigned char)text[i + 1])) {
            query_tql_fail(p, col, "back-references in regular expressions are not supported");
            return -1;
        }
        if (text[i] == '\\')
            i++;
    }
    const char *why = regex_check(text, len);
    if (why != NULL) {
        query_tql_fail(p, col, "bad regular expression: %s", why);
        return -1;
    }
    tq_regex_list *r = malloc(sizeof(*r));
    char *pat = malloc(len + 5);
    if (r == NULL || pat == NULL) {
        free(r);
        free(pat);
        query_tql_fail(p, col, "out of memory");
        return -1;
    }
    snprintf(pat, len + 5, "^(%s)$", text);
    int rc = regcomp(&r->re, pat, REG_EXTENDED | REG_NOSUB);
    free(pat);
    if (rc != 0) {
        char why[96];
        regerror(rc, &r->re, why, sizeof(why));
        regfree(&r->re);
        free(r);
        query_tql_fail(p, col, "bad regular expression \"%s\": %s", text, why);
        return -1;
    }
    r->next = p->q->regexes;
    p->q->regexes = r;
    *out = &r->re;
    return 0;
}
