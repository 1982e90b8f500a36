/* sampler/policies.c - the table of policy types, by their `type:` name. */
#include <string.h>

#include "sampler/internal.h"

static const policy_type *const types[] = {
    &policy_always_sample, &policy_latency,           &policy_numeric_attribute,
    &policy_probabilistic, &policy_status_code,       &policy_string_attribute,
    &policy_rate_limiting, &policy_bytes_limiting,    &policy_span_count,
    &policy_trace_state,   &policy_boolean_attribute, &policy_and,
    &policy_drop,          &policy_composite,
};

const policy_type *policy_type_find(const char *name)
{
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(types[i]->name, name) == 0)
            return types[i];
    return NULL;
}
