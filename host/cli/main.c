/*
 * main.c - the `mha` command line: dispatches to a subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mha/mha.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mha COMMAND [OPTIONS]\n"
            "\n"
            "Multi-head attention (torch.nn.MultiheadAttention semantics) on plugin backends.\n"
            "\n"
            "commands:\n"
            "  plugins                 list loaded plugins and rejected candidates\n"
            "  devices [--plugin P]    list the devices of each plugin (or of P)\n"
            "  run OPTIONS             one forward on .npy files (mha run --help)\n"
            "  verify [OPTIONS]        compare a backend with another (mha verify --help)\n"
            "  bench [OPTIONS]         time forwards, one shape or a suite (mha bench --help)\n"
            "\n"
            "  --help, -h              this text\n"
            "  --version               versions of this program and of libmha\n"
            "\n"
            "Plugins are found in MHA_PLUGIN_PATH, then beside libmha; MHA_BACKEND picks the\n"
            "default backend. Exit status: 0 success, 1 error, 2 usage error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (cli_is_help(cmd) || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("mha %d.%d.%d (libmha %s)\n", MHA_VERSION_MAJOR, MHA_VERSION_MINOR,
               MHA_VERSION_PATCH, mha_version_string());
        return CLI_OK;
    }
    int rc;
    if (strcmp(cmd, "plugins") == 0)
        rc = cmd_plugins(argc - 1, argv + 1);
    else if (strcmp(cmd, "devices") == 0)
        rc = cmd_devices(argc - 1, argv + 1);
    else if (strcmp(cmd, "run") == 0)
        rc = cmd_run(argc - 1, argv + 1);
    else if (strcmp(cmd, "verify") == 0)
        rc = cmd_verify(argc - 1, argv + 1);
    else if (strcmp(cmd, "bench") == 0)
        rc = cmd_bench(argc - 1, argv + 1);
    else {
        cli_error("unknown command '%s' (try 'mha --help')", cmd);
        return CLI_USAGE;
    }
    /* Unload the plugins; BUSY here would be a leak in a subcommand. */
    mha_shutdown();
    if (fflush(stdout) != 0 && rc == CLI_OK) {
        cli_error("cannot write to standard output");
        rc = CLI_ERROR;
    }
    return rc;
}
