/* cluster/offsets.c - which offset a store node may commit, per partition: the
 * records it handed to the sampler as runs of consecutive offsets submitted in
 * the same second, oldest first. A run settles once the sampler has decided and
 * stored every trace of that second; the commit point is then the first offset
 * of the oldest run still waiting, or past the last record read. */
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster.h"

typedef struct run {
    int64_t first;  /* first offset of the run */
    int64_t next;   /* one past its last */
    uint64_t count; /* records in it (offsets may skip) */
    uint32_t sec;   /* second its records were submitted in */
} run;

typedef struct part_state {
    int32_t part;
    run *runs; /* a ring of cap runs, n of them from head */
    size_t head, n, cap;
    int64_t next;      /* one past the last record noted; -1: none yet */
    int64_t committed; /* the last commit point returned; -1: none */
    uint64_t waiting;  /* records in the runs */
} part_state;

struct cluster_offsets {
    part_state *parts; /* unordered; few */
    size_t n, cap;
};

cluster_offsets *cluster_offsets_new(void)
{
    return calloc(1, sizeof(cluster_offsets));
}

void cluster_offsets_free(cluster_offsets *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->parts[i].runs);
    free(t->parts);
    free(t);
}

static part_state *find(const cluster_offsets *t, int32_t part)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->parts[i].part == part)
            return &t->parts[i];
    return NULL;
}

int cluster_offsets_assign(cluster_offsets *t, int32_t part)
{
    part_state *p = find(t, part);
    if (p == NULL) {
        if (t->n == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 8;
            part_state *np = realloc(t->parts, cap * sizeof(*np));
            if (np == NULL)
                return -1;
            t->parts = np;
            t->cap = cap;
        }
        p = &t->parts[t->n++];
        memset(p, 0, sizeof(*p));
    }
    free(p->runs);
    memset(p, 0, sizeof(*p));
    p->part = part;
    p->next = -1;
    p->committed = -1;
    return 0;
}

void cluster_offsets_revoke(cluster_offsets *t, int32_t part)
{
    part_state *p = find(t, part);
    if (p == NULL)
        return;
    free(p->runs);
    *p = t->parts[--t->n];
}

static run *run_at(part_state *p, size_t i)
{
    return &p->runs[(p->head + i) % p->cap];
}

static int grow(part_state *p)
{
    size_t cap = p->cap ? p->cap * 2 : 16;
    run *nr = malloc(cap * sizeof(*nr));
    if (nr == NULL)
        return -1;
    for (size_t i = 0; i < p->n; i++)
        nr[i] = *run_at(p, i);
    free(p->runs);
    p->runs = nr;
    p->cap = cap;
    p->head = 0;
    return 0;
}

int cluster_offsets_add(cluster_offsets *t, int32_t part, int64_t offset, uint32_t sec)
{
    part_state *p = find(t, part);
    if (p == NULL)
        return -1;
    if (p->n > 0) {
        run *last = run_at(p, p->n - 1);
        if (last->sec == sec || sec == 0) {
            /* A record with nothing to wait for settles with the run before it. */
            last->next = offset + 1;
            last->count++;
            p->next = offset + 1;
            p->waiting++;
            return 0;
        }
    }
    if (p->n == p->cap && grow(p) != 0)
        return -1;
    run *r = run_at(p, p->n++);
    /* The run starts right after the previous record, so that offsets skipped
     * (compacted, control records) are covered. */
    r->first = p->next >= 0 ? p->next : offset;
    r->next = offset + 1;
    r->sec = sec;
    r->count = 1;
    p->next = offset + 1;
    p->waiting++;
    return 0;
}

int64_t cluster_offsets_settle(cluster_offsets *t, int32_t part, uint32_t settled_sec)
{
    part_state *p = find(t, part);
    if (p == NULL)
        return -1;
    while (p->n > 0 && run_at(p, 0)->sec < settled_sec) {
        p->waiting -= run_at(p, 0)->count;
        p->head = (p->head + 1) % p->cap;
        p->n--;
    }
    int64_t point = p->n > 0 ? run_at(p, 0)->first : p->next;
    if (point < 0 || point <= p->committed)
        return -1;
    p->committed = point;
    return point;
}

size_t cluster_offsets_partitions(const cluster_offsets *t, int32_t *parts, size_t cap)
{
    for (size_t i = 0; i < t->n && i < cap; i++)
        parts[i] = t->parts[i].part;
    return t->n;
}

bool cluster_offsets_tracked(const cluster_offsets *t, int32_t part)
{
    return find(t, part) != NULL;
}

uint64_t cluster_offsets_waiting(const cluster_offsets *t, int32_t part)
{
    const part_state *p = find(t, part);
    return p ? p->waiting : 0;
}
