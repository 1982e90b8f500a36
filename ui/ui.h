/* ui/ui.h - the web UI's files (ui/www/), embedded in the binary at build time
 * by ui/embed.cmake: plain HTML, CSS and JavaScript, no network at run time.
 * The query port serves them (collector/routes_ui.c).
 *
 * ui/ depends on nothing. */
#ifndef OTTR_UI_H
#define OTTR_UI_H

#include <stddef.h>

typedef struct ui_asset {
    const char *path; /* "/index.html": the path under ui/www/ */
    const char *type; /* Content-Type */
    const char *etag; /* quoted strong ETag from the content's hash */
    const unsigned char *data;
    size_t len;
    const unsigned char *gz; /* gzip of data; NULL when it would not save a tenth */
    size_t gzlen;
} ui_asset;

/* The asset at |path| ("/index.html", "/app.js"), or NULL. */
const ui_asset *ui_asset_find(const char *path);

/* 1 when the Accept-Encoding value |accept| (NULL when absent) takes gzip. */
int ui_accepts_gzip(const char *accept);

/* 1 when the If-None-Match value |inm| (NULL when absent) names |etag| or is *. */
int ui_etag_matches(const char *inm, const char *etag);

#endif
