/* tests/sampler/test_threads.c - the sampler with its own ticker and writer
 * threads and the real clock, fed by concurrent submitters while policies are
 * reloaded and metrics rendered: every trace ends up decided and stored. */
#include <pthread.h>
#include <time.h>

#include "helpers.h"

#define THREADS 2
#define TRACES  400

typedef struct feeder {
    sampler *s;
    int id;
    int busy;
} feeder;

static void *feed(void *arg)
{
    feeder *fd = arg;
    ottr_arena a;
    ottr_arena_init(&a, 1 << 16, 0);
    for (int i = 0; i < TRACES; i++) {
        uint64_t t = (uint64_t)fd->id * 100000 + (uint64_t)i + 1;
        /* Children first, root last, in separate requests. */
        tspan parts[3] = {
            {.service = "api", .trace = t, .span = 2, .parent = 1, .kind = SPAN_KIND_CLIENT},
            {.service = "db",
             .trace = t,
             .span = 3,
             .parent = 2,
             .kind = SPAN_KIND_SERVER,
             .status = (i % 2) ? STATUS_ERROR : 0},
            {.service = "api", .trace = t, .span = 1, .kind = SPAN_KIND_SERVER},
        };
        for (int k = 0; k < 3; k++) {
            ottr_arena_reset(&a);
            otlp_batch b;
            h_batch(&a, &parts[k], 1, &b);
            ottr_status st;
            while ((st = sampler_submit(fd->s, &b)) == OTTR_ERR_BUSY) {
                fd->busy++;
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
            }
            assert_int_equal(st, OTTR_OK);
        }
    }
    ottr_arena_free(&a);
    return NULL;
}

static void *reloader(void *arg)
{
    sampler *s = arg;
    const char *texts[2] = {
        "- {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}\n"
        "- {name: all, type: always_sample}\n",
        "- {name: all, type: always_sample}\n"
        "- {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}\n"
        "- {name: api, type: string_attribute, string_attribute: {key: service.name, values: "
        "[api]}}\n",
    };
    for (int i = 0; i < 20; i++) {
        ottr_yaml_node *root = NULL;
        const ottr_yaml_node *p = h_policies(texts[i % 2], &root);
        char err[256];
        assert_int_equal(sampler_reload(s, p, err, sizeof(err)), 0);
        ottr_yaml_free(root);
        ottr_buf b = {0};
        ottr_metrics_render(&b);
        ottr_buf_free(&b);
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    fx f;
    memset(&f, 0, sizeof(f));
    snprintf(f.dir, sizeof(f.dir), "/tmp/ottr-sampler-test-XXXXXX");
    assert_non_null(mkdtemp(f.dir));
    store_options so = {.path = f.dir,
                        .sync = STORE_SYNC_NONE,
                        .max_trace_bytes = 50ull << 20,
                        .block_cache_bytes = 8u << 20,
                        .memtable_bytes = 64ull << 20};
    char err[512];
    if (store_open(&so, &f.st, err, sizeof(err)) != OTTR_OK)
        fail_msg("%s", err);
    ottr_arena_init(&f.arena, 4096, 0);
    sampler_options o = {
        .decision_wait_ns = SEC(2),
        .decision_wait_after_root_ns = MS(100),
        .max_buffered_traces = 300, /* small: the feeders meet back-pressure */
        .shards = 4,
    };
    h_limits(&o);
    o.policies = h_policies("- {name: all, type: always_sample}\n", &f.yaml);
    assert_int_equal(sampler_create(&o, f.st, &f.s, err, sizeof(err)), OTTR_OK);
    assert_int_equal(sampler_replay(f.s), OTTR_OK);
    assert_int_equal(sampler_start(f.s), OTTR_OK);

    pthread_t th[THREADS], rl;
    feeder fd[THREADS];
    for (int i = 0; i < THREADS; i++) {
        fd[i] = (feeder){.s = f.s, .id = i + 1};
        pthread_create(&th[i], NULL, feed, &fd[i]);
    }
    pthread_create(&rl, NULL, reloader, f.s);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_join(rl, NULL);

    /* Wait (with a deadline) for every trace to be decided and written. */
    uint64_t deadline = ottr_mono_ns() + SEC(20);
    sampler_stats st;
    for (;;) {
        sampler_get_stats(f.s, &st);
        if (st.kept == THREADS * TRACES && sampler_writer_pending(&f.s->w) == 0)
            break;
        if (ottr_mono_ns() > deadline)
            fail_msg("only %llu of %d traces kept", (unsigned long long)st.kept, THREADS * TRACES);
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(st.traces_buffered, 0);
    assert_int_equal(st.dropped, 0);
    sampler_stop(f.s);
    for (int i = 0; i < THREADS; i++) {
        for (int k = 0; k < TRACES; k++) {
            uint64_t t = (uint64_t)(i + 1) * 100000 + (uint64_t)k + 1;
            uint32_t n = fx_kept_spans(&f, t);
            if (n != 3)
                fail_msg("trace %llu has %u spans stored", (unsigned long long)t, n);
        }
    }
    print_message("back-pressure answers: %d, %d\n", fd[0].busy, fd[1].busy);
    fx_close(&f);
}

int main(void)
{
    ottr_log_set_level(OTTR_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ottr_metrics_shutdown();
    return rc;
}
