/*
 * main.c - the `mha` command line: dispatches to a subcommand.
 */
#define _GNU_SOURCE /* secure_getenv */
#include <stdio.h>
#include <stdlib.h>
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
            "  attention OPTIONS       one call of the attention core (ONNX Attention) on .npy\n"
            "                          files (mha attention --help)\n"
            "  verify [OPTIONS]        compare a backend with another (mha verify --help)\n"
            "  bench [OPTIONS]         time forwards, one shape or a suite (mha bench --help)\n"
            "\n"
            "  --help, -h              this text\n"
            "  --version               versions of this program and of libmha\n"
            "  --verbose               (anywhere on the line) also print the library's debug\n"
            "                          messages: plugin files tried, cache hits, ...\n"
            "\n"
            "Plugins are found in MHA_PLUGIN_PATH, then beside libmha; MHA_BACKEND picks the\n"
            "default backend. Long steps (building a device's kernels on a first run, and\n"
            "where they are cached) are reported on stderr as 'mha: ...' lines; MHA_TRACE=1\n"
            "is --verbose. Exit status: 0 success, 1 error, 2 usage error.\n");
}

/* The library's messages: INFO and WARNING always (a first run that builds
 * kernels for a while says so), DEBUG with --verbose or MHA_TRACE. */
static void print_log(mha_log_level level, const char *message, void *user)
{
    const bool verbose = *(const bool *)user;
    if (level < MHA_LOG_INFO && !verbose)
        return;
    if (strncmp(message, "mha: ", 5) == 0) /* libmha's own messages name it already */
        message += 5;
    fprintf(stderr, "mha: %s%s\n", level == MHA_LOG_WARNING ? "warning: " : "", message);
}

/* Removes every "--verbose" from argv; returns whether there was one. */
static bool take_verbose(int *argc, char **argv)
{
    bool found = false;
    int kept = 0;
    for (int i = 0; i < *argc; ++i) {
        if (strcmp(argv[i], "--verbose") == 0)
            found = true;
        else
            argv[kept++] = argv[i];
    }
    argv[kept] = NULL;
    *argc = kept;
    return found;
}

int main(int argc, char **argv)
{
    static bool verbose;
    verbose = take_verbose(&argc, argv);
    const char *trace = secure_getenv("MHA_TRACE");
    verbose |= trace && *trace && strcmp(trace, "0") != 0;
    mha_set_log_level_callback(print_log, &verbose);
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
    else if (strcmp(cmd, "attention") == 0)
        rc = cmd_attention(argc - 1, argv + 1);
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
