/*
 * cmd_run.c - `mha run ...`: one forward on .npy inputs, outputs to .npy.
 * Prints nothing on success. On any error: one line on stderr, exit status 1
 * (2 for a wrong command line), and no output file left behind.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mha/mha.h"
#include "npy.h"
#include "run_job.h"

static void run_usage(void)
{
    printf("usage: mha run [--plugin NAME] [--device SPEC] --embed-dim E --num-heads H\n"
           "               [--kdim K] [--vdim V] [--batch-first] [--no-bias] [--add-bias-kv]\n"
           "               [--add-zero-attn] --weights DIR --query Q.npy --key K.npy\n"
           "               --value V.npy [--attn-mask M.npy] [--key-padding-mask P.npy]\n"
           "               [--causal [--causal-align top-left|bottom-right]]\n"
           "               [--need-weights [--no-average-weights] --weights-out W.npy]\n"
           "               [--dropout P --seed S] --out OUT.npy\n"
           "\n"
           "Runs torch.nn.MultiheadAttention.forward once. DIR holds one .npy per state_dict\n"
           "key (in_proj_weight.npy or q/k/v_proj_weight.npy, in_proj_bias.npy,\n"
           "out_proj.weight.npy, out_proj.bias.npy, bias_k.npy, bias_v.npy). Inputs are\n"
           "float32 ('<f4'); masks float32 or bool ('|b1'). --dropout P > 0 runs in training\n"
           "mode with the Philox stream keyed by --seed. The backend is --plugin[:--device],\n"
           "or the default one (MHA_BACKEND, else the best plugin with a device).\n");
}

int cmd_run(int argc, char **argv)
{
    for (int i = 1; i < argc; ++i)
        if (cli_is_help(argv[i])) {
            run_usage();
            return CLI_OK;
        }
    char err[2048] = "";
    run_options opt;
    if (run_options_parse(argc - 1, argv + 1, NULL, &opt, err, sizeof err) != MHA_STATUS_OK) {
        cli_error("run: %s", err);
        return CLI_USAGE;
    }
    int rc = CLI_USAGE;
    mha_backend *backend = NULL;
    run_result result;
    memset(&result, 0, sizeof result);
    char *spec = NULL;

    if (opt.need_weights && opt.weights_out_path == NULL) {
        cli_error("run: --need-weights needs --weights-out W.npy");
        goto done;
    }
    if (opt.device != NULL && opt.plugin == NULL) {
        cli_error("run: --device needs --plugin");
        goto done;
    }
    if (opt.weights_out_path != NULL && strcmp(opt.weights_out_path, opt.out_path) == 0) {
        cli_error("run: --out and --weights-out name the same file '%s'", opt.out_path);
        goto done;
    }
    rc = CLI_ERROR;
    spec = cli_backend_spec(opt.plugin, opt.device);
    if (opt.plugin != NULL && spec == NULL) {
        cli_error("out of memory");
        goto done;
    }
    mha_status st = mha_backend_open(spec, &backend);
    if (st != MHA_STATUS_OK) {
        cli_error("cannot open backend '%s': %s", spec ? spec : "(default)", cli_last_error());
        goto done;
    }
    st = run_job_execute(&opt, backend, &result, err, sizeof err);
    if (st != MHA_STATUS_OK) {
        cli_error("%s", err);
        goto done;
    }
    st = npy_write(opt.out_path, result.output.dtype, result.output.rank, result.output.shape,
                   result.output.data, err, sizeof err);
    if (st != MHA_STATUS_OK) {
        cli_error("%s", err);
        goto done;
    }
    if (opt.need_weights) {
        st = npy_write(opt.weights_out_path, result.weights.dtype, result.weights.rank,
                       result.weights.shape, result.weights.data, err, sizeof err);
        if (st != MHA_STATUS_OK) {
            unlink(opt.out_path); /* all or nothing */
            cli_error("%s", err);
            goto done;
        }
    }
    rc = CLI_OK;

done:
    run_result_free(&result);
    mha_backend_close(backend);
    free(spec);
    run_options_free(&opt);
    return rc;
}
