/*
 * cli.h - pieces shared by the subcommands of the `mha` command line.
 *
 * Exit codes: CLI_OK (0) success, CLI_ERROR (1) the work failed, CLI_USAGE (2)
 * the command line is wrong. Errors are one line on stderr: "mha: <message>".
 */
#ifndef MHA_CLI_H
#define MHA_CLI_H

#include <stdbool.h>
#include <stdint.h>

enum { CLI_OK = 0, CLI_ERROR = 1, CLI_USAGE = 2 };

/* Subcommands: argv[0] is the subcommand's name. */
int cmd_plugins(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_attention(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Prints "mha: <message>" as one line on stderr (newlines become spaces). */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
void cli_error(const char *fmt, ...);

/* Strict number parsing: the whole word, no sign where none is allowed,
 * range-checked. Return false on any problem. */
bool cli_parse_int(const char *s, long long min, long long max, long long *out);
bool cli_parse_u64(const char *s, unsigned long long *out);
bool cli_parse_double(const char *s, double *out);

/* True if argv[i] is "-h" or "--help". */
bool cli_is_help(const char *arg);

/* "PLUGIN" or "PLUGIN:DEVICE" for mha_backend_open, malloc'd (free it); NULL
 * when plugin is NULL (the default backend) or when out of memory. */
char *cli_backend_spec(const char *plugin, const char *device);

/* Copies mha_last_error() into a static buffer (it may be replaced by the
 * next mha call). */
const char *cli_last_error(void);

#endif
