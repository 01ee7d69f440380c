/*
 * cmd_run.c - `mha run ...`: one forward on .npy inputs, outputs to .npy.
 * Prints nothing on success. On any error: one line on stderr, exit status 1
 * (2 for a wrong command line), and no output file left behind.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mha/mha.h"
#include "npy.h"
#include "output_file.h"
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
    output_file out_file, weights_file;
    memset(&out_file, 0, sizeof out_file);
    memset(&weights_file, 0, sizeof weights_file);
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
    if (opt.weights_out_path != NULL && output_files_same(opt.weights_out_path, opt.out_path)) {
        cli_error("run: --out '%s' and --weights-out '%s' name the same file", opt.out_path,
                  opt.weights_out_path);
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
    /* All or nothing: both outputs are written to temporary files first and
     * put in place only when both writes succeeded (output_file.h). */
    st = output_file_open(&out_file, opt.out_path, err, sizeof err);
    if (st == MHA_STATUS_OK)
        st = npy_write_file(&out_file, result.output.dtype, result.output.rank,
                            result.output.shape, result.output.data, err, sizeof err);
    if (st == MHA_STATUS_OK && opt.need_weights) {
        st = output_file_open(&weights_file, opt.weights_out_path, err, sizeof err);
        if (st == MHA_STATUS_OK)
            st = npy_write_file(&weights_file, result.weights.dtype, result.weights.rank,
                                result.weights.shape, result.weights.data, err, sizeof err);
    }
    if (st == MHA_STATUS_OK && opt.need_weights)
        st = output_file_commit(&weights_file, err, sizeof err);
    if (st == MHA_STATUS_OK)
        st = output_file_commit(&out_file, err, sizeof err);
    if (st != MHA_STATUS_OK) {
        cli_error("%s", err);
        goto done;
    }
    rc = CLI_OK;

done:
    output_file_discard(&out_file);
    output_file_discard(&weights_file);
    run_result_free(&result);
    mha_backend_close(backend);
    free(spec);
    run_options_free(&opt);
    return rc;
}
