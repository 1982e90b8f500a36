/* fuzz/config.c - fuzzes the configuration loader: the input as a YAML file
 * (common/yaml.c) applied to the one table of keys (collector/config.c), as
 * ottrd reads its config file, twice over the same config (as a SIGHUP reload
 * does), then freed. */
#include "collector/collector.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strdup(data, size);
    if (text == NULL)
        return 0;
    ottr_config c;
    FUZZ_CHECK(collector_config_init(&c) == 0);
    char err[512];
    if (collector_config_load_string(&c, text, err, sizeof(err)) != 0)
        FUZZ_CHECK(err[0] != '\0');
    if (collector_config_load_string(&c, text, err, sizeof(err)) != 0)
        FUZZ_CHECK(err[0] != '\0');
    collector_config_free(&c);

    /* The YAML tree alone: every node reachable and freed. */
    ottr_yaml_node *root = NULL;
    if (ottr_yaml_parse_string(text, size, &root, err, sizeof(err)) == 0) {
        FUZZ_CHECK(root != NULL);
        ottr_yaml_free(root);
    }
    free(text);
    return 0;
}
