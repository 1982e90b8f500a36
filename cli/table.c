/* cli/table.c - plain text tables for search results and dependencies. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

void cli_table_init(cli_table *t, size_t ncols, const char *const *titles, const bool *right,
                    const size_t *maxw)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
    t->titles = titles;
    t->right = right;
    t->maxw = maxw;
}

void cli_table_add(cli_table *t, const char *const *cells, const char *const *colors)
{
    if (t->oom)
        return;
    if (t->nrows == t->caprows) {
        size_t cap = t->caprows ? t->caprows * 2 : 16;
        char **c = realloc(t->cells, cap * t->ncols * sizeof(*c));
        if (c == NULL) {
            t->oom = 1;
            return;
        }
        t->cells = c;
        const char **k = realloc(t->colors, cap * t->ncols * sizeof(*k));
        if (k == NULL) {
            t->oom = 1;
            return;
        }
        t->colors = k;
        t->caprows = cap;
    }
    size_t base = t->nrows * t->ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        t->cells[base + i] = strdup(cells[i] ? cells[i] : "");
        t->colors[base + i] = colors ? colors[i] : NULL;
        if (t->cells[base + i] == NULL) {
            for (size_t j = 0; j < i; j++)
                free(t->cells[base + j]);
            t->oom = 1;
            return;
        }
    }
    t->nrows++;
}

static size_t cap_of(const cli_table *t, size_t col)
{
    return t->maxw && t->maxw[col] ? t->maxw[col] : (size_t)-1;
}

static void put_cell(ottr_buf *b, const char *s, size_t width, size_t cap, bool right, bool lastcol,
                     const char *sgr)
{
    size_t cols = cli_text_cols(s);
    bool cut = cols > cap;
    size_t shown = cut ? cap : cols;
    if (right && shown < width)
        cli_put_repeat(b, " ", width - shown);
    if (sgr)
        ottr_buf_puts(b, sgr);
    if (cut) {
        cli_put_text(b, s, cap - 1);
        ottr_buf_puts(b, "\xe2\x80\xa6");
    } else {
        cli_put_text(b, s, cols);
    }
    if (sgr)
        ottr_buf_puts(b, CLI_SGR_RESET);
    if (!right && !lastcol && shown < width)
        cli_put_repeat(b, " ", width - shown);
}

int cli_table_render(const cli_table *t, bool color, ottr_buf *out)
{
    if (t->oom)
        return -1;
    size_t *w = calloc(t->ncols, sizeof(*w));
    if (w == NULL)
        return -1;
    for (size_t c = 0; c < t->ncols; c++) {
        w[c] = cli_text_cols(t->titles[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t n = cli_text_cols(t->cells[r * t->ncols + c]);
            if (n > w[c])
                w[c] = n;
        }
        if (w[c] > cap_of(t, c))
            w[c] = cap_of(t, c);
    }
    size_t from = out->len;
    for (size_t c = 0; c < t->ncols; c++) {
        if (c > 0)
            ottr_buf_puts(out, "  ");
        put_cell(out, t->titles[c], w[c], (size_t)-1, t->right && t->right[c], c + 1 == t->ncols,
                 color ? CLI_SGR_BOLD : NULL);
    }
    ottr_buf_putc(out, '\n');
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            if (c > 0)
                ottr_buf_puts(out, "  ");
            const char *sgr = color ? t->colors[r * t->ncols + c] : NULL;
            put_cell(out, t->cells[r * t->ncols + c], w[c], cap_of(t, c), t->right && t->right[c],
                     c + 1 == t->ncols, sgr);
        }
        ottr_buf_putc(out, '\n');
    }
    free(w);
    cli_rstrip_lines(out, from);
    return 0;
}

void cli_table_free(cli_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->colors);
    memset(t, 0, sizeof(*t));
}
