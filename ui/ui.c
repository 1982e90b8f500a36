/* ui/ui.c - lookup of the embedded web UI files and the two request headers
 * that decide how one is sent (gzip, a conditional GET). */
#include <string.h>
#include <strings.h>

#include "ui/ui.h"

/* The table written by ui/embed.cmake. */
extern const ui_asset ui_assets[];
extern const unsigned ui_nassets;

const ui_asset *ui_asset_find(const char *path)
{
    for (unsigned i = 0; i < ui_nassets; i++)
        if (strcmp(ui_assets[i].path, path) == 0)
            return &ui_assets[i];
    return NULL;
}

/* One comma-separated token of a header list: its value (spaces trimmed,
 * ";params" cut) and its params ("" when none). */
typedef int (*token_fn)(const char *tok, size_t n, const char *params, size_t pn, const char *arg);

/* Calls |fn| on each token of |list|; returns 1 as soon as it does. */
static int any_token(const char *list, token_fn fn, const char *arg)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        size_t n = (size_t)(e - p);
        const char *semi = memchr(p, ';', n);
        size_t tn = semi ? (size_t)(semi - p) : n;
        while (tn && (p[tn - 1] == ' ' || p[tn - 1] == '\t'))
            tn--;
        if (tn && fn(p, tn, semi ? semi : "", semi ? (size_t)(e - semi) : 0, arg))
            return 1;
        p = e;
    }
    return 0;
}

/* gzip or *, unless its q is 0. */
static int is_gzip(const char *tok, size_t n, const char *params, size_t pn, const char *arg)
{
    (void)arg;
    if (!((n == 4 && strncasecmp(tok, "gzip", 4) == 0) || (n == 1 && tok[0] == '*')))
        return 0;
    for (size_t i = 0; i + 1 < pn; i++) {
        if ((params[i] == 'q' || params[i] == 'Q') && params[i + 1] == '=') {
            for (i += 2; i < pn && (params[i] == '0' || params[i] == '.'); i++)
                ;
            return i < pn && params[i] >= '1' && params[i] <= '9';
        }
    }
    return 1;
}

int ui_accepts_gzip(const char *accept)
{
    return accept != NULL && any_token(accept, is_gzip, NULL);
}

/* The token names |etag| (weakly, as If-None-Match compares) or is *. */
static int same_etag(const char *tok, size_t n, const char *params, size_t pn, const char *etag)
{
    (void)params;
    (void)pn;
    if (n == 1 && tok[0] == '*')
        return 1;
    if (n > 2 && strncmp(tok, "W/", 2) == 0) {
        tok += 2;
        n -= 2;
    }
    return strlen(etag) == n && strncmp(tok, etag, n) == 0;
}

int ui_etag_matches(const char *inm, const char *etag)
{
    return inm != NULL && any_token(inm, same_etag, etag);
}
