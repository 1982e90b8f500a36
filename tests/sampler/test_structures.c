/* tests/sampler/test_structures.c - the sampler's tables checked against simple
 * reference models under random operations: the id table, the bounded decision
 * cache (oldest forgotten first) and the string map. */
#include "helpers.h"

static uint64_t rs = 12345;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

typedef struct ent {
    uint8_t key[16];
    uint32_t free_next;
    uint32_t value;
} ent;

static void test_idtable(void **state)
{
    (void)state;
    enum { N = 5000 };
    idtable t;
    assert_int_equal(sampler_idt_init(&t, sizeof(ent), 16), 0);
    static bool present[N];
    static uint32_t where[N];
    memset(present, 0, sizeof(present));
    size_t live = 0;
    for (int step = 0; step < 200000; step++) {
        uint32_t k = (uint32_t)(rnd() % N);
        uint8_t key[16];
        id16(k, key);
        uint64_t h = sampler_idt_hash(key, 16);
        uint32_t idx = sampler_idt_find(&t, key, h);
        if (present[k]) {
            assert_int_equal(idx, where[k]);
            assert_int_equal(((ent *)sampler_idt_at(&t, idx))->value, k);
        } else {
            assert_int_equal(idx, IDT_NONE);
        }
        if (rnd() % 3 == 0 && present[k]) {
            sampler_idt_remove(&t, idx, h);
            present[k] = false;
            live--;
        } else if (!present[k]) {
            idx = sampler_idt_insert(&t, key, h);
            assert_int_not_equal(idx, IDT_NONE);
            ((ent *)sampler_idt_at(&t, idx))->value = k;
            where[k] = idx;
            present[k] = true;
            live++;
        }
        assert_int_equal(t.count, live);
    }
    /* Empty it: memory goes back to the minimum. */
    for (uint32_t k = 0; k < N; k++) {
        if (!present[k])
            continue;
        uint8_t key[16];
        id16(k, key);
        sampler_idt_remove(&t, where[k], sampler_idt_hash(key, 16));
    }
    assert_int_equal(t.count, 0);
    assert_int_equal(t.nchunks, 0);
    assert_true(sampler_idt_bytes(&t) <= 64 * 4 * 8);
    sampler_idt_free(&t);
}

static void test_dcache(void **state)
{
    (void)state;
    dcache c;
    sampler_dcache_init(&c, 1000);
    for (uint64_t k = 1; k <= 5000; k++) {
        assert_int_equal(sampler_dcache_add(&c, k * 0x9e3779b97f4a7c15ull), 0);
        /* The newest 1000 are remembered, older ones forgotten. */
        if (k % 500 == 0) {
            for (uint64_t q = 1; q <= k; q++)
                assert_int_equal(sampler_dcache_has(&c, q * 0x9e3779b97f4a7c15ull), q + 1000 > k);
        }
    }
    assert_int_equal(c.count, 1000);
    size_t bytes = sampler_dcache_bytes(&c);
    for (uint64_t k = 5001; k <= 20000; k++)
        sampler_dcache_add(&c, k * 0x9e3779b97f4a7c15ull);
    assert_int_equal(sampler_dcache_bytes(&c), bytes); /* bounded */
    /* Adding a key twice does not count twice. */
    sampler_dcache_add(&c, 42);
    sampler_dcache_add(&c, 42);
    assert_true(sampler_dcache_has(&c, 42));
    assert_true(sampler_dcache_has(&c, 19999 * 0x9e3779b97f4a7c15ull));
    assert_false(sampler_dcache_has(&c, 19000 * 0x9e3779b97f4a7c15ull));
    /* A key of 0 works like any other. */
    sampler_dcache_add(&c, 0);
    assert_true(sampler_dcache_has(&c, 0));
    sampler_dcache_free(&c);

    sampler_dcache_init(&c, 0); /* disabled */
    assert_int_equal(sampler_dcache_add(&c, 7), 0);
    assert_false(sampler_dcache_has(&c, 7));
    sampler_dcache_free(&c);
}

static void test_strmap(void **state)
{
    (void)state;
    enum { N = 2000 };
    strmap m;
    sampler_strmap_init(&m);
    static bool present[N];
    memset(present, 0, sizeof(present));
    char key[32];
    for (int step = 0; step < 50000; step++) {
        int k = (int)(rnd() % N);
        int len = snprintf(key, sizeof(key), "svc-%d", k);
        uint64_t h = sampler_idt_hash(key, (size_t)len);
        void *v = sampler_strmap_get(&m, key, (size_t)len, h);
        if (present[k])
            assert_ptr_equal(v, (void *)(intptr_t)(k + 1));
        else
            assert_null(v);
        if (present[k] && rnd() % 2) {
            assert_ptr_equal(sampler_strmap_del(&m, key, (size_t)len, h),
                             (void *)(intptr_t)(k + 1));
            present[k] = false;
        } else if (!present[k]) {
            assert_int_equal(sampler_strmap_put(&m, key, (size_t)len, h, (void *)(intptr_t)(k + 1)),
                             0);
            present[k] = true;
        }
    }
    sampler_strmap_free(&m, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idtable),
        cmocka_unit_test(test_dcache),
        cmocka_unit_test(test_strmap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
