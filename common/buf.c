/* common/buf.c - growable byte buffers, with JSON string escaping, and reading
 * a whole file into one. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

int ottr_buf_reserve(ottr_buf *b, size_t extra)
{
    if (b->oom)
        return -1;
    size_t need = b->len + extra + 1; /* room for the NUL */
    if (need < b->len) {
        b->oom = 1;
        return -1;
    }
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (p == NULL) {
        b->oom = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void ottr_buf_append(ottr_buf *b, const void *p, size_t n)
{
    if (ottr_buf_reserve(b, n) != 0)
        return;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void ottr_buf_puts(ottr_buf *b, const char *s)
{
    ottr_buf_append(b, s, strlen(s));
}

void ottr_buf_putc(ottr_buf *b, char c)
{
    ottr_buf_append(b, &c, 1);
}

void ottr_buf_printf(ottr_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        ottr_buf_append(b, small, (size_t)n);
        return;
    }
    if (ottr_buf_reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at |s| (at most |n| bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0) {
        len = 2;
        cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3;
        cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

void ottr_buf_json_str(ottr_buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    if (n > SIZE_MAX - 2) { /* n + 2 would wrap around */
        b->oom = 1;
        return;
    }
    if (ottr_buf_reserve(b, n + 2) != 0)
        return;
    ottr_buf_putc(b, '"');
    size_t run = 0; /* start of the pending run of plain bytes */
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t l = utf8_len(p + i, n - i);
            if (l > 0) {
                i += l;
                continue;
            }
        }
        ottr_buf_append(b, p + run, i - run);
        switch (c) {
        case '"':
            ottr_buf_puts(b, "\\\"");
            break;
        case '\\':
            ottr_buf_puts(b, "\\\\");
            break;
        case '\n':
            ottr_buf_puts(b, "\\n");
            break;
        case '\r':
            ottr_buf_puts(b, "\\r");
            break;
        case '\t':
            ottr_buf_puts(b, "\\t");
            break;
        default:
            if (c < 0x20)
                ottr_buf_printf(b, "\\u%04x", c);
            else
                ottr_buf_puts(b, "\xef\xbf\xbd"); /* invalid UTF-8 byte */
        }
        i++;
        run = i;
    }
    ottr_buf_append(b, p + run, n - run);
    ottr_buf_putc(b, '"');
}

void ottr_buf_reset(ottr_buf *b)
{
    b->len = 0;
    b->oom = 0;
    if (b->data)
        b->data[0] = '\0';
}

void ottr_buf_free(ottr_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

char *ottr_buf_detach(ottr_buf *b, size_t *len)
{
    char *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
    return p;
}

int ottr_buf_read_file(ottr_buf *b, const char *path, size_t max, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    size_t start = b->len, n;
    char chunk[8192];
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b->len - start <= max)
        ottr_buf_append(b, chunk, n);
    int bad = ferror(f);
    fclose(f);
    memset(chunk, 0, sizeof(chunk)); /* it may have held a key */
    if (bad || b->oom) {
        snprintf(err, errlen, "%s: cannot read", path);
        return -1;
    }
    if (b->len - start > max) {
        snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
        return -1;
    }
    ottr_buf_reserve(b, 1);
    if (b->oom) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    b->data[b->len] = '\0';
    return 0;
}
