/* forward_fixture.c - see forward_fixture.h. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mha/mha.h"
#include "forward_fixture.h"

int forward_group_setup(void **state)
{
    static fixture f;
    memset(&f, 0, sizeof f);
    size_t count = 0;
    if (mha_plugin_device_count("opencl", &count) == MHA_STATUS_OK && count > 0) {
        if (mha_backend_open("opencl", &f.ocl) != MHA_STATUS_OK) {
            fprintf(stderr, "opencl backend: %s\n", mha_last_error());
            return -1;
        }
    }
    if (mha_backend_open("reference", &f.ref) != MHA_STATUS_OK) {
        fprintf(stderr, "reference backend: %s\n", mha_last_error());
        return -1;
    }
    *state = &f;
    return 0;
}

int forward_group_teardown(void **state)
{
    fixture *f = *state;
    if (!f) /* group_setup failed and said why */
        return 0;
    mha_backend_close(f->ocl);
    mha_backend_close(f->ref);
    return 0;
}

void check_case(fixture *f, tk_case *c, uint32_t id)
{
    char what[512];
    tk_case_describe(c, what, sizeof what);
    float *out_o = calloc(c->out_count, sizeof(float));
    float *out_r = calloc(c->out_count, sizeof(float));
    float *w_o = calloc(c->weights_count + 1, sizeof(float));
    float *w_r = calloc(c->weights_count + 1, sizeof(float));
    mha_status so = tk_case_run(c, f->ocl, NULL, out_o, w_o, NULL);
    if (so != MHA_STATUS_OK)
        fail_msg("case %u (%s): opencl: %s: %s", id, what, mha_status_name(so), mha_last_error());
    mha_status sr = tk_case_run(c, f->ref, NULL, out_r, w_r, NULL);
    if (sr != MHA_STATUS_OK)
        fail_msg("case %u (%s): reference: %s: %s", id, what, mha_status_name(sr), mha_last_error());
    long bad = tk_first_bad(out_o, out_r, c->out_count, OCL_TOL);
    if (bad >= 0)
        fail_msg("case %u (%s): attn_output[%ld] opencl %.8g reference %.8g", id, what, bad,
                 (double)out_o[bad], (double)out_r[bad]);
    bad = tk_first_bad(w_o, w_r, c->weights_count, OCL_TOL);
    if (bad >= 0)
        fail_msg("case %u (%s): attn_weights[%ld] opencl %.8g reference %.8g", id, what, bad,
                 (double)w_o[bad], (double)w_r[bad]);
    free(out_o);
    free(out_r);
    free(w_o);
    free(w_r);
}

char *env_set(const char *name, const char *value)
{
    const char *old = getenv(name);
    char *saved = old ? strdup(old) : NULL;
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
    return saved;
}

void env_restore(const char *name, char *saved)
{
    if (saved)
        setenv(name, saved, 1);
    else
        unsetenv(name);
    free(saved);
}

bool has_stage(const mha_attention_stats *st, const char *name, bool gemm)
{
    for (uint32_t i = 0; i < st->stage_count; ++i)
        if (!strcmp(st->stages[i].name, name))
            return st->stages[i].is_gemm == gemm && st->stages[i].milliseconds >= 0.0;
    return false;
}
