/* sampler/strmap.c - a small open-addressing map from byte strings to pointers,
 * used for metric series, edges and interned names. */
#include <stdlib.h>
#include <string.h>

#include "sampler/internal.h"

void sampler_strmap_init(strmap *m)
{
    memset(m, 0, sizeof(*m));
}

void sampler_strmap_free(strmap *m, void (*free_val)(void *))
{
    if (m->e != NULL) {
        for (size_t i = 0; i <= m->mask; i++) {
            if (m->e[i].key == NULL)
                continue;
            free(m->e[i].key);
            if (free_val)
                free_val(m->e[i].val);
        }
    }
    free(m->e);
    memset(m, 0, sizeof(*m));
}

static bool same(const strmap_entry *e, const void *key, size_t klen, uint64_t h)
{
    return e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0;
}

void *sampler_strmap_get(const strmap *m, const void *key, size_t klen, uint64_t h)
{
    if (m->e == NULL)
        return NULL;
    for (size_t i = h & m->mask;; i = (i + 1) & m->mask) {
        const strmap_entry *e = &m->e[i];
        if (e->key == NULL)
            return NULL;
        if (same(e, key, klen, h))
            return e->val;
    }
}

static void place(strmap_entry *tab, size_t mask, const strmap_entry *src)
{
    size_t i = src->hash & mask;
    while (tab[i].key != NULL)
        i = (i + 1) & mask;
    tab[i] = *src;
}

static int grow(strmap *m)
{
    size_t n = m->e ? (m->mask + 1) * 2 : 16;
    strmap_entry *ne = calloc(n, sizeof(*ne));
    if (ne == NULL)
        return -1;
    if (m->e != NULL) {
        for (size_t i = 0; i <= m->mask; i++)
            if (m->e[i].key != NULL)
                place(ne, n - 1, &m->e[i]);
        free(m->e);
    }
    m->e = ne;
    m->mask = n - 1;
    return 0;
}

int sampler_strmap_put(strmap *m, const void *key, size_t klen, uint64_t h, void *val)
{
    if ((m->e == NULL || (m->count + 1) * 4 > (m->mask + 1) * 3) && grow(m) != 0)
        return -1;
    strmap_entry e = {.hash = h, .klen = klen, .val = val};
    e.key = malloc(klen + 1);
    if (e.key == NULL)
        return -1;
    memcpy(e.key, key, klen);
    e.key[klen] = '\0';
    place(m->e, m->mask, &e);
    m->count++;
    return 0;
}

void *sampler_strmap_del(strmap *m, const void *key, size_t klen, uint64_t h)
{
    if (m->e == NULL)
        return NULL;
    size_t mask = m->mask;
    size_t i = h & mask;
    while (!same(&m->e[i], key, klen, h)) {
        if (m->e[i].key == NULL)
            return NULL;
        i = (i + 1) & mask;
    }
    void *val = m->e[i].val;
    free(m->e[i].key);
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (m->e[j].key == NULL)
            break;
        size_t home = m->e[j].hash & mask;
        bool in_range = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) {
            m->e[i] = m->e[j];
            i = j;
        }
    }
    memset(&m->e[i], 0, sizeof(m->e[i]));
    m->count--;
    return val;
}
