/* cli/text.c - the CLI's text helpers: humanised durations, times, integers,
 * terminal-safe UTF-8 output, colours, URLs and trace IDs. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

void cli_fmt_duration(uint64_t ns, char *out, size_t outlen)
{
    if (ns == 0) {
        snprintf(out, outlen, "0s");
        return;
    }
    if (ns < 1000) {
        snprintf(out, outlen, "%lluns", (unsigned long long)ns);
        return;
    }
    double x = (double)ns;
    if (x >= 59.95e9) {
        unsigned long long s = (unsigned long long)llround(x / NS_PER_SEC);
        if (s < 3600) {
            snprintf(out, outlen, "%llum%02llus", s / 60, s % 60);
        } else {
            unsigned long long m = (s + 30) / 60;
            snprintf(out, outlen, "%lluh%02llum", m / 60, m % 60);
        }
        return;
    }
    static const struct {
        const char *name;
        double ns;
    } units[] = {{"\xc2\xb5s", 1e3}, {"ms", 1e6}, {"s", 1e9}};
    size_t u = 0;
    while (u + 1 < sizeof(units) / sizeof(units[0]) && x >= units[u + 1].ns)
        u++;
    double v = x / units[u].ns;
    /* rounding 999.7µs to 3 digits gives 1000: carry into the next unit */
    if (v >= 999.5 && u + 1 < sizeof(units) / sizeof(units[0])) {
        u++;
        v = x / units[u].ns;
    }
    int decimals = v < 9.995 ? 2 : v < 99.95 ? 1 : 0;
    char num[32];
    snprintf(num, sizeof(num), "%.*f", decimals, v);
    size_t n = strlen(num);
    if (decimals > 0) {
        while (num[n - 1] == '0')
            num[--n] = '\0';
        if (num[n - 1] == '.')
            num[--n] = '\0';
    }
    snprintf(out, outlen, "%s%s", num, units[u].name);
}

int cli_parse_time(const char *s, int64_t *out_s)
{
    if (s == NULL || *s == '\0')
        return -1;
    const char *p = s;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '\0' || (*p == '.' && p > s)) {
        /* a Unix timestamp; the magnitude tells the unit */
        errno = 0;
        char *end;
        double v = strtod(s, &end);
        if (errno != 0 || *end != '\0' || v < 0)
            return -1;
        if (v >= 1e17)
            v /= 1e9;
        else if (v >= 1e14)
            v /= 1e6;
        else if (v >= 1e11)
            v /= 1e3;
        if (v > 1e12)
            return -1;
        *out_s = (int64_t)v;
        return 0;
    }
    uint64_t ns;
    if (ottr_parse_rfc3339(s, true, &ns) != 0)
        return -1;
    *out_s = (int64_t)(ns / NS_PER_SEC);
    return 0;
}

int cli_parse_int(const char *s, long min, long max, long *out)
{
    if (s == NULL || *s == '\0')
        return -1;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* The length of the UTF-8 sequence at |s| (at least 1), and whether it may be
 * printed: control characters (C0 and C1, so that an ESC or CSI cannot drive the
 * terminal), invalid and truncated sequences may not. */
static size_t utf8_seq(const unsigned char *s, bool *printable)
{
    unsigned c = s[0];
    *printable = false;
    if (c < 0x20 || c == 0x7f)
        return 1;
    if (c < 0x80) {
        *printable = true;
        return 1;
    }
    size_t n;
    unsigned cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 1;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 1;
    *printable = cp > 0x9f; /* U+0080..U+009F are the C1 controls */
    return n;
}

size_t cli_text_cols(const char *s)
{
    size_t cols = 0;
    const unsigned char *p = (const unsigned char *)s;
    bool ok;
    while (*p) {
        p += utf8_seq(p, &ok);
        cols++;
    }
    return cols;
}

size_t cli_put_text(ottr_buf *b, const char *s, size_t maxcols)
{
    size_t cols = 0;
    const unsigned char *p = (const unsigned char *)s;
    bool ok;
    while (*p && cols < maxcols) {
        size_t n = utf8_seq(p, &ok);
        if (ok)
            ottr_buf_append(b, p, n);
        else
            ottr_buf_putc(b, '?');
        p += n;
        cols++;
    }
    return cols;
}

void cli_put_repeat(ottr_buf *b, const char *s, size_t n)
{
    size_t len = strlen(s);
    for (size_t i = 0; i < n; i++)
        ottr_buf_append(b, s, len);
}

void cli_rstrip_lines(ottr_buf *b, size_t from)
{
    if (b->data == NULL || from >= b->len)
        return;
    size_t w = from;
    size_t line_start = from;
    for (size_t r = from; r <= b->len; r++) {
        if (r == b->len || b->data[r] == '\n') {
            size_t end = r;
            while (end > line_start && b->data[end - 1] == ' ')
                end--;
            memmove(b->data + w, b->data + line_start, end - line_start);
            w += end - line_start;
            if (r < b->len)
                b->data[w++] = '\n';
            line_start = r + 1;
        }
    }
    b->len = w;
    b->data[w] = '\0';
}

const char *cli_sgr(bool color, const char *seq)
{
    return color ? seq : "";
}

const char *cli_service_color(const char *service)
{
    static const char *const palette[] = {"\033[36m", "\033[32m", "\033[33m",
                                          "\033[34m", "\033[35m", "\033[96m",
                                          "\033[92m", "\033[94m", "\033[95m"};
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)service; *p; p++)
        h = (h ^ *p) * 16777619u;
    return palette[h % (sizeof(palette) / sizeof(palette[0]))];
}

void cli_url_escape(ottr_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            ottr_buf_putc(b, (char)*p);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            ottr_buf_append(b, esc, 3);
        }
    }
}

void cli_url_base(ottr_buf *b, const char *base)
{
    size_t len = strlen(base);
    while (len > 0 && base[len - 1] == '/')
        len--;
    if (strstr(base, "://") == NULL)
        ottr_buf_puts(b, "http://");
    ottr_buf_append(b, base, len);
}

void cli_jaeger_base(ottr_buf *b, const char *jaeger, const char *server)
{
    if (jaeger != NULL) {
        cli_url_base(b, jaeger);
        return;
    }
    const char *sep = strstr(server, "://");
    const char *host = sep ? sep + 3 : server;
    if (sep != NULL)
        ottr_buf_append(b, server, (size_t)(host - server));
    else
        ottr_buf_puts(b, "http://");
    size_t hlen = strcspn(host, "/?#");
    /* the port is after the last ':' unless that is inside an IPv6 literal */
    const char *colon = NULL;
    for (size_t i = 0; i < hlen; i++) {
        if (host[i] == ':')
            colon = host + i;
        else if (host[i] == ']')
            colon = NULL;
    }
    size_t keep = colon ? (size_t)(colon - host) : hlen;
    ottr_buf_append(b, host, keep);
    ottr_buf_puts(b, ":16686");
}

int cli_trace_id_norm(const char *in, char *out)
{
    size_t len = strlen(in);
    if (len == 0 || len > 32)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (!isxdigit((unsigned char)in[i]))
            return -1;
    size_t pad = 32 - len;
    memset(out, '0', pad);
    for (size_t i = 0; i < len; i++)
        out[pad + i] = (char)tolower((unsigned char)in[i]);
    out[32] = '\0';
    return 0;
}
