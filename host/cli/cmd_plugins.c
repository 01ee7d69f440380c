/*
 * cmd_plugins.c - `mha plugins`: one line per loaded plugin, then one line per
 * rejected candidate ("skipped PATH: REASON").
 */
#include <stdio.h>

#include "cli.h"
#include "mha/mha.h"

int cmd_plugins(int argc, char **argv)
{
    if (argc > 1) {
        if (cli_is_help(argv[1])) {
            printf("usage: mha plugins\n"
                   "Lists each plugin: name, version, ABI major.minor, path; then each rejected\n"
                   "candidate as 'skipped PATH: REASON'.\n");
            return CLI_OK;
        }
        cli_error("plugins: unexpected argument '%s'", argv[1]);
        return CLI_USAGE;
    }
    size_t count = 0;
    mha_status st = mha_plugin_count(&count);
    if (st != MHA_STATUS_OK) {
        cli_error("cannot list plugins: %s", cli_last_error());
        return CLI_ERROR;
    }
    for (size_t i = 0; i < count; ++i) {
        mha_plugin_info info = {0};
        info.struct_size = sizeof info;
        st = mha_plugin_get_info(i, &info);
        if (st != MHA_STATUS_OK) {
            cli_error("cannot read plugin %zu: %s", i, cli_last_error());
            return CLI_ERROR;
        }
        printf("%-12s %-10s ABI %u.%u  %s\n", info.name ? info.name : "?",
               info.version ? info.version : "?", (unsigned)info.abi_major,
               (unsigned)info.abi_minor, info.path ? info.path : "?");
    }
    if (count == 0)
        printf("no plugins found (set MHA_PLUGIN_PATH?)\n");
    size_t failures = 0;
    if (mha_plugin_failure_count(&failures) == MHA_STATUS_OK) {
        for (size_t i = 0; i < failures; ++i) {
            const char *path = NULL, *reason = NULL;
            if (mha_plugin_failure(i, &path, &reason) == MHA_STATUS_OK)
                printf("skipped %s: %s\n", path ? path : "?", reason ? reason : "?");
        }
    }
    return CLI_OK;
}
