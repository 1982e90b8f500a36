/* tests/sampler/test_policy_alloc.c - the policy parser under allocation failure:
 * every allocation of parsing every policy type is failed in turn, and each
 * failure gives a clean "out of memory" error and leaks nothing (ASan checks the
 * leaks at exit). */
#include "helpers.h"
#include "tests/common/failmalloc.h"

static void test_every_allocation_fails_cleanly(void **state)
{
    (void)state;
    ottr_yaml_node *root = NULL;
    const ottr_yaml_node *p = h_policies(H_EVERY_POLICY, &root);
    unsigned long n = 1;
    for (;; n++) {
        char err[512] = "";
        failmalloc_arm(n);
        int rc = sampler_check_policies(p, err, sizeof(err));
        bool failed = failmalloc_failed();
        failmalloc_disarm();
        if (rc != 0) {
            assert_true(failed);
            if (strstr(err, "out of memory") == NULL)
                fail_msg("allocation %lu: error \"%s\" does not say out of memory", n, err);
        }
        if (!failed) {
            assert_int_equal(rc, 0);
            break;
        }
    }
    /* The walk covered the whole parse, not just its first steps. */
    assert_true(n > 40);
    ottr_yaml_free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocation_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
