/* otlp/names.c - the names of SpanKind and StatusCode values, from the protobuf-c
 * enum descriptors: the full name ("SPAN_KIND_SERVER") and the short lower-case
 * word after the prefix all values share ("server"), built once. */
#include <ctype.h>
#include <pthread.h>
#include <string.h>

#include "otlp/otlp.h"

#define MAX_VALUES 16
#define MAX_WORD   32

typedef struct enum_names {
    const ProtobufCEnumDescriptor *desc;
    int nvalues; /* names are indexed by value, 0 .. nvalues - 1 */
    const char *full[MAX_VALUES];
    char word[MAX_VALUES][MAX_WORD];
} enum_names;

static enum_names kinds = {.desc = &opentelemetry__proto__trace__v1__span__span_kind__descriptor};
static enum_names codes = {.desc =
                               &opentelemetry__proto__trace__v1__status__status_code__descriptor};
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void names_build(enum_names *e)
{
    const ProtobufCEnumDescriptor *d = e->desc;
    if (d->n_values == 0)
        return;
    /* The prefix: the longest start ending in '_' that every name shares. */
    const char *first = d->values[0].name;
    size_t prefix = strlen(first);
    for (unsigned i = 1; i < d->n_values; i++) {
        size_t k = 0;
        while (k < prefix && d->values[i].name[k] == first[k])
            k++;
        prefix = k;
    }
    while (prefix > 0 && first[prefix - 1] != '_')
        prefix--;
    for (unsigned i = 0; i < d->n_values; i++) {
        int v = d->values[i].value;
        if (v < 0 || v >= MAX_VALUES)
            continue;
        const char *name = d->values[i].name;
        e->full[v] = name;
        size_t k = 0;
        for (const char *p = name + prefix; *p && k + 1 < MAX_WORD; p++)
            e->word[v][k++] = (char)tolower((unsigned char)*p);
        e->word[v][k] = '\0';
        if (v >= e->nvalues)
            e->nvalues = v + 1;
    }
}

static void names_init(void)
{
    names_build(&kinds);
    names_build(&codes);
}

static const enum_names *names_get(enum_names *e)
{
    pthread_once(&names_once, names_init);
    return e;
}

static const char *full_of(enum_names *e, int v)
{
    const enum_names *n = names_get(e);
    return v >= 0 && v < n->nvalues ? n->full[v] : NULL;
}

static const char *word_of(enum_names *e, int v)
{
    const enum_names *n = names_get(e);
    return v >= 0 && v < n->nvalues && n->full[v] ? n->word[v] : NULL;
}

static int same(const char *name, const char *s, size_t n, unsigned how)
{
    if (strlen(name) != n)
        return 0;
    return (how & OTLP_NAME_NOCASE) ? strncasecmp(name, s, n) == 0 : memcmp(name, s, n) == 0;
}

static int parse(enum_names *e, const char *s, size_t n, unsigned how)
{
    const enum_names *t = names_get(e);
    for (int v = 0; v < t->nvalues; v++) {
        if (t->full[v] == NULL)
            continue;
        if ((how & OTLP_NAME_FULL) && same(t->full[v], s, n, how))
            return v;
        if ((how & OTLP_NAME_WORD) && same(t->word[v], s, n, how))
            return v;
    }
    return -1;
}

const char *otlp_span_kind_name(int kind)
{
    return full_of(&kinds, kind);
}

const char *otlp_span_kind_word(int kind)
{
    return word_of(&kinds, kind);
}

const char *otlp_status_code_name(int code)
{
    return full_of(&codes, code);
}

const char *otlp_status_code_word(int code)
{
    return word_of(&codes, code);
}

int otlp_span_kind_parse(const char *s, size_t n, unsigned how)
{
    return parse(&kinds, s, n, how);
}

int otlp_status_code_parse(const char *s, size_t n, unsigned how)
{
    return parse(&codes, s, n, how);
}
