/* query/search.c - the search loop: store_search yields candidate summaries
 * from the time-ordered indexes, newest first; each passes the duration bounds
 * and the TraceQL pre-check before its chunks are read, decoded in an arena and
 * evaluated. Stops at |limit| matches, |max_inspect| decoded traces or the
 * budget (time, bytes read, cancellation), checked before each trace is read
 * and, through the store's stop hook, while the index is scanned. */
#include <stdio.h>
#include <string.h>

#include "query/qsearch.h"
#include "query/qtrace.h"

const char *query_cut_name(query_cut c)
{
    switch (c) {
    case QUERY_CUT_INSPECT:
        return "max_inspect";
    case QUERY_CUT_TIMEOUT:
        return "timeout";
    case QUERY_CUT_BYTES:
        return "bytes";
    case QUERY_CUT_CANCEL:
        return "cancelled";
    default:
        return NULL;
    }
}

/* Why the budget ends the search now, given |bytes| read; QUERY_CUT_NONE to go on. */
static query_cut budget_cut(const query_budget *b, uint64_t bytes)
{
    if (b == NULL)
        return QUERY_CUT_NONE;
    if (b->cancel && atomic_load_explicit(b->cancel, memory_order_relaxed))
        return QUERY_CUT_CANCEL;
    if (b->max_bytes && bytes >= b->max_bytes)
        return QUERY_CUT_BYTES;
    if (b->deadline_ns && ottr_mono_ns() >= b->deadline_ns)
        return QUERY_CUT_TIMEOUT;
    return QUERY_CUT_NONE;
}

/* The store's stop hook: the budget over what the scan and the decoding read. */
static int scan_stop(void *ctx, const store_search_stats *so_far)
{
    qsearch *s = ctx;
    if (s->cut == QUERY_CUT_NONE)
        s->cut = budget_cut(s->budget, so_far->inspected_bytes + s->bytes_read);
    return s->cut != QUERY_CUT_NONE;
}

static int on_candidate(void *ctx, const store_trace_summary *sum)
{
    qsearch *s = ctx;
    if (s->cut != QUERY_CUT_NONE)
        return 1; /* the rest of a batch the store reports after a stop */
    uint64_t dur = sum->end_ns > sum->start_ns ? sum->end_ns - sum->start_ns : 0;
    if ((s->min_ns && dur < s->min_ns) || (s->max_ns && dur > s->max_ns))
        return 0;
    tq_trace_info ti;
    query_tq_trace_info_from_summary(&ti, sum);
    if (!query_tq_precheck(s->tq, &ti))
        return 0;
    if (s->decoded >= s->max_inspect) {
        s->cut = QUERY_CUT_INSPECT;
        return 1;
    }
    /* The summary bytes the store read so far are not known here: the trace
     * bytes and the deadline are checked per trace, the rest by scan_stop. */
    if ((s->cut = budget_cut(s->budget, s->bytes_read)) != QUERY_CUT_NONE)
        return 1;
    s->decoded++;
    ottr_buf_reset(&s->raw);
    ottr_status st = store_get_trace(s->st, sum->trace_id, &s->raw, NULL);
    if (st == OTTR_ERR_NOTFOUND)
        return 0; /* removed by retention since the index was read */
    if (st != OTTR_OK || s->raw.oom) {
        s->err = st != OTTR_OK ? st : OTTR_ERR_NOMEM;
        return 1;
    }
    s->bytes_read += s->raw.len;
    ottr_arena_reset(&s->arena);
    otlp_trace t;
    st = otlp_trace_decode(&t, &s->arena, (const uint8_t *)s->raw.data, s->raw.len);
    if (st != OTTR_OK) {
        char id[33];
        ottr_hex_encode(sum->trace_id, 16, id);
        OTTR_WARN("query", "search skips trace %s: %s", id, ottr_status_str(st));
        return 0;
    }
    /* Structure, parent. and childCount read the tree: build it first. */
    bool tree = s->tq->needs_tree;
    if (tree && otlp_trace_build_tree(&t, &s->arena) != OTTR_OK)
        return 0;
    size_t n = query_tq_eval_sets(s->tq, &t, &ti, &s->sets, &s->arena);
    if (n == 0)
        return 0;
    uint8_t *matched = ottr_arena_alloc(&s->arena, t.nspans);
    if (matched == NULL)
        return 0;
    memset(matched, 0, t.nspans);
    for (size_t k = 0; k < s->sets.n; k++) {
        for (size_t j = 0; j < s->sets.v[k].n; j++)
            matched[s->sets.v[k].spans[j]] = 1;
    }
    if (s->need_tree && !tree && otlp_trace_build_tree(&t, &s->arena) != OTTR_OK)
        return 0;
    int r = s->fn(s->ctx, sum, &t, matched, n, &s->arena);
    if (r == QSEARCH_SKIP)
        return 0;
    if (r != 0) {
        if (s->err == OTTR_OK)
            s->err = OTTR_ERR_NOMEM;
        return 1;
    }
    s->found++;
    return s->found >= s->limit;
}

ottr_status query_search_run(qsearch *s)
{
    s->found = s->decoded = 0;
    s->bytes_read = 0;
    s->cut = QUERY_CUT_NONE;
    s->err = OTTR_OK;
    memset(&s->stats, 0, sizeof(s->stats));
    if (s->limit == 0)
        return OTTR_OK;
    s->min_ns = s->sq.min_duration_ns;
    s->max_ns = s->sq.max_duration_ns;
    query_tq_plan(s->tq, &s->sq, s->kv, QSEARCH_MAX_KV);
    if (s->budget) {
        s->sq.stop = scan_stop;
        s->sq.stop_ctx = s;
    }
    memset(&s->raw, 0, sizeof(s->raw));
    ottr_arena_init(&s->arena, 256 * 1024, query_arena_limit(s->st));
    ottr_status st = store_search(s->st, &s->sq, on_candidate, s, &s->stats);
    if (st != OTTR_OK && s->err == OTTR_OK)
        s->err = st;
    ottr_arena_free(&s->arena);
    ottr_buf_free(&s->raw);
    return s->err;
}

ottr_status query_search_text(qsearch *s, const char *q, char *err, size_t errlen)
{
    ottr_arena a;
    ottr_arena_init(&a, 16 * 1024, 16 * 1024 * 1024);
    tq_query tq;
    char perr[QUERY_ERRLEN];
    ottr_status rc;
    if (query_tq_parse(q, &a, &tq, perr, sizeof(perr)) != 0) {
        snprintf(err, errlen, "malformed search parameters: %s", perr);
        rc = OTTR_ERR_INVALID;
    } else {
        s->tq = &tq;
        rc = query_search_run(s);
        s->tq = NULL;
        if (rc != OTTR_OK)
            snprintf(err, errlen, "search failed: %s", ottr_status_str(rc));
    }
    query_tq_free(&tq);
    ottr_arena_free(&a);
    return rc;
}

/* ---- Tempo's tags parameter ---- */

static int is_status_word(const char *v)
{
    return otlp_status_code_parse(v, strlen(v), OTLP_NAME_WORD) >= 0;
}

/* Reads one logfmt token (bare or quoted) from |*p| into |out|. */
static int logfmt_token(const char **p, ottr_buf *out, int stop_at_eq)
{
    const char *s = *p;
    ottr_buf_reset(out);
    if (*s == '"') {
        s++;
        while (*s && *s != '"') {
            if (*s == '\\' && s[1]) {
                s++;
                char c = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
                ottr_buf_putc(out, c);
            } else {
                ottr_buf_putc(out, *s);
            }
            s++;
        }
        if (*s != '"')
            return -1;
        s++;
    } else {
        while (*s && *s != ' ' && *s != '\t' && !(stop_at_eq && *s == '='))
            ottr_buf_putc(out, *s++);
    }
    *p = s;
    return out->oom ? -1 : 0;
}

int query_search_tags_to_traceql(const char *tags, ottr_buf *out, char *err, size_t errlen)
{
    ottr_buf key = {0}, val = {0};
    int rc = -1, n = 0;
    const char *p = tags;
    ottr_buf_putc(out, '{');
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        if (logfmt_token(&p, &key, 1) != 0 || key.len == 0) {
            snprintf(err, errlen, "invalid tags: key expected at offset %zu", (size_t)(p - tags));
            goto out;
        }
        if (*p != '=') {
            snprintf(err, errlen, "invalid tags: '%s' needs =value", key.data);
            goto out;
        }
        p++;
        if (logfmt_token(&p, &val, 0) != 0) {
            snprintf(err, errlen, "invalid tags: unterminated quote after %s=", key.data);
            goto out;
        }
        const char *k = key.data, *v = val.len ? val.data : "";
        if (n++)
            ottr_buf_puts(out, " && ");
        if (strcmp(k, OTLP_SERVICE_NAME) == 0) {
            ottr_buf_puts(out, "resource.service.name=");
            query_tq_quote(out, v);
        } else if (strcmp(k, "name") == 0) {
            ottr_buf_puts(out, "name=");
            query_tq_quote(out, v);
        } else if (strcmp(k, "root.service.name") == 0) {
            ottr_buf_puts(out, "rootServiceName=");
            query_tq_quote(out, v);
        } else if (strcmp(k, "root.name") == 0) {
            ottr_buf_puts(out, "rootName=");
            query_tq_quote(out, v);
        } else if (strcmp(k, "status.code") == 0 || strcmp(k, "status") == 0) {
            if (!is_status_word(v)) {
                snprintf(err, errlen, "invalid tags: %s must be error, ok or unset", k);
                goto out;
            }
            ottr_buf_printf(out, "status=%s", v);
        } else if (strcmp(k, "error") == 0 && strcmp(v, "true") == 0) {
            ottr_buf_puts(out, "status=error");
        } else {
            ottr_buf_putc(out, '.');
            query_tq_quote(out, k);
            ottr_buf_putc(out, '=');
            query_tq_quote(out, v);
        }
    }
    ottr_buf_putc(out, '}');
    rc = out->oom ? -1 : 0;
    if (rc)
        snprintf(err, errlen, "out of memory");
out:
    ottr_buf_free(&key);
    ottr_buf_free(&val);
    return rc;
}
