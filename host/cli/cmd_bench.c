/*
 * cmd_bench.c - `mha bench`: times attention forwards through the public API,
 * one shape or the standard suite, on one or several plugins; prints a table
 * and optionally writes JSON records (bench_report.h). The formula for
 * GFLOP/s is bench_flops() in host/common/bench_stats.h (docs/performance.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_case.h"
#include "bench_core.h"
#include "bench_report.h"
#include "cli.h"
#include "mha/mha.h"

#define MAX_PLUGINS 16

/* The standard suite of issue 4: self-attention unless L != S. */
static const bench_shape standard_suite[] = {
    {4, 128, 128, 512, 8, false},   {4, 512, 512, 512, 8, false},
    {4, 128, 128, 512, 8, true},    {4, 512, 512, 512, 8, true},
    {1, 2048, 2048, 512, 8, false}, {1, 4096, 4096, 512, 8, false},
    {8, 1, 2048, 512, 8, false},
};
#define STANDARD_SUITE_SIZE (sizeof standard_suite / sizeof standard_suite[0])

static void bench_usage(void)
{
    printf("usage: mha bench [--plugin NAME] [--device SPEC] [--batch N] [--tgt-len L]\n"
           "                 [--src-len S] [--embed-dim E] [--num-heads H] [--need-weights]\n"
           "                 [--warmup W] [--reps R] [--json FILE]\n"
           "       mha bench --suite standard [--plugin NAME ...] [--warmup W] [--reps R]\n"
           "                 [--json FILE]\n"
           "       mha bench --suite core [--plugin NAME ...] [--warmup W] [--reps R]\n"
           "\n"
           "Times mha_attention_forward (CLOCK_MONOTONIC around each call) on the backend\n"
           "--plugin[:--device] (default: MHA_BACKEND, else the best plugin with a device).\n"
           "One shape (defaults N=4, L=128, S=L, E=512, H=8): self-attention when L = S\n"
           "(query, key and value are one buffer), else cross attention (key and value one\n"
           "buffer); in_proj/out_proj with bias, no mask, inputs and weights uniform random\n"
           "from a fixed seed. --suite standard runs, on each --plugin given (several allowed):\n"
           "  N=4 L=S=128, N=4 L=S=512, the same two with --need-weights, N=1 L=S=2048,\n"
           "  N=1 L=S=4096 (all E=512 H=8 self-attention), and N=8 L=1 S=2048 E=512 H=8\n"
           "  (decoding-like cross attention).\n"
           "\n"
           "Per case, on a fresh backend: cold_first_ms is the first forward of a fresh\n"
           "attention object, warm_first_ms the first forward of a second object on the same\n"
           "backend; then W warm-up calls (default 1) and R timed calls (default: automatic,\n"
           "repeated until they took 1 s and at least 3 were made, at most 1000). Printed:\n"
           "median/min/max ms, GFLOP/s = FLOP / median, with\n"
           "  FLOP = 2NLE^2 (q) + 2NSE*kdim (k) + 2NSE*vdim (v) + 4NLSE (QK^T, PV) + 2NLE^2 (out)\n"
           "(a plugin that gets the same result with fewer products shows an effective rate),\n"
           "and, from the plugin's statistics when it keeps them (else n/a): peak device\n"
           "bytes, device allocations made by the timed calls, the median time of each stage\n"
           "and gemm_ms, the sum of the GEMM stages. --json FILE writes one record per case\n"
           "(a JSON array; fields in docs/performance.md). Progress goes to stderr once a\n"
           "run has lasted a few seconds.\n"
           "\n"
           "--suite core times mha_core_forward (the attention core, docs/core.md), float32\n"
           "and float16: prefill B=1 Hq=32 Hkv=8 D=128 L=S=2048 causal, decoding B=4 Hq=32\n"
           "Hkv=8 D=128 L=1 after 4096 cached rows (a host cache appended in place), and\n"
           "the same decoding without GQA (decode-mha: Hkv=32).\n"
           "Effective GFLOP/s counts 4*D flops per visible key of each query row; GB/s the\n"
           "K and V bytes read once. Exit status: 0 success, 1 error, 2 usage error.\n");
}

typedef struct bench_options {
    const char *plugins[MAX_PLUGINS];
    int plugin_count;
    const char *device;
    const char *suite;
    const char *json_path;
    bench_shape shape;
    bool shape_given; /* some shape option was given */
    bool src_len_given;
    bench_settings settings;
} bench_options;

/* Parses an integer option value; prints the usage error itself. */
static bool int_value(const char *opt, const char *v, long long min, long long max,
                      long long *out)
{
    if (cli_parse_int(v, min, max, out))
        return true;
    cli_error("bench: %s: '%s' is not an integer in %lld..%lld", opt, v, min, max);
    return false;
}

/* Returns CLI_OK, or CLI_USAGE after printing one line; *help set for --help. */
static int parse_options(int argc, char **argv, bench_options *o, bool *help)
{
    memset(o, 0, sizeof *o);
    bench_settings_init(&o->settings);
    o->shape = standard_suite[0];
    *help = false;
    for (int i = 1; i < argc; ++i) {
        const char *opt = argv[i];
        if (cli_is_help(opt)) {
            *help = true;
            return CLI_OK;
        }
        if (strcmp(opt, "--need-weights") == 0) {
            o->shape.need_weights = true;
            o->shape_given = true;
            continue;
        }
        static const char *const with_value[] = {
            "--plugin",    "--device",    "--suite",  "--json",  "--batch", "--tgt-len",
            "--src-len",   "--embed-dim", "--num-heads", "--warmup", "--reps",
        };
        bool known = false;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; ++k)
            known = known || strcmp(opt, with_value[k]) == 0;
        if (!known) {
            cli_error("bench: unknown option '%s'", opt);
            return CLI_USAGE;
        }
        if (i + 1 >= argc) {
            cli_error("bench: %s needs a value", opt);
            return CLI_USAGE;
        }
        const char *v = argv[++i];
        long long n = 0;
        if (strcmp(opt, "--plugin") == 0) {
            if (o->plugin_count >= MAX_PLUGINS) {
                cli_error("bench: more than %d --plugin options", MAX_PLUGINS);
                return CLI_USAGE;
            }
            o->plugins[o->plugin_count++] = v;
        } else if (strcmp(opt, "--device") == 0) {
            o->device = v;
        } else if (strcmp(opt, "--suite") == 0) {
            if (strcmp(v, "standard") != 0 && strcmp(v, "core") != 0) {
                cli_error("bench: --suite: unknown suite '%s' ('standard' or 'core')", v);
                return CLI_USAGE;
            }
            o->suite = v;
        } else if (strcmp(opt, "--json") == 0) {
            if (*v == '\0') {
                cli_error("bench: --json needs a file name");
                return CLI_USAGE;
            }
            o->json_path = v;
        } else if (strcmp(opt, "--warmup") == 0) {
            if (!int_value(opt, v, 0, 1000000, &n))
                return CLI_USAGE;
            o->settings.warmup = (int)n;
        } else if (strcmp(opt, "--reps") == 0) {
            if (!int_value(opt, v, 1, 1000000, &n))
                return CLI_USAGE;
            o->settings.reps = (int)n;
        } else {
            /* shape options */
            const long long max = strcmp(opt, "--embed-dim") == 0 ? 65536 : 1 << 24;
            if (!int_value(opt, v, 1, max, &n))
                return CLI_USAGE;
            o->shape_given = true;
            if (strcmp(opt, "--batch") == 0)
                o->shape.batch = n;
            else if (strcmp(opt, "--tgt-len") == 0)
                o->shape.tgt_len = n;
            else if (strcmp(opt, "--src-len") == 0) {
                o->shape.src_len = n;
                o->src_len_given = true;
            } else if (strcmp(opt, "--embed-dim") == 0)
                o->shape.embed_dim = n;
            else
                o->shape.num_heads = n;
        }
    }
    if (o->suite != NULL) {
        if (o->shape_given) {
            cli_error("bench: --suite takes no shape options (--batch, --tgt-len, --src-len, "
                      "--embed-dim, --num-heads, --need-weights)");
            return CLI_USAGE;
        }
        if (o->device != NULL && o->plugin_count != 1) {
            cli_error("bench: --device with --suite needs exactly one --plugin");
            return CLI_USAGE;
        }
        if (strcmp(o->suite, "core") == 0 && o->json_path != NULL) {
            cli_error("bench: --json is not written for --suite core yet");
            return CLI_USAGE;
        }
    } else {
        if (o->plugin_count > 1) {
            cli_error("bench: several --plugin options need --suite standard");
            return CLI_USAGE;
        }
        if (!o->src_len_given)
            o->shape.src_len = o->shape.tgt_len;
        if (o->shape.embed_dim % o->shape.num_heads != 0) {
            cli_error("bench: --embed-dim %lld is not a multiple of --num-heads %lld",
                      (long long)o->shape.embed_dim, (long long)o->shape.num_heads);
            return CLI_USAGE;
        }
    }
    if (o->device != NULL && o->plugin_count == 0) {
        cli_error("bench: --device needs --plugin");
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cmd_bench(int argc, char **argv)
{
    bench_options o;
    bool help;
    int rc = parse_options(argc, argv, &o, &help);
    if (rc != CLI_OK)
        return rc;
    if (!help && o.suite != NULL && strcmp(o.suite, "core") == 0)
        return bench_core_suite(o.plugins, o.plugin_count, o.device, o.settings.warmup,
                                o.settings.reps);
    if (help) {
        bench_usage();
        return CLI_OK;
    }

    const bench_shape *shapes = o.suite ? standard_suite : &o.shape;
    const size_t shape_count = o.suite ? STANDARD_SUITE_SIZE : 1;
    const int plugin_count = o.plugin_count > 0 ? o.plugin_count : 1;
    const size_t total = shape_count * (size_t)plugin_count;
    bench_result *results = calloc(total, sizeof *results);
    if (results == NULL) {
        cli_error("bench: out of memory");
        return CLI_ERROR;
    }
    size_t done_count = 0;
    rc = CLI_ERROR;
    char *spec = NULL;
    FILE *json = NULL;
    if (o.json_path != NULL) {
        json = fopen(o.json_path, "w");
        if (json == NULL) {
            cli_error("bench: cannot create '%s': %s", o.json_path, strerror(errno));
            goto done;
        }
    }

    bench_progress progress;
    bench_progress_init(&progress);
    bool header_printed = false; /* printed with the first row: nothing on stdout if open fails */
    for (int p = 0; p < plugin_count; ++p) {
        free(spec);
        spec = NULL;
        if (o.plugin_count > 0) {
            spec = cli_backend_spec(o.plugins[p], o.device);
            if (spec == NULL) {
                cli_error("bench: out of memory");
                goto done;
            }
        }
        for (size_t c = 0; c < shape_count; ++c) {
            char err[1024] = "";
            bench_result *r = &results[done_count];
            mha_status st = bench_run_case(spec, &shapes[c], &o.settings, &progress, r, err,
                                           sizeof err);
            if ((st == MHA_STATUS_OK || (st == MHA_STATUS_UNSUPPORTED && o.suite != NULL)) &&
                !header_printed) {
                bench_print_header(stdout);
                header_printed = true;
            }
            if (st == MHA_STATUS_UNSUPPORTED && o.suite != NULL) {
                char desc[128];
                bench_shape_describe(&shapes[c], desc, sizeof desc);
                const char *label = r->plugin[0] ? r->plugin : spec ? spec : "(default)";
                printf("%-10s %-34s skipped: %s\n", label, desc, err);
                fflush(stdout);
                continue;
            }
            if (st != MHA_STATUS_OK) {
                cli_error("bench: %s", err);
                goto done;
            }
            bench_print_result(stdout, r);
            fflush(stdout);
            done_count++;
        }
    }
    if (json != NULL) {
        int wrc = bench_write_json(json, results, done_count);
        FILE *f = json;
        json = NULL;
        if (fclose(f) != 0 || wrc != 0) {
            cli_error("bench: cannot write '%s'", o.json_path);
            remove(o.json_path);
            goto done;
        }
    }
    rc = CLI_OK;

done:
    if (json != NULL) {
        fclose(json);
        remove(o.json_path);
    }
    free(spec);
    free(results);
    return rc;
}
