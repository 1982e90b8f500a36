/* otlp/decode_json.c - decodes OTLP/JSON trace export requests straight into
 * protobuf-c structs in the request arena (no intermediate document tree), the
 * same for trace documents (Tempo's and Jaeger's variants, parsed leniently), and
 * encodes the JSON export response. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otlp/otlp.h"

/* The parser. Every function returns 0 on success or -1 after recording the
 * first error in |st| and |err|. */
typedef struct jp {
    const char *start;
    const char *p; /* start <= p <= end */
    const char *end;
    ottr_arena *arena;
    int depth;
    int lenient; /* a trace document: skip bad content, accept Tempo's variants */
    int hard;    /* lenient, but the error was not one to skip: give up */
    ottr_status st;
    char *err;
    size_t errlen;
    /* Scratch stack for the elements of repeated fields: an array's elements are
     * pushed as they are parsed, then copied into an exact-size arena array.
     * Nested arrays finish first, so one stack serves every level. */
    void **stack;
    size_t top;
    size_t cap;
} jp;

static int jp_fail(jp *j, const char *field, const char *what)
{
    if (j->st == OTTR_OK) {
        j->st = OTTR_ERR_INVALID;
        if (j->err && j->errlen)
            snprintf(j->err, j->errlen, "%s%s%s (at byte %zu)", field ? field : "",
                     field ? ": " : "", what, (size_t)(j->p - j->start));
    }
    return -1;
}

/* Forgets the error just recorded, so that lenient parsing goes on from |at|. */
static void jp_unfail(jp *j, const char *at)
{
    j->st = OTTR_OK;
    if (j->err && j->errlen)
        j->err[0] = '\0';
    j->p = at;
}

static void *jp_alloc(jp *j, size_t n)
{
    void *p = ottr_arena_alloc(j->arena, n ? n : 1);
    if (p == NULL && j->st == OTTR_OK) {
        j->st = otlp_alloc_failure(j->arena, n ? n : 1);
        if (j->err && j->errlen)
            snprintf(j->err, j->errlen, "%s",
                     j->st == OTTR_ERR_TOO_LARGE
                         ? "request too large to decode within the memory limit"
                         : "out of memory");
    }
    return p;
}

static void jp_ws(jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

/* The next significant byte, or -1 at the end of input. */
static int jp_peek(jp *j)
{
    jp_ws(j);
    return j->p < j->end ? (unsigned char)*j->p : -1;
}

static int jp_literal(jp *j, const char *field, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
        return jp_fail(j, field, "invalid JSON literal");
    j->p += n;
    return 0;
}

/* ------------------------------------------------------------------ strings */

static int read_u16_hex(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int d = ottr_hex_digit((unsigned char)s[i]);
        if (d < 0)
            return -1;
        v = v << 4 | (unsigned)d;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *dst, unsigned cp)
{
    unsigned char *d = (unsigned char *)dst;
    if (cp < 0x80) {
        d[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (unsigned char)(0xc0 | cp >> 6);
        d[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (unsigned char)(0xe0 | cp >> 12);
        d[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        d[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    d[0] = (unsigned char)(0xf0 | cp >> 18);
    d[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    d[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    d[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Decodes the escapes of a string body already validated by jp_scan_string into
 * |dst| (at least |n| bytes: decoding never grows the text). Lone surrogates
 * become U+FFFD. Returns the decoded length. */
static size_t json_unescape(const char *s, size_t n, char *dst)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] != '\\') {
            dst[o++] = s[i++];
            continue;
        }
        char c = s[i + 1];
        i += 2;
        switch (c) {
        case 'b':
            dst[o++] = '\b';
            break;
        case 'f':
            dst[o++] = '\f';
            break;
        case 'n':
            dst[o++] = '\n';
            break;
        case 'r':
            dst[o++] = '\r';
            break;
        case 't':
            dst[o++] = '\t';
            break;
        case 'u': {
            unsigned cp = 0xfffd, lo = 0;
            read_u16_hex(s + i, &cp);
            i += 4;
            if (cp >= 0xd800 && cp <= 0xdbff && i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u' &&
                read_u16_hex(s + i + 2, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            } else if (cp >= 0xd800 && cp <= 0xdfff) {
                cp = 0xfffd;
            }
            o += put_utf8(dst + o, cp);
            break;
        }
        default:
            dst[o++] = c;
            break; /* '"', '\\', '/' */
        }
    }
    return o;
}

/* Scans a string literal at p (which must be '"'): sets |*s|/|*n| to its raw body
 * and |*escaped| when it holds escapes, and moves past the closing quote. */
static int jp_scan_string(jp *j, const char *field, const char **s, size_t *n, int *escaped)
{
    if (jp_peek(j) != '"')
        return jp_fail(j, field, "expected a string");
    const char *q = ++j->p;
    int esc = 0;
    while (q < j->end) {
        unsigned char c = (unsigned char)*q;
        if (c == '"')
            break;
        if (c < 0x20) {
            j->p = q;
            return jp_fail(j, field, "control character in string");
        }
        if (c == '\\') {
            esc = 1;
            if (q + 1 >= j->end) {
                q = j->end;
                break;
            }
            char e = q[1];
            if (e == 'u') {
                unsigned cp;
                if (j->end - q < 6 || read_u16_hex(q + 2, &cp) != 0) {
                    j->p = q;
                    return jp_fail(j, field, "bad \\u escape in string");
                }
                q += 6;
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || e == '\0') {
                j->p = q;
                return jp_fail(j, field, "bad escape in string");
            }
            q += 2;
            continue;
        }
        q++;
    }
    if (q >= j->end) {
        j->p = j->end;
        return jp_fail(j, field, "unterminated string");
    }
    *s = j->p;
    *n = (size_t)(q - j->p);
    *escaped = esc;
    j->p = q + 1;
    return 0;
}

/* A string's decoded text: a view into the input when it has no escapes, else a
 * copy in the arena. Not NUL-terminated. */
static int jp_string_view(jp *j, const char *field, const char **s, size_t *n)
{
    int esc;
    if (jp_scan_string(j, field, s, n, &esc) != 0)
        return -1;
    if (esc) {
        char *d = jp_alloc(j, *n);
        if (d == NULL)
            return -1;
        *n = json_unescape(*s, *n, d);
        *s = d;
    }
    return 0;
}

/* A string field: NUL-terminated copy in the arena. null leaves |*out| alone. */
static int jp_string(jp *j, const char *field, char **out)
{
    int c = jp_peek(j);
    if (c == 'n')
        return jp_literal(j, field, "null");
    const char *s;
    size_t n;
    int esc;
    if (jp_scan_string(j, field, &s, &n, &esc) != 0)
        return -1;
    char *d = jp_alloc(j, n + 1);
    if (d == NULL)
        return -1;
    if (esc) {
        n = json_unescape(s, n, d);
    } else {
        memcpy(d, s, n);
    }
    d[n] = '\0';
    *out = d;
    return 0;
}

/* ------------------------------------------------------------------ skipping */

static int jp_skip(jp *j, const char *field);

static int jp_number_token(jp *j, const char *field, const char **s, size_t *n)
{
    const char *p = j->p, *e = j->end;
    *s = p;
    if (p < e && *p == '-')
        p++;
    if (p >= e || *p < '0' || *p > '9')
        return jp_fail(j, field, "invalid number");
    if (*p == '0') {
        p++;
    } else {
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < e && *p == '.') {
        p++;
        if (p >= e || *p < '0' || *p > '9')
            return jp_fail(j, field, "invalid number");
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || *p < '0' || *p > '9')
            return jp_fail(j, field, "invalid number");
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    *n = (size_t)(p - *s);
    j->p = p;
    return 0;
}

static int jp_enter(jp *j, const char *field)
{
    if (++j->depth > OTLP_JSON_MAX_DEPTH)
        return jp_fail(j, field, "nesting too deep");
    j->p++;
    return 0;
}

/* Object iteration: call with *first = 1; returns 1 with the key in |*k|/|*kn| and
 * the ':' consumed, 0 after the closing '}', -1 on error. */
static int jp_obj_next(jp *j, const char *field, int *first, const char **k, size_t *kn)
{
    int c = jp_peek(j);
    if (*first) {
        *first = 0;
        if (c == '}') {
            j->p++;
            j->depth--;
            return 0;
        }
    } else if (c == ',') {
        j->p++;
    } else if (c == '}') {
        j->p++;
        j->depth--;
        return 0;
    } else {
        return jp_fail(j, field, c < 0 ? "truncated object" : "expected ',' or '}'");
    }
    if (jp_string_view(j, field, k, kn) != 0)
        return -1;
    if (jp_peek(j) != ':')
        return jp_fail(j, field, "expected ':'");
    j->p++;
    return 1;
}

/* Array iteration, like jp_obj_next: returns 1 when an element follows. */
static int jp_arr_next(jp *j, const char *field, int *first)
{
    int c = jp_peek(j);
    if (*first) {
        *first = 0;
        if (c == ']') {
            j->p++;
            j->depth--;
            return 0;
        }
        return c < 0 ? jp_fail(j, field, "truncated array") : 1;
    }
    if (c == ',') {
        j->p++;
        return 1;
    }
    if (c == ']') {
        j->p++;
        j->depth--;
        return 0;
    }
    return jp_fail(j, field, c < 0 ? "truncated array" : "expected ',' or ']'");
}

/* Begins an array field's value: 1 when an array follows, 0 for null (the field
 * keeps its default), -1 on a wrong type. */
static int jp_arr_begin(jp *j, const char *field)
{
    int c = jp_peek(j);
    if (c == 'n')
        return jp_literal(j, field, "null") == 0 ? 0 : -1;
    if (c != '[')
        return jp_fail(j, field, "expected an array");
    return jp_enter(j, field) == 0 ? 1 : -1;
}

static int jp_skip(jp *j, const char *field)
{
    int c = jp_peek(j);
    int first = 1, r;
    const char *s;
    size_t n;
    int esc;
    switch (c) {
    case '{':
        if (jp_enter(j, field) != 0)
            return -1;
        while ((r = jp_obj_next(j, field, &first, &s, &n)) == 1)
            if (jp_skip(j, field) != 0)
                return -1;
        return r;
    case '[':
        if (jp_enter(j, field) != 0)
            return -1;
        while ((r = jp_arr_next(j, field, &first)) == 1)
            if (jp_skip(j, field) != 0)
                return -1;
        return r;
    case '"':
        return jp_scan_string(j, field, &s, &n, &esc);
    case 't':
        return jp_literal(j, field, "true");
    case 'f':
        return jp_literal(j, field, "false");
    case 'n':
        return jp_literal(j, field, "null");
    case -1:
        return jp_fail(j, field, "truncated JSON");
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return jp_number_token(j, field, &s, &n);
        return jp_fail(j, field, "invalid JSON value");
    }
}

/* ------------------------------------------------------------------ scalars */

/* Parses the decimal text of an integer (a JSON number or the body of a string)
 * into |*neg| and the magnitude |*mag|. Integral values written with a fraction or
 * an exponent ("1e3", "2.0") are accepted when exact. */
static int parse_int_text(const char *s, size_t n, int *neg, uint64_t *mag)
{
    size_t i = 0;
    *neg = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) {
        *neg = s[i] == '-';
        i++;
    }
    if (i == n)
        return -1;
    uint64_t v = 0;
    size_t k = i;
    for (; k < n && s[k] >= '0' && s[k] <= '9'; k++) {
        unsigned d = (unsigned)(s[k] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (k == n && k > i) {
        *mag = v;
        return 0;
    }
    /* A fraction or an exponent: go through a double. */
    char buf[64];
    if (n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    for (size_t t = 0; t < n; t++)
        if (!strchr("0123456789+-.eE", buf[t]))
            return -1;
    char *endp;
    double d = strtod(buf, &endp);
    if (endp != buf + n || !isfinite(d) || d != floor(d) || fabs(d) >= 18446744073709551616.0)
        return -1;
    *neg = d < 0;
    *mag = (uint64_t)fabs(d);
    return 0;
}

/* Reads an integer field given as a number or a decimal string. Returns 1 when a
 * value was read, 0 for null, -1 on error. */
static int jp_int(jp *j, const char *field, int *neg, uint64_t *mag)
{
    int c = jp_peek(j);
    const char *s;
    size_t n;
    if (c == 'n')
        return jp_literal(j, field, "null") == 0 ? 0 : -1;
    if (c == '"') {
        if (jp_string_view(j, field, &s, &n) != 0)
            return -1;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        if (jp_number_token(j, field, &s, &n) != 0)
            return -1;
    } else {
        return jp_fail(j, field, "expected an integer");
    }
    if (parse_int_text(s, n, neg, mag) != 0)
        return jp_fail(j, field, "not an integer in range");
    return 1;
}

static int jp_u64(jp *j, const char *field, uint64_t *out)
{
    int neg;
    uint64_t mag;
    int r = jp_int(j, field, &neg, &mag);
    if (r <= 0)
        return r;
    if (neg && mag != 0)
        return jp_fail(j, field, "negative value for an unsigned field");
    *out = mag;
    return 0;
}

static int jp_u32(jp *j, const char *field, uint32_t *out)
{
    uint64_t v = *out;
    if (jp_u64(j, field, &v) != 0)
        return -1;
    if (v > UINT32_MAX)
        return jp_fail(j, field, "value out of range for a 32-bit field");
    *out = (uint32_t)v;
    return 0;
}

static int jp_i64(jp *j, const char *field, int64_t *out)
{
    int neg;
    uint64_t mag;
    int r = jp_int(j, field, &neg, &mag);
    if (r <= 0)
        return r;
    if (neg) {
        if (mag > (uint64_t)INT64_MAX + 1)
            return jp_fail(j, field, "value out of range for a 64-bit field");
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    } else {
        if (mag > (uint64_t)INT64_MAX)
            return jp_fail(j, field, "value out of range for a 64-bit field");
        *out = (int64_t)mag;
    }
    return 0;
}

typedef int (*jp_enum_parse_fn)(const char *s, size_t n, unsigned how);

/* An enum: an integer (or a decimal string), or the name of a value as |parse|
 * (otlp_span_kind_parse, ...) reads it: the full name, and in a trace document
 * also the short word, in any case. */
static int jp_enum(jp *j, const char *field, jp_enum_parse_fn parse, int *out)
{
    if (jp_peek(j) == '"') {
        const char *at = j->p;
        const char *s;
        size_t n;
        if (jp_string_view(j, field, &s, &n) != 0)
            return -1;
        int v = parse(
            s, n, j->lenient ? OTLP_NAME_FULL | OTLP_NAME_WORD | OTLP_NAME_NOCASE : OTLP_NAME_FULL);
        if (v >= 0) {
            *out = v;
            return 0;
        }
        int neg;
        uint64_t mag;
        if (parse_int_text(s, n, &neg, &mag) != 0) {
            j->p = at;
            return jp_fail(j, field, "unknown enum value");
        }
        j->p = at; /* re-read as a number in a string */
    }
    int64_t v = *out;
    if (jp_i64(j, field, &v) != 0)
        return -1;
    if (v < INT32_MIN || v > INT32_MAX)
        return jp_fail(j, field, "enum value out of range");
    *out = (int)v;
    return 0;
}

static int jp_bool(jp *j, const char *field, protobuf_c_boolean *out)
{
    int c = jp_peek(j);
    if (c == 't') {
        *out = 1;
        return jp_literal(j, field, "true");
    }
    if (c == 'f') {
        *out = 0;
        return jp_literal(j, field, "false");
    }
    if (c == 'n')
        return jp_literal(j, field, "null");
    return jp_fail(j, field, "expected a boolean");
}

/* A double: a number, or a string holding a number, "NaN", "Infinity" or
 * "-Infinity". Returns 1 when read, 0 for null, -1 on error. */
static int jp_double(jp *j, const char *field, double *out)
{
    int c = jp_peek(j);
    const char *s;
    size_t n;
    if (c == 'n')
        return jp_literal(j, field, "null") == 0 ? 0 : -1;
    if (c == '"') {
        if (jp_string_view(j, field, &s, &n) != 0)
            return -1;
        if (n == 3 && memcmp(s, "NaN", 3) == 0) {
            *out = NAN;
            return 1;
        }
        if (n == 8 && memcmp(s, "Infinity", 8) == 0) {
            *out = INFINITY;
            return 1;
        }
        if (n == 9 && memcmp(s, "-Infinity", 9) == 0) {
            *out = -INFINITY;
            return 1;
        }
        /* Must be a JSON number in the string. */
        jp sub = *j;
        sub.start = sub.p = s;
        sub.end = s + n;
        const char *ts;
        size_t tn;
        if (n == 0 || jp_number_token(&sub, field, &ts, &tn) != 0 || tn != n)
            return jp_fail(j, field, "expected a number");
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        if (jp_number_token(j, field, &s, &n) != 0)
            return -1;
    } else {
        return jp_fail(j, field, "expected a number");
    }
    char small[64];
    char *buf = small;
    if (n >= sizeof(small)) {
        buf = jp_alloc(j, n + 1);
        if (buf == NULL)
            return -1;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    *out = strtod(buf, NULL);
    return 1;
}

/* Hex IDs: "" gives empty bytes. */
static int jp_hex_bytes(jp *j, const char *field, ProtobufCBinaryData *out)
{
    if (jp_peek(j) == 'n')
        return jp_literal(j, field, "null");
    const char *s;
    size_t n;
    if (jp_string_view(j, field, &s, &n) != 0)
        return -1;
    if (n == 0) {
        out->len = 0;
        out->data = NULL;
        return 0;
    }
    if (n % 2 != 0)
        return jp_fail(j, field, "odd-length hex string");
    uint8_t *d = jp_alloc(j, n / 2);
    if (d == NULL)
        return -1;
    if (ottr_hex_decode(s, n, d, n / 2) < 0)
        return jp_fail(j, field, "not a hex string");
    out->data = d;
    out->len = n / 2;
    return 0;
}

/* Base64, standard or URL-safe alphabet, padding optional. */
static int jp_base64_bytes(jp *j, const char *field, ProtobufCBinaryData *out)
{
    if (jp_peek(j) == 'n')
        return jp_literal(j, field, "null");
    const char *s;
    size_t n;
    if (jp_string_view(j, field, &s, &n) != 0)
        return -1;
    uint8_t *d = jp_alloc(j, n / 4 * 3 + 3);
    if (d == NULL)
        return -1;
    int o = ottr_base64_decode(s, n, d, n / 4 * 3 + 3);
    if (o < 0)
        return jp_fail(j, field, "invalid base64");
    out->data = o ? d : NULL;
    out->len = (size_t)o;
    return 0;
}

/* A trace or span ID of |want| bytes: hex, as jp_hex_bytes reads it. In a trace
 * document also base64, as Tempo's JSON and protobuf's JSON mapping write bytes,
 * when it is not |want| bytes of hex; text that is neither is kept as it is, so
 * that a malformed parent ID is not taken for no parent at all. */
static int jp_id(jp *j, const char *field, size_t want, ProtobufCBinaryData *out)
{
    if (!j->lenient || jp_peek(j) == 'n')
        return jp_hex_bytes(j, field, out);
    const char *at = j->p;
    const char *s;
    size_t n;
    if (jp_string_view(j, field, &s, &n) != 0)
        return -1;
    const char *after = j->p;
    if (n == 0) {
        out->len = 0;
        out->data = NULL;
        return 0;
    }
    uint8_t *d = jp_alloc(j, n);
    if (d == NULL)
        return -1;
    int len = n == 2 * want ? ottr_hex_decode(s, n, d, n) : -1;
    if (len < 0) {
        ProtobufCBinaryData b = {0, NULL};
        j->p = at;
        if (jp_base64_bytes(j, field, &b) == 0 && b.len == want) {
            *out = b;
            return 0;
        }
        if (j->st != OTTR_OK && j->st != OTTR_ERR_INVALID)
            return -1;
        jp_unfail(j, after);
        len = ottr_hex_decode(s, n, d, n);
    }
    if (len < 0) {
        memcpy(d, s, n);
        len = (int)n;
    }
    out->data = d;
    out->len = (size_t)len;
    return 0;
}

/* ------------------------------------------------------------------ repeated */

static int jp_push(jp *j, void *p)
{
    if (j->top == j->cap) {
        size_t ncap = j->cap ? j->cap * 2 : 256;
        void **ns = realloc(j->stack, ncap * sizeof(*ns));
        if (ns == NULL) {
            if (j->st == OTTR_OK) {
                j->st = OTTR_ERR_NOMEM;
                if (j->err && j->errlen)
                    snprintf(j->err, j->errlen, "out of memory");
            }
            return -1;
        }
        j->stack = ns;
        j->cap = ncap;
    }
    j->stack[j->top++] = p;
    return 0;
}

typedef void *(*jp_parse_fn)(jp *j, const char *field);

/* A repeated message field: an array of objects, each parsed by |one|. The result
 * is an arena array of |*n| pointers (left alone for null). */
static int jp_repeated(jp *j, const char *field, jp_parse_fn one, void ***out, size_t *n)
{
    int r = jp_arr_begin(j, field);
    if (r <= 0)
        return r;
    size_t base = j->top;
    int first = 1;
    while ((r = jp_arr_next(j, field, &first)) == 1) {
        if (jp_peek(j) != '{') {
            if (j->lenient) {
                if ((r = jp_skip(j, field)) != 0) {
                    j->hard = 1;
                    break;
                }
                continue;
            }
            r = jp_fail(j, field, "expected an object in the array");
            break;
        }
        void *m = one(j, field);
        if (m == NULL || jp_push(j, m) != 0) {
            r = -1;
            break;
        }
    }
    if (r == 0) {
        size_t cnt = j->top - base;
        void **arr = NULL;
        if (cnt) {
            arr = jp_alloc(j, cnt * sizeof(*arr));
            if (arr == NULL)
                r = -1;
            else
                memcpy(arr, j->stack + base, cnt * sizeof(*arr));
        }
        if (r == 0) {
            *out = arr;
            *n = cnt;
        }
    }
    j->top = base;
    return r;
}

/* ------------------------------------------------------------------ messages */

/* Handles one key of a message: returns 0 when parsed, 1 when the key is unknown
 * (the value is skipped), -1 on error. */
typedef int (*jp_field_fn)(jp *j, void *msg, const char *k, size_t kn);

static int key_is(const char *k, size_t kn, const char *lit)
{
    size_t n = strlen(lit);
    return kn == n && memcmp(k, lit, n) == 0;
}

/* lowerCamelCase or snake_case. */
static int key_is2(const char *k, size_t kn, const char *camel, const char *snake)
{
    return key_is(k, kn, camel) || key_is(k, kn, snake);
}

/* Walks the object that starts at p, passing each key to |fn|. */
static int jp_object(jp *j, const char *field, void *msg, jp_field_fn fn)
{
    if (jp_enter(j, field) != 0)
        return -1;
    int first = 1, more;
    const char *k;
    size_t kn;
    while ((more = jp_obj_next(j, field, &first, &k, &kn)) == 1) {
        const char *at = j->p; /* the value (jp_skip passes white space) */
        int depth = j->depth;
        size_t top = j->top;
        int r = fn(j, msg, k, kn);
        if (r == 1) {
            if ((r = jp_skip(j, field)) != 0)
                j->hard = 1;
        } else if (r != 0 && j->lenient && !j->hard && j->st == OTTR_ERR_INVALID) {
            /* A known field of the wrong type or value: skipped as unknown. A
             * value that cannot even be skipped is broken JSON. */
            jp_unfail(j, at);
            j->depth = depth;
            j->top = top;
            r = jp_skip(j, field);
            if (r != 0)
                j->hard = 1;
        }
        if (r != 0)
            return -1;
    }
    return more;
}

/* Allocates |var| and initialises it with its protobuf-c init function, then
 * parses the object into it; the enclosing parser returns NULL on failure. */
#define JP_MESSAGE(j, var, initfn, field, fieldfn)                                                 \
    do {                                                                                           \
        var = jp_alloc(j, sizeof(*var));                                                           \
        if (var == NULL)                                                                           \
            return NULL;                                                                           \
        initfn(var);                                                                               \
        if (jp_object(j, field, var, fieldfn) != 0)                                                \
            return NULL;                                                                           \
    } while (0)

/* A nested message field: |one| when an object follows, the field left NULL for
 * null. */
static int jp_message(jp *j, const char *field, jp_parse_fn one, void **out)
{
    int c = jp_peek(j);
    if (c == 'n')
        return jp_literal(j, field, "null");
    if (c != '{')
        return jp_fail(j, field, "expected an object");
    void *m = one(j, field);
    if (m == NULL)
        return -1;
    *out = m;
    return 0;
}

static void *parse_any(jp *j, const char *field);
static void *parse_kv(jp *j, const char *field);

static int jp_attributes(jp *j, const char *field, otlp_kv ***out, size_t *n)
{
    return jp_repeated(j, field, parse_kv, (void ***)out, n);
}

static int array_field(jp *j, void *msg, const char *k, size_t kn)
{
    otlp_array *m = msg;
    if (key_is(k, kn, "values"))
        return jp_repeated(j, "arrayValue.values", parse_any, (void ***)&m->values, &m->n_values);
    return 1;
}

static void *parse_array(jp *j, const char *field)
{
    otlp_array *m;
    JP_MESSAGE(j, m, opentelemetry__proto__common__v1__array_value__init, field, array_field);
    return m;
}

static int kvlist_field(jp *j, void *msg, const char *k, size_t kn)
{
    otlp_kvlist *m = msg;
    if (key_is(k, kn, "values"))
        return jp_repeated(j, "kvlistValue.values", parse_kv, (void ***)&m->values, &m->n_values);
    return 1;
}

static void *parse_kvlist(jp *j, const char *field)
{
    otlp_kvlist *m;
    JP_MESSAGE(j, m, opentelemetry__proto__common__v1__key_value_list__init, field, kvlist_field);
    return m;
}

/* AnyValue is a oneof: the last value key present wins; null sets nothing. */
static int any_field(jp *j, void *msg, const char *k, size_t kn)
{
    otlp_any *m = msg;
    int is_null = jp_peek(j) == 'n';
    int r;
    if (key_is2(k, kn, "stringValue", "string_value")) {
        char *s = NULL;
        if ((r = jp_string(j, "stringValue", &s)) == 0 && !is_null) {
            m->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
            m->string_value = s;
        }
    } else if (key_is2(k, kn, "boolValue", "bool_value")) {
        protobuf_c_boolean b = 0;
        if ((r = jp_bool(j, "boolValue", &b)) == 0 && !is_null) {
            m->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
            m->bool_value = b;
        }
    } else if (key_is2(k, kn, "intValue", "int_value")) {
        int64_t v = 0;
        if ((r = jp_i64(j, "intValue", &v)) == 0 && !is_null) {
            m->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
            m->int_value = v;
        }
    } else if (key_is2(k, kn, "doubleValue", "double_value")) {
        double d = 0;
        int got = jp_double(j, "doubleValue", &d);
        r = got < 0 ? -1 : 0;
        if (got == 1) {
            m->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
            m->double_value = d;
        }
    } else if (key_is2(k, kn, "arrayValue", "array_value")) {
        void *a = NULL;
        if ((r = jp_message(j, "arrayValue", parse_array, &a)) == 0 && a) {
            m->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
            m->array_value = a;
        }
    } else if (key_is2(k, kn, "kvlistValue", "kvlist_value")) {
        void *a = NULL;
        if ((r = jp_message(j, "kvlistValue", parse_kvlist, &a)) == 0 && a) {
            m->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
            m->kvlist_value = a;
        }
    } else if (key_is2(k, kn, "bytesValue", "bytes_value")) {
        ProtobufCBinaryData b = {0, NULL};
        if ((r = jp_base64_bytes(j, "bytesValue", &b)) == 0 && !is_null) {
            m->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
            m->bytes_value = b;
        }
    } else {
        r = 1;
    }
    return r;
}

static void *parse_any(jp *j, const char *field)
{
    otlp_any *m;
    JP_MESSAGE(j, m, opentelemetry__proto__common__v1__any_value__init, field, any_field);
    return m;
}

static int kv_field(jp *j, void *msg, const char *k, size_t kn)
{
    otlp_kv *m = msg;
    if (key_is(k, kn, "key"))
        return jp_string(j, "key", &m->key);
    if (key_is(k, kn, "value"))
        return jp_message(j, "value", parse_any, (void **)&m->value);
    return 1;
}

static void *parse_kv(jp *j, const char *field)
{
    otlp_kv *m;
    JP_MESSAGE(j, m, opentelemetry__proto__common__v1__key_value__init, field, kv_field);
    return m;
}

static int resource_field(jp *j, void *msg, const char *k, size_t kn)
{
    otlp_resource *m = msg;
    if (key_is(k, kn, "attributes"))
        return jp_attributes(j, "resource.attributes", &m->attributes, &m->n_attributes);
    if (key_is2(k, kn, "droppedAttributesCount", "dropped_attributes_count"))
        return jp_u32(j, "resource.droppedAttributesCount", &m->dropped_attributes_count);
    return 1;
}

static void *parse_resource(jp *j, const char *field)
{
    otlp_resource *m;
    JP_MESSAGE(j, m, opentelemetry__proto__resource__v1__resource__init, field, resource_field);
    return m;
}

static int scope_field(jp *j, void *msg, const char *k, size_t kn)
{
    otlp_scope *m = msg;
    if (key_is(k, kn, "name"))
        return jp_string(j, "scope.name", &m->name);
    if (key_is(k, kn, "version"))
        return jp_string(j, "scope.version", &m->version);
    if (key_is(k, kn, "attributes"))
        return jp_attributes(j, "scope.attributes", &m->attributes, &m->n_attributes);
    if (key_is2(k, kn, "droppedAttributesCount", "dropped_attributes_count"))
        return jp_u32(j, "scope.droppedAttributesCount", &m->dropped_attributes_count);
    return 1;
}

static void *parse_scope(jp *j, const char *field)
{
    otlp_scope *m;
    JP_MESSAGE(j, m, opentelemetry__proto__common__v1__instrumentation_scope__init, field,
               scope_field);
    return m;
}

static int status_field(jp *j, void *msg, const char *k, size_t kn)
{
    otlp_status *m = msg;
    if (key_is(k, kn, "message"))
        return jp_string(j, "status.message", &m->message);
    if (key_is(k, kn, "code")) {
        int v = (int)m->code;
        int r = jp_enum(j, "status.code", otlp_status_code_parse, &v);
        m->code = (Opentelemetry__Proto__Trace__V1__Status__StatusCode)v;
        return r;
    }
    return 1;
}

static void *parse_status(jp *j, const char *field)
{
    otlp_status *m;
    JP_MESSAGE(j, m, opentelemetry__proto__trace__v1__status__init, field, status_field);
    return m;
}

static int event_field(jp *j, void *msg, const char *k, size_t kn)
{
    otlp_event *m = msg;
    if (key_is2(k, kn, "timeUnixNano", "time_unix_nano"))
        return jp_u64(j, "events.timeUnixNano", &m->time_unix_nano);
    if (key_is(k, kn, "name"))
        return jp_string(j, "events.name", &m->name);
    if (key_is(k, kn, "attributes"))
        return jp_attributes(j, "events.attributes", &m->attributes, &m->n_attributes);
    if (key_is2(k, kn, "droppedAttributesCount", "dropped_attributes_count"))
        return jp_u32(j, "events.droppedAttributesCount", &m->dropped_attributes_count);
    return 1;
}

static void *parse_event(jp *j, const char *field)
{
    otlp_event *m;
    JP_MESSAGE(j, m, opentelemetry__proto__trace__v1__span__event__init, field, event_field);
    return m;
}

static int link_field(jp *j, void *msg, const char *k, size_t kn)
{
    otlp_link *m = msg;
    if (key_is2(k, kn, "traceId", "trace_id"))
        return jp_id(j, "links.traceId", 16, &m->trace_id);
    if (key_is2(k, kn, "spanId", "span_id"))
        return jp_id(j, "links.spanId", 8, &m->span_id);
    if (key_is2(k, kn, "traceState", "trace_state"))
        return jp_string(j, "links.traceState", &m->trace_state);
    if (key_is(k, kn, "attributes"))
        return jp_attributes(j, "links.attributes", &m->attributes, &m->n_attributes);
    if (key_is2(k, kn, "droppedAttributesCount", "dropped_attributes_count"))
        return jp_u32(j, "links.droppedAttributesCount", &m->dropped_attributes_count);
    if (key_is(k, kn, "flags"))
        return jp_u32(j, "links.flags", &m->flags);
    return 1;
}

static void *parse_link(jp *j, const char *field)
{
    otlp_link *m;
    JP_MESSAGE(j, m, opentelemetry__proto__trace__v1__span__link__init, field, link_field);
    return m;
}

static int span_field(jp *j, void *msg, const char *k, size_t kn)
{
    otlp_span *m = msg;
    if (key_is2(k, kn, "traceId", "trace_id"))
        return jp_id(j, "traceId", 16, &m->trace_id);
    if (key_is2(k, kn, "spanId", "span_id"))
        return jp_id(j, "spanId", 8, &m->span_id);
    if (key_is2(k, kn, "traceState", "trace_state"))
        return jp_string(j, "traceState", &m->trace_state);
    if (key_is2(k, kn, "parentSpanId", "parent_span_id"))
        return jp_id(j, "parentSpanId", 8, &m->parent_span_id);
    if (key_is(k, kn, "name"))
        return jp_string(j, "name", &m->name);
    if (key_is(k, kn, "kind")) {
        int v = (int)m->kind;
        int r = jp_enum(j, "kind", otlp_span_kind_parse, &v);
        m->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)v;
        return r;
    }
    if (key_is2(k, kn, "startTimeUnixNano", "start_time_unix_nano"))
        return jp_u64(j, "startTimeUnixNano", &m->start_time_unix_nano);
    if (key_is2(k, kn, "endTimeUnixNano", "end_time_unix_nano"))
        return jp_u64(j, "endTimeUnixNano", &m->end_time_unix_nano);
    if (key_is(k, kn, "attributes"))
        return jp_attributes(j, "attributes", &m->attributes, &m->n_attributes);
    if (key_is2(k, kn, "droppedAttributesCount", "dropped_attributes_count"))
        return jp_u32(j, "droppedAttributesCount", &m->dropped_attributes_count);
    if (key_is(k, kn, "events"))
        return jp_repeated(j, "events", parse_event, (void ***)&m->events, &m->n_events);
    if (key_is2(k, kn, "droppedEventsCount", "dropped_events_count"))
        return jp_u32(j, "droppedEventsCount", &m->dropped_events_count);
    if (key_is(k, kn, "links"))
        return jp_repeated(j, "links", parse_link, (void ***)&m->links, &m->n_links);
    if (key_is2(k, kn, "droppedLinksCount", "dropped_links_count"))
        return jp_u32(j, "droppedLinksCount", &m->dropped_links_count);
    if (key_is(k, kn, "status"))
        return jp_message(j, "status", parse_status, (void **)&m->status);
    if (key_is(k, kn, "flags"))
        return jp_u32(j, "flags", &m->flags);
    return 1;
}

static void *parse_span(jp *j, const char *field)
{
    otlp_span *m;
    JP_MESSAGE(j, m, opentelemetry__proto__trace__v1__span__init, field, span_field);
    return m;
}

static int scope_spans_field(jp *j, void *msg, const char *k, size_t kn)
{
    otlp_scope_spans *m = msg;
    if (key_is(k, kn, "scope") ||
        (j->lenient && key_is2(k, kn, "instrumentationLibrary", "instrumentation_library")))
        return jp_message(j, "scope", parse_scope, (void **)&m->scope);
    if (key_is(k, kn, "spans"))
        return jp_repeated(j, "spans", parse_span, (void ***)&m->spans, &m->n_spans);
    if (key_is2(k, kn, "schemaUrl", "schema_url"))
        return jp_string(j, "scopeSpans.schemaUrl", &m->schema_url);
    return 1;
}

static void *parse_scope_spans(jp *j, const char *field)
{
    otlp_scope_spans *m;
    JP_MESSAGE(j, m, opentelemetry__proto__trace__v1__scope_spans__init, field, scope_spans_field);
    return m;
}

static int resource_spans_field(jp *j, void *msg, const char *k, size_t kn)
{
    otlp_resource_spans *m = msg;
    if (key_is(k, kn, "resource"))
        return jp_message(j, "resource", parse_resource, (void **)&m->resource);
    if (key_is2(k, kn, "scopeSpans", "scope_spans") ||
        (j->lenient &&
         key_is2(k, kn, "instrumentationLibrarySpans", "instrumentation_library_spans")))
        return jp_repeated(j, "scopeSpans", parse_scope_spans, (void ***)&m->scope_spans,
                           &m->n_scope_spans);
    if (key_is2(k, kn, "schemaUrl", "schema_url"))
        return jp_string(j, "resourceSpans.schemaUrl", &m->schema_url);
    return 1;
}

static void *parse_resource_spans(jp *j, const char *field)
{
    otlp_resource_spans *m;
    JP_MESSAGE(j, m, opentelemetry__proto__trace__v1__resource_spans__init, field,
               resource_spans_field);
    return m;
}

static int request_field(jp *j, void *msg, const char *k, size_t kn)
{
    otlp_request *m = msg;
    if (key_is2(k, kn, "resourceSpans", "resource_spans"))
        return jp_repeated(j, "resourceSpans", parse_resource_spans, (void ***)&m->resource_spans,
                           &m->n_resource_spans);
    return 1;
}

static void *parse_request(jp *j, const char *field)
{
    otlp_request *m;
    JP_MESSAGE(j, m, opentelemetry__proto__collector__trace__v1__export_trace_service_request__init,
               field, request_field);
    return m;
}

static void jp_init(jp *j, ottr_arena *arena, const char *json, size_t len, char *err,
                    size_t errlen)
{
    memset(j, 0, sizeof(*j));
    j->start = j->p = json;
    j->end = json + len;
    j->arena = arena;
    j->err = err;
    j->errlen = errlen;
    if (err && errlen)
        err[0] = '\0';
}

/* The document must be one object: checks that one starts here. */
static int jp_doc_begin(jp *j)
{
    int c = jp_peek(j);
    if (c != '{')
        return jp_fail(j, NULL, c < 0 ? "empty JSON document" : "expected a JSON object");
    return 0;
}

static int jp_doc_end(jp *j)
{
    if (jp_peek(j) != -1)
        return jp_fail(j, NULL, "trailing data after the JSON object");
    return 0;
}

ottr_status otlp_json_decode_request(ottr_arena *arena, const char *json, size_t len,
                                     otlp_request **out, char *err, size_t errlen)
{
    jp j;
    jp_init(&j, arena, json, len, err, errlen);
    *out = NULL;

    otlp_request *req = NULL;
    if (jp_doc_begin(&j) == 0) {
        req = parse_request(&j, NULL);
        if (req && jp_doc_end(&j) != 0)
            req = NULL;
    }
    free(j.stack);
    if (req == NULL)
        return j.st != OTTR_OK ? j.st : OTTR_ERR_INTERNAL;
    *out = req;
    return OTTR_OK;
}

/* ------------------------------------------------------------------ trace documents */

/* What one object of a trace document holds. */
typedef struct doc_level {
    int found;                   /* it is there (a wrapper's value was an object) */
    int other;                   /* a member that is neither a spans array nor a wrapper */
    otlp_resource_spans **rs[2]; /* [0] "batches", [1] "resourceSpans" */
    size_t nrs[2];
    int has[2];
    size_t off[2], len[2]; /* each array's bytes */
} doc_level;

/* Walks one object of a trace document. At the top (|wrappers| not NULL) the
 * values of "trace" and "result" that are objects are walked too, into
 * wrappers[0] and wrappers[1]. */
static int doc_object(jp *j, doc_level *d, doc_level *wrappers)
{
    d->found = 1;
    if (jp_enter(j, NULL) != 0)
        return -1;
    int first = 1, more;
    const char *k;
    size_t kn;
    while ((more = jp_obj_next(j, NULL, &first, &k, &kn)) == 1) {
        int arr = key_is(k, kn, "batches")                            ? 0
                  : key_is2(k, kn, "resourceSpans", "resource_spans") ? 1
                                                                      : -1;
        int wrap = key_is(k, kn, "trace") ? 0 : key_is(k, kn, "result") ? 1 : -1;
        int r;
        if (arr >= 0) {
            jp_peek(j);
            const char *at = j->p;
            otlp_resource_spans **v = NULL;
            size_t n = 0;
            r = jp_repeated(j, arr ? "resourceSpans" : "batches", parse_resource_spans,
                            (void ***)&v, &n);
            if (r == 0 && *at != 'n') {
                d->rs[arr] = v;
                d->nrs[arr] = n;
                d->has[arr] = 1;
                d->off[arr] = (size_t)(at - j->start);
                d->len[arr] = (size_t)(j->p - at);
            }
        } else if (wrap >= 0 && wrappers && jp_peek(j) == '{') {
            memset(&wrappers[wrap], 0, sizeof(wrappers[wrap]));
            r = doc_object(j, &wrappers[wrap], NULL);
        } else {
            d->other |= wrap < 0;
            r = jp_skip(j, NULL);
        }
        if (r != 0)
            return -1;
    }
    return more;
}

ottr_status otlp_json_decode_traces(ottr_arena *arena, const char *json, size_t len,
                                    otlp_traces_data **out, otlp_json_doc *doc, char *err,
                                    size_t errlen)
{
    jp j;
    jp_init(&j, arena, json, len, err, errlen);
    j.lenient = 1;
    *out = NULL;
    otlp_json_doc info = {0, 0, 0};
    doc_level top, wrappers[2];
    memset(&top, 0, sizeof(top));
    memset(wrappers, 0, sizeof(wrappers));
    otlp_traces_data *td = NULL;
    if (jp_doc_begin(&j) == 0 && doc_object(&j, &top, wrappers) == 0 && jp_doc_end(&j) == 0) {
        /* Tempo v2's {"trace":...} first, then Jaeger's {"result":...}; in each,
         * Tempo's "batches" before "resourceSpans". */
        const doc_level *d = wrappers[0].found   ? &wrappers[0]
                             : wrappers[1].found ? &wrappers[1]
                                                 : &top;
        int a = d->has[0] ? 0 : 1;
        if (!d->has[a] && d->other) {
            jp_fail(&j, NULL, "no \"resourceSpans\" or \"batches\" array");
        } else if ((td = jp_alloc(&j, sizeof(*td))) != NULL) {
            opentelemetry__proto__trace__v1__traces_data__init(td);
            td->resource_spans = d->rs[a];
            td->n_resource_spans = d->nrs[a];
            info.array_off = d->off[a];
            info.array_len = d->len[a];
            info.wrapped = d != &top || a == 0;
        }
    }
    free(j.stack);
    if (j.st != OTTR_OK || td == NULL)
        return j.st != OTTR_OK ? j.st : OTTR_ERR_INTERNAL;
    *out = td;
    if (doc)
        *doc = info;
    return OTTR_OK;
}

void otlp_json_encode_response(int64_t rejected, const char *message, ottr_buf *out)
{
    if (rejected <= 0 && (message == NULL || message[0] == '\0')) {
        ottr_buf_puts(out, "{}");
        return;
    }
    ottr_buf_printf(out, "{\"partialSuccess\":{\"rejectedSpans\":\"%lld\",\"errorMessage\":",
                    (long long)(rejected > 0 ? rejected : 0));
    ottr_buf_json_str(out, message ? message : "", message ? strlen(message) : 0);
    ottr_buf_puts(out, "}}");
}
