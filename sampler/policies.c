/* sampler/policies.c - the table of policy types, by their `type:` name. */
#include <string.h>

#include "sampler/internal.h"

static const policy_type *const types[] = {
    &sampler_policy_always_sample,
    &sampler_policy_latency,
    &sampler_policy_numeric_attribute,
    &sampler_policy_probabilistic,
    &sampler_policy_status_code,
    &sampler_policy_string_attribute,
    &sampler_policy_rate_limiting,
    &sampler_policy_bytes_limiting,
    &sampler_policy_span_count,
    &sampler_policy_trace_state,
    &sampler_policy_boolean_attribute,
    &sampler_policy_and,
    &sampler_policy_drop,
    &sampler_policy_composite,
};

const policy_type *sampler_policy_type_find(const char *name)
{
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(types[i]->name, name) == 0)
            return types[i];
    return NULL;
}
