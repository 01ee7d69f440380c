/*
 * cmd_verify.c - `mha verify`: compares one backend with another (by default
 * the reference plugin) through the public API only: one timed representative
 * forward, then N random small configurations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mha/mha.h"
#include "testkit_compare.h"
#include "testkit_random.h"
#include "verify_problem.h"

#define DEFAULT_TOLERANCE 1e-4

static void verify_usage(void)
{
    printf("usage: mha verify [--plugin NAME] [--device SPEC] [--against NAME] [--cases N]\n"
           "                  [--seed S] [--tolerance T]\n"
           "\n"
           "Compares the backend --plugin[:--device] (default: MHA_BACKEND, else the best\n"
           "plugin with a device) with the backend --against (default: reference).\n"
           "First one representative forward (N=2, L=S=128, E=256, H=8, self-attention with a\n"
           "bool key_padding_mask, causal) is timed on both (median of 5 runs after 1\n"
           "warm-up) and its max absolute and relative errors are printed; then --cases\n"
           "(default 20) random small configurations drawn from --seed (default 1): odd sizes,\n"
           "kdim/vdim, batch_first and unbatched, every mask kind, causal both ways, no bias,\n"
           "bias_kv, zero_attn, attention weights, dropout in training.\n"
           "\n"
           "An element a of the backend passes against b of --against when\n"
           "  |a - b| <= T + T * |b|      (T = --tolerance, default 1e-4)\n"
           "NaN must meet NaN, infinities must be equal. A configuration that either backend\n"
           "reports as unsupported is skipped. The relative error printed is max |a-b|/|b|\n"
           "over b != 0. Exit status: 0 all pass, 1 an error or a case out of tolerance,\n"
           "2 usage error.\n");
}

static void backend_label(mha_backend *b, char *buf, size_t size)
{
    mha_device_info d;
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    const char *name = mha_backend_plugin_name(b);
    if (mha_backend_device_info(b, &d) == MHA_STATUS_OK)
        snprintf(buf, size, "%s (%.*s)", name ? name : "?", (int)sizeof d.name, d.name);
    else
        snprintf(buf, size, "%s", name ? name : "?");
}

typedef struct verify_ctx {
    mha_backend *test, *ref;
    double tol;
    int failed, skipped, passed;
} verify_ctx;

/* Runs one problem on both backends and compares; prints one line after `prefix`. */
static void check_problem(verify_ctx *c, const tk_case *p, const char *prefix, int warmup,
                          int repeats, bool timing)
{
    char msg[1024] = "";
    vresult a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    char la[256], lb[256];
    backend_label(c->test, la, sizeof la);
    backend_label(c->ref, lb, sizeof lb);
    mha_status st = vproblem_run(p, c->test, warmup, repeats, &a, msg, sizeof msg);
    const char *who = la;
    if (st == MHA_STATUS_OK) {
        st = vproblem_run(p, c->ref, warmup, repeats, &b, msg, sizeof msg);
        who = lb;
    }
    if (st == MHA_STATUS_UNSUPPORTED) {
        printf("%sskipped: %s does not support it: %s\n", prefix, who, msg);
        c->skipped++;
        goto done;
    }
    if (st != MHA_STATUS_OK) {
        printf("%sERROR on %s: %s (%s)\n", prefix, who, msg, mha_status_name(st));
        c->failed++;
        goto done;
    }
    if (a.output_count != b.output_count || a.weights_count != b.weights_count) {
        printf("%sFAIL: output sizes differ (%zu/%zu vs %zu/%zu)\n", prefix, a.output_count,
               a.weights_count, b.output_count, b.weights_count);
        c->failed++;
        goto done;
    }
    const tk_tolerance tol = {c->tol, c->tol};
    tk_diff diff;
    tk_diff_init(&diff);
    tk_compare(a.output, b.output, a.output_count, tol, &diff);
    if (a.weights != NULL && b.weights != NULL)
        tk_compare(a.weights, b.weights, a.weights_count, tol, &diff);
    const size_t bad = diff.bad;
    const double max_abs = diff.max_abs, max_rel = diff.max_rel;
    if (timing) {
        printf("  %-40s %10.3f ms (median of %d)\n", la, a.median_ms, repeats);
        printf("  %-40s %10.3f ms (median of %d)\n", lb, b.median_ms, repeats);
    }
    printf("%smax abs err %.3g, max rel err %.3g: %s", prefix, max_abs, max_rel,
           bad ? "FAIL" : "ok");
    if (bad)
        printf(" (%zu elements out of tolerance)", bad);
    printf("\n");
    if (bad)
        c->failed++;
    else
        c->passed++;
done:
    vresult_free(&a);
    vresult_free(&b);
}

static void random_spec(tk_rng *r, int index, vproblem_spec *s)
{
    memset(s, 0, sizeof *s);
    s->batch = tk_range(r, 0, 3) == 0 ? 0 : tk_range(r, 1, 3);
    s->batch_first = s->batch > 0 && tk_range(r, 0, 1);
    s->L = tk_range(r, 1, 13);
    s->S = tk_range(r, 1, 13);
    s->H = tk_range(r, 1, 4);
    s->E = s->H * tk_range(r, 1, 7);
    int kv = tk_range(r, 0, 5);
    if (kv == 0)
        s->kdim = tk_range(r, 1, 11);
    else if (kv == 1)
        s->vdim = tk_range(r, 1, 11);
    else if (kv == 2) {
        s->kdim = tk_range(r, 1, 11);
        s->vdim = tk_range(r, 1, 11);
    }
    s->bias = tk_range(r, 0, 3) != 0;
    s->add_bias_kv = tk_range(r, 0, 3) == 0;
    s->add_zero_attn = tk_range(r, 0, 3) == 0;
    s->self_attention = s->L == s->S && s->kdim == 0 && s->vdim == 0 && tk_range(r, 0, 1);
    /* Every mask kind in turn, so that 9 cases cover them all. */
    s->mask = (vmask_kind)(index % VMASK_KIND_COUNT);
    s->causal = (mha_causal)tk_range(r, 0, 2);
    s->need_weights = tk_range(r, 0, 1);
    s->average_weights = tk_range(r, 0, 1);
    if (tk_range(r, 0, 3) == 0) {
        static const float ps[] = {0.1f, 0.25f, 0.5f};
        s->dropout = ps[tk_range(r, 0, 2)];
        s->seed = ((uint64_t)tk_next(r) << 32) | tk_next(r);
    }
}

int cmd_verify(int argc, char **argv)
{
    const char *plugin = NULL, *device = NULL, *against = NULL;
    long long cases = 20;
    unsigned long long seed = 1;
    double tol = DEFAULT_TOLERANCE;
    for (int i = 1; i < argc; ++i) {
        const char *o = argv[i];
        if (cli_is_help(o)) {
            verify_usage();
            return CLI_OK;
        }
        bool known = strcmp(o, "--plugin") == 0 || strcmp(o, "--device") == 0 ||
                     strcmp(o, "--against") == 0 || strcmp(o, "--cases") == 0 ||
                     strcmp(o, "--seed") == 0 || strcmp(o, "--tolerance") == 0;
        if (!known) {
            cli_error("verify: unknown option '%s'", o);
            return CLI_USAGE;
        }
        if (i + 1 >= argc) {
            cli_error("verify: %s needs a value", o);
            return CLI_USAGE;
        }
        const char *v = argv[++i];
        if (strcmp(o, "--plugin") == 0)
            plugin = v;
        else if (strcmp(o, "--device") == 0)
            device = v;
        else if (strcmp(o, "--against") == 0)
            against = v;
        else if (strcmp(o, "--cases") == 0) {
            if (!cli_parse_int(v, 0, 1000000, &cases)) {
                cli_error("verify: --cases: '%s' is not an integer in 0..1000000", v);
                return CLI_USAGE;
            }
        } else if (strcmp(o, "--seed") == 0) {
            if (!cli_parse_u64(v, &seed)) {
                cli_error("verify: --seed: '%s' is not an unsigned 64-bit integer", v);
                return CLI_USAGE;
            }
        } else if (!cli_parse_double(v, &tol) || tol < 0.0) {
            cli_error("verify: --tolerance: '%s' is not a non-negative number", v);
            return CLI_USAGE;
        }
    }
    if (device != NULL && plugin == NULL) {
        cli_error("verify: --device needs --plugin");
        return CLI_USAGE;
    }

    int rc = CLI_ERROR;
    verify_ctx c;
    memset(&c, 0, sizeof c);
    c.tol = tol;
    char *spec = cli_backend_spec(plugin, device);
    if (plugin != NULL && spec == NULL) {
        cli_error("out of memory");
        return CLI_ERROR;
    }
    if (mha_backend_open(spec, &c.test) != MHA_STATUS_OK) {
        cli_error("verify: cannot open backend '%s': %s", spec ? spec : "(default)",
                  cli_last_error());
        goto done;
    }
    const char *ref_spec = against ? against : "reference";
    if (mha_backend_open(ref_spec, &c.ref) != MHA_STATUS_OK) {
        cli_error("verify: cannot open backend '%s': %s", ref_spec, cli_last_error());
        goto done;
    }
    char la[256], lb[256];
    backend_label(c.test, la, sizeof la);
    backend_label(c.ref, lb, sizeof lb);
    printf("verify: %s against %s, tolerance |a-b| <= %g + %g*|b|, seed %llu\n", la, lb, tol,
           tol, seed);

    tk_rng r = tk_rng_make((uint32_t)(seed ^ (seed >> 32)), 0);
    tk_case p;
    vproblem_spec s;
    memset(&s, 0, sizeof s);
    s.batch = 2;
    s.L = s.S = 128;
    s.E = 256;
    s.H = 8;
    s.bias = true;
    s.self_attention = true;
    s.kpm_tail = 16;
    s.causal = MHA_CAUSAL_TOP_LEFT;
    s.average_weights = true;
    if (!vproblem_make(&p, &s, tk_next(&r))) {
        cli_error("verify: out of memory");
        goto done;
    }
    printf("representative: N=2 L=S=128 E=256 H=8 self-attention, bool key_padding_mask, causal\n");
    fflush(stdout);
    check_problem(&c, &p, "representative: ", 1, 5, true);
    tk_case_free(&p);

    for (long long i = 0; i < cases; ++i) {
        random_spec(&r, (int)i, &s);
        char desc[512], prefix[600];
        vproblem_describe(&s, desc, sizeof desc);
        snprintf(prefix, sizeof prefix, "case %lld: %s: ", i + 1, desc);
        if (!vproblem_make(&p, &s, tk_next(&r))) {
            cli_error("verify: out of memory");
            goto done;
        }
        check_problem(&c, &p, prefix, 0, 1, false);
        tk_case_free(&p);
        fflush(stdout);
    }
    printf("verify: %d passed, %d failed, %d skipped\n", c.passed, c.failed, c.skipped);
    if (c.failed > 0)
        cli_error("verify: %d of %lld checks failed", c.failed, cases + 1);
    else
        rc = CLI_OK;

done:
    mha_backend_close(c.ref);
    mha_backend_close(c.test);
    free(spec);
    return rc;
}
