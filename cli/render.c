/* cli/render.c - draws a trace tree as text: a summary header, then one line
 * per span (error marker, tree, service and name, start offset, duration, waterfall
 * bar), optionally followed by the span's attributes, events and links. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define NONE        ((size_t)-1)
#define TIME_COLS   8
#define ORPHAN_MARK "(orphan) "
#define BAR_CELL    "\xe2\x96\x88" /* U+2588 full block */

/* The column layout for a given total width. */
typedef struct layout {
    size_t width;      /* all of it */
    size_t label;      /* tree + "service: name" */
    size_t bar;        /* waterfall */
    size_t max_levels; /* tree levels drawn in full before the depth is shown as a number */
} layout;

static layout layout_for(int width)
{
    layout l;
    size_t w = width < CLI_MIN_WIDTH ? CLI_MIN_WIDTH : (size_t)width;
    l.width = w;
    l.label = w * 2 / 5;
    /* marker(2) label sp start sp duration sp bar */
    l.bar = w - 2 - l.label - 1 - TIME_COLS - 1 - TIME_COLS - 1;
    l.max_levels = (l.label - 12) / 3;
    return l;
}

static void put_rjust(ottr_buf *b, const char *s, size_t cols)
{
    size_t n = cli_text_cols(s);
    if (n < cols)
        cli_put_repeat(b, " ", cols - n);
    cli_put_text(b, s, cols);
}

static void put_signed_offset(ottr_buf *b, uint64_t at, uint64_t base)
{
    char d[32];
    if (at >= base) {
        cli_fmt_duration(at - base, d, sizeof(d));
        ottr_buf_printf(b, "+%s", d);
    } else {
        cli_fmt_duration(base - at, d, sizeof(d));
        ottr_buf_printf(b, "-%s", d);
    }
}

/* Appends the tree glyphs for a span at |depth| (levels 1..depth), or for its
 * detail lines when |detail| (the span's own level continues, and a line goes
 * down to its children if it has any). |last[k]| tells whether the ancestor at
 * level k is the last of its siblings. Returns the columns written. */
static size_t put_tree(ottr_buf *b, const layout *l, const bool *last, size_t depth, bool detail,
                       bool has_children, bool color)
{
    size_t cols = 0;
    ottr_buf_puts(b, cli_sgr(color, CLI_SGR_DIM));
    size_t from = 1;
    if (depth > l->max_levels) {
        /* too deep to draw: say how deep, then draw the last levels */
        char tag[32];
        int n = snprintf(tag, sizeof(tag), "%zu\xe2\x80\xa6 ", depth);
        ottr_buf_puts(b, tag);
        cols += (size_t)n - 2; /* the ellipsis is 3 bytes, 1 column */
        from = depth;
    }
    for (size_t k = from; k <= depth; k++) {
        if (k < depth || detail)
            ottr_buf_puts(b, last[k] ? "   " : "\xe2\x94\x82  ");
        else
            ottr_buf_puts(b, last[k] ? "\xe2\x94\x94\xe2\x94\x80 " : "\xe2\x94\x9c\xe2\x94\x80 ");
        cols += 3;
    }
    if (detail) {
        ottr_buf_puts(b, has_children ? "\xe2\x94\x82  " : "   ");
        cols += 3;
    }
    ottr_buf_puts(b, cli_sgr(color, CLI_SGR_RESET));
    return cols;
}

static void put_label(ottr_buf *b, const cli_span *s, size_t budget, bool color)
{
    const char *orphan = s->orphan ? ORPHAN_MARK : "";
    size_t need = cli_text_cols(orphan) + cli_text_cols(s->service) + 2 + cli_text_cols(s->name);
    size_t room = need > budget ? (budget > 0 ? budget - 1 : 0) : budget;
    size_t used = 0;
    used += cli_put_text(b, orphan, room - used);
    if (used < room) {
        ottr_buf_puts(b, cli_sgr(color, cli_service_color(s->service)));
        used += cli_put_text(b, s->service, room - used);
        ottr_buf_puts(b, cli_sgr(color, CLI_SGR_RESET));
    }
    used += cli_put_text(b, ": ", room - used);
    used += cli_put_text(b, s->name, room - used);
    if (need > budget && budget > 0) {
        ottr_buf_puts(b, "\xe2\x80\xa6");
        used++;
    }
    if (used < budget)
        cli_put_repeat(b, " ", budget - used);
}

static void put_bar(ottr_buf *b, const cli_trace *t, const cli_span *s, const layout *l, bool color)
{
    double total = t->end_ns > t->start_ns ? (double)(t->end_ns - t->start_ns) : 1.0;
    double from = (double)(s->start_ns - t->start_ns) / total * (double)l->bar;
    double to = (double)(s->end_ns - t->start_ns) / total * (double)l->bar;
    size_t c0 = (size_t)floor(from), c1 = (size_t)ceil(to);
    if (c0 >= l->bar)
        c0 = l->bar - 1;
    if (c1 <= c0)
        c1 = c0 + 1;
    if (c1 > l->bar)
        c1 = l->bar;
    cli_put_repeat(b, " ", c0);
    ottr_buf_puts(b, cli_sgr(color, s->status == 2 ? CLI_SGR_RED : cli_service_color(s->service)));
    cli_put_repeat(b, BAR_CELL, c1 - c0);
    ottr_buf_puts(b, cli_sgr(color, CLI_SGR_RESET));
}

static void put_header(ottr_buf *b, const cli_trace *t, const layout *l, bool color)
{
    char start[40], dur[32];
    ottr_format_time(t->start_ns, start, sizeof(start));
    cli_fmt_duration(t->end_ns - t->start_ns, dur, sizeof(dur));
    ottr_buf_printf(b, "%sTrace %s%s\n", cli_sgr(color, CLI_SGR_BOLD),
                    t->trace_id[0] ? t->trace_id : "(unknown ID)", cli_sgr(color, CLI_SGR_RESET));
    /* the summary items, wrapped to the width */
    char items[6][64];
    size_t n = 0;
    snprintf(items[n++], sizeof(items[0]), "start %s", start);
    snprintf(items[n++], sizeof(items[0]), "duration %s", dur);
    snprintf(items[n++], sizeof(items[0]), "spans %zu", t->nspans);
    snprintf(items[n++], sizeof(items[0]), "services %zu", t->nservices);
    snprintf(items[n++], sizeof(items[0]), "errors %zu", t->nerrors);
    if (t->norphans > 0)
        snprintf(items[n++], sizeof(items[0]), "orphans %zu", t->norphans);
    size_t cols = 0;
    for (size_t i = 0; i < n; i++) {
        size_t w = cli_text_cols(items[i]);
        if (cols > 0 && cols + 2 + w > l->width) {
            ottr_buf_putc(b, '\n');
            cols = 0;
        } else if (cols > 0) {
            ottr_buf_puts(b, "  ");
            cols += 2;
        }
        ottr_buf_puts(b, items[i]);
        cols += w;
    }
    ottr_buf_puts(b, "\n\n");

    ottr_buf_puts(b, cli_sgr(color, CLI_SGR_BOLD));
    ottr_buf_puts(b, "  SPAN");
    cli_put_repeat(b, " ", l->label - 4 + 1);
    put_rjust(b, "START", TIME_COLS);
    ottr_buf_putc(b, ' ');
    put_rjust(b, "DURATION", TIME_COLS);
    ottr_buf_puts(b, " 0");
    if (l->bar > 1)
        put_rjust(b, dur, l->bar - 1);
    ottr_buf_puts(b, cli_sgr(color, CLI_SGR_RESET));
    ottr_buf_putc(b, '\n');
}

/* ------------------------------------------------------------------ details */

static void put_quoted(ottr_buf *b, const char *s)
{
    ottr_buf_putc(b, '"');
    for (const char *p = s; *p;) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            ottr_buf_putc(b, '\\');
            ottr_buf_putc(b, (char)c);
            p++;
        } else if (c == '\n') {
            ottr_buf_puts(b, "\\n");
            p++;
        } else if (c == '\t') {
            ottr_buf_puts(b, "\\t");
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            ottr_buf_printf(b, "\\u%04x", c);
            p++;
        } else {
            /* one code point at a time; anything unprintable becomes '?' */
            const char *q = p + 1;
            while ((*q & 0xc0) == 0x80)
                q++;
            char tmp[8];
            size_t n = (size_t)(q - p) < sizeof(tmp) ? (size_t)(q - p) : sizeof(tmp) - 1;
            memcpy(tmp, p, n);
            tmp[n] = '\0';
            cli_put_text(b, tmp, 1);
            p += n;
        }
    }
    ottr_buf_putc(b, '"');
}

static void put_double(ottr_buf *b, double d)
{
    if (isnan(d) || isinf(d)) {
        /* as OTLP JSON writes them */
        ottr_buf_puts(b, isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    char tmp[40];
    snprintf(tmp, sizeof(tmp), "%.15g", d);
    if (strtod(tmp, NULL) != d)
        snprintf(tmp, sizeof(tmp), "%.17g", d);
    ottr_buf_puts(b, tmp);
}

static void put_key(ottr_buf *b, const otlp_kv *kv)
{
    cli_put_text(b, kv && kv->key ? kv->key : "?", SIZE_MAX);
}

void cli_anyvalue_render(const otlp_any *v, ottr_buf *out)
{
    switch (v ? v->value_case : OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        put_quoted(out, v->string_value ? v->string_value : "");
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        ottr_buf_puts(out, v->bool_value ? "true" : "false");
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        ottr_buf_printf(out, "%lld", (long long)v->int_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        put_double(out, v->double_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        ottr_buf_puts(out, "0x");
        for (size_t i = 0; i < v->bytes_value.len; i++)
            ottr_buf_printf(out, "%02x", v->bytes_value.data[i]);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE: {
        size_t n = v->array_value ? v->array_value->n_values : 0;
        ottr_buf_putc(out, '[');
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                ottr_buf_puts(out, ", ");
            cli_anyvalue_render(v->array_value->values[i], out);
        }
        ottr_buf_putc(out, ']');
        break;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE: {
        size_t n = v->kvlist_value ? v->kvlist_value->n_values : 0;
        ottr_buf_putc(out, '{');
        for (size_t i = 0; i < n; i++) {
            const otlp_kv *kv = v->kvlist_value->values[i];
            if (i > 0)
                ottr_buf_puts(out, ", ");
            put_key(out, kv);
            ottr_buf_putc(out, '=');
            cli_anyvalue_render(kv ? kv->value : NULL, out);
        }
        ottr_buf_putc(out, '}');
        break;
    }
    default:
        ottr_buf_puts(out, "null");
        break;
    }
}

typedef struct detail_ctx {
    ottr_buf *b;
    const layout *l;
    const bool *last;
    size_t depth;
    bool has_children;
    bool color;
} detail_ctx;

static void detail_start(const detail_ctx *d, size_t extra_indent)
{
    ottr_buf_puts(d->b, "  ");
    put_tree(d->b, d->l, d->last, d->depth, true, d->has_children, d->color);
    cli_put_repeat(d->b, " ", extra_indent);
}

static void detail_attrs(const detail_ctx *d, otlp_kv *const *attrs, size_t n, size_t indent)
{
    for (size_t i = 0; i < n; i++) {
        detail_start(d, indent);
        ottr_buf_puts(d->b, cli_sgr(d->color, CLI_SGR_DIM));
        put_key(d->b, attrs[i]);
        ottr_buf_puts(d->b, cli_sgr(d->color, CLI_SGR_RESET));
        ottr_buf_puts(d->b, " = ");
        cli_anyvalue_render(attrs[i] ? attrs[i]->value : NULL, d->b);
        ottr_buf_putc(d->b, '\n');
    }
}

static void put_details(const detail_ctx *d, const cli_trace *t, const cli_span *s)
{
    ottr_buf *b = d->b;
    const otlp_span *sp = s->ref->span;
    detail_start(d, 0);
    ottr_buf_printf(b, "span %s", s->span_id[0] ? s->span_id : "(no ID)");
    if (s->dup)
        ottr_buf_puts(b, " (duplicate ID)");
    if (s->kind > 0) {
        const char *kind = otlp_span_kind_word(s->kind);
        ottr_buf_printf(b, ", kind %s", kind ? kind : "?");
    }
    if (s->status == OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK ||
        s->status == OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR) {
        bool red =
            d->color &&
            s->status == OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
        ottr_buf_printf(b, ", status %s%s%s", cli_sgr(red, CLI_SGR_RED),
                        otlp_status_code_word(s->status), cli_sgr(red, CLI_SGR_RESET));
        if (s->status_msg[0]) {
            ottr_buf_putc(b, ' ');
            put_quoted(b, s->status_msg);
        }
    }
    if (s->scope[0]) {
        ottr_buf_puts(b, ", scope ");
        cli_put_text(b, s->scope, SIZE_MAX);
    }
    if (s->orphan && s->parent_id[0]) {
        ottr_buf_printf(b, ", parent %s", s->parent_id);
    }
    ottr_buf_putc(b, '\n');
    detail_attrs(d, sp->attributes, sp->n_attributes, 0);

    for (size_t i = 0; i < sp->n_events; i++) {
        const otlp_event *ev = sp->events[i];
        detail_start(d, 0);
        ottr_buf_puts(b, cli_sgr(d->color, CLI_SGR_BOLD));
        ottr_buf_puts(b, "event");
        ottr_buf_puts(b, cli_sgr(d->color, CLI_SGR_RESET));
        ottr_buf_putc(b, ' ');
        put_signed_offset(b, ev->time_unix_nano, t->start_ns);
        ottr_buf_putc(b, ' ');
        cli_put_text(b, ev->name ? ev->name : "", SIZE_MAX);
        ottr_buf_putc(b, '\n');
        detail_attrs(d, ev->attributes, ev->n_attributes, 2);
    }

    for (size_t i = 0; i < sp->n_links; i++) {
        const otlp_link *lk = sp->links[i];
        char tid[33] = "?", sid[17] = "?";
        if (lk->trace_id.len == 16)
            ottr_hex_encode(lk->trace_id.data, 16, tid);
        if (lk->span_id.len == 8)
            ottr_hex_encode(lk->span_id.data, 8, sid);
        detail_start(d, 0);
        ottr_buf_puts(b, cli_sgr(d->color, CLI_SGR_BOLD));
        ottr_buf_puts(b, "link");
        ottr_buf_puts(b, cli_sgr(d->color, CLI_SGR_RESET));
        ottr_buf_printf(b, " trace %s span %s\n", tid, sid);
        detail_attrs(d, lk->attributes, lk->n_attributes, 2);
    }
}

/* ------------------------------------------------------------------ the tree */

void cli_trace_render(const cli_trace *t, const cli_render_opts *r, ottr_buf *out)
{
    size_t from = out->len;
    layout l = layout_for(r->width);
    put_header(out, t, &l, r->color);
    bool *last = calloc(t->nspans + 1, sizeof(*last));
    if (last == NULL) {
        out->oom = 1;
        return;
    }
    size_t cur = t->first_top, depth = 0;
    while (cur != NONE) {
        const cli_span *s = &t->spans[cur];
        last[depth] = s->next_sibling == NONE;
        bool err = s->status == 2;
        ottr_buf_puts(out, err ? cli_sgr(r->color, CLI_SGR_RED) : "");
        ottr_buf_puts(out, err ? "! " : "  ");
        ottr_buf_puts(out, err ? cli_sgr(r->color, CLI_SGR_RESET) : "");
        size_t tree = depth > 0 ? put_tree(out, &l, last, depth, false, false, r->color) : 0;
        put_label(out, s, tree < l.label ? l.label - tree : 0, r->color);
        ottr_buf_putc(out, ' ');
        char tmp[32];
        cli_fmt_duration(s->start_ns - t->start_ns, tmp, sizeof(tmp));
        put_rjust(out, tmp, TIME_COLS);
        ottr_buf_putc(out, ' ');
        cli_fmt_duration(s->end_ns - s->start_ns, tmp, sizeof(tmp));
        put_rjust(out, tmp, TIME_COLS);
        ottr_buf_putc(out, ' ');
        put_bar(out, t, s, &l, r->color);
        ottr_buf_putc(out, '\n');
        if (r->attrs) {
            detail_ctx d = {out, &l, last, depth, s->first_child != NONE, r->color};
            put_details(&d, t, s);
        }

        if (s->first_child != NONE) {
            cur = s->first_child;
            depth++;
            continue;
        }
        while (cur != NONE && t->spans[cur].next_sibling == NONE) {
            cur = t->spans[cur].parent;
            depth--;
        }
        if (cur != NONE)
            cur = t->spans[cur].next_sibling;
    }
    free(last);
    cli_rstrip_lines(out, from);
}
