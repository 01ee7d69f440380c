/*
 * cmd_devices.c - `mha devices [--plugin NAME]`: the devices of each plugin.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mha/mha.h"

static int list_devices(const char *plugin)
{
    size_t count = 0;
    mha_status st = mha_plugin_device_count(plugin, &count);
    if (st != MHA_STATUS_OK) {
        cli_error("cannot list the devices of plugin '%s': %s", plugin, cli_last_error());
        return CLI_ERROR;
    }
    printf("%s: %zu device%s\n", plugin, count, count == 1 ? "" : "s");
    for (size_t i = 0; i < count; ++i) {
        mha_device_info d;
        memset(&d, 0, sizeof d);
        d.struct_size = sizeof d;
        st = mha_plugin_device_info(plugin, i, &d);
        if (st != MHA_STATUS_OK) {
            cli_error("cannot read device %zu of plugin '%s': %s", i, plugin, cli_last_error());
            return CLI_ERROR;
        }
        char mem[32];
        if (d.memory_bytes == 0)
            snprintf(mem, sizeof mem, "? MiB");
        else
            snprintf(mem, sizeof mem, "%llu MiB", (unsigned long long)(d.memory_bytes >> 20));
        char cu[32];
        if (d.compute_units == 0)
            snprintf(cu, sizeof cu, "?");
        else
            snprintf(cu, sizeof cu, "%u", (unsigned)d.compute_units);
        /* Fixed-size strings from the plugin: print at most their size. */
        printf("  %s:%.*s  kind=%.*s  name=\"%.*s\"  vendor=\"%.*s\"  driver=\"%.*s\"  memory=%s  "
               "compute_units=%s\n",
               plugin, (int)sizeof d.spec, d.spec, (int)sizeof d.kind, d.kind, (int)sizeof d.name,
               d.name, (int)sizeof d.vendor, d.vendor, (int)sizeof d.driver, d.driver, mem, cu);
    }
    return CLI_OK;
}

int cmd_devices(int argc, char **argv)
{
    const char *only = NULL;
    for (int i = 1; i < argc; ++i) {
        if (cli_is_help(argv[i])) {
            printf("usage: mha devices [--plugin NAME]\n"
                   "Lists the devices of each plugin (or of NAME): spec (pass it to --plugin/"
                   "--device\nas PLUGIN:SPEC), kind, name, vendor, driver, memory in MiB and "
                   "compute units.\n");
            return CLI_OK;
        }
        if (strcmp(argv[i], "--plugin") == 0) {
            if (i + 1 >= argc || only != NULL) {
                cli_error("devices: %s", only ? "--plugin is given more than once"
                                                : "--plugin needs a value");
                return CLI_USAGE;
            }
            only = argv[++i];
        } else {
            cli_error("devices: unexpected argument '%s'", argv[i]);
            return CLI_USAGE;
        }
    }
    if (only != NULL)
        return list_devices(only);
    size_t count = 0;
    if (mha_plugin_count(&count) != MHA_STATUS_OK) {
        cli_error("cannot list plugins: %s", cli_last_error());
        return CLI_ERROR;
    }
    if (count == 0)
        printf("no plugins found (set MHA_PLUGIN_PATH?)\n");
    int rc = CLI_OK;
    for (size_t i = 0; i < count; ++i) {
        mha_plugin_info info = {0};
        info.struct_size = sizeof info;
        if (mha_plugin_get_info(i, &info) != MHA_STATUS_OK || info.name == NULL) {
            cli_error("cannot read plugin %zu: %s", i, cli_last_error());
            return CLI_ERROR;
        }
        /* One broken plugin does not hide the others' devices. */
        if (list_devices(info.name) != CLI_OK)
            rc = CLI_ERROR;
    }
    return rc;
}
