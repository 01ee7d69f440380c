/*
 * test_tuning.c - CLBlast tuning files (MHA_OPENCL_TUNING_FILE, see
 * plugins/opencl/tuning.c): a valid file for this device is applied and the
 * results still match the reference; a file for another device is skipped; a
 * missing, malformed or CLBlast-refused file named explicitly fails context
 * creation with IO_ERROR, FORMAT_ERROR or INVALID_VALUE; "*" matches any
 * device; a CPU without a file of its own gets the shipped generic CPU file;
 * a file whose kernels need larger work-groups or more local memory than the
 * device has (as MHA_OPENCL_LIMITS lowers PoCL's) is refused at load
 * (UNSUPPORTED), or traced and not applied when it is the cache directory's.
 * The plugin's own "kernel mha_flash" line sets the flash kernels' tiles
 * (the launch changes: split-K's combine kernel runs) below MHA_OPENCL_FLASH;
 * a bad one is refused, named.
 * Its own binary: the overrides last for the process.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mha/mha.h"
#include "faults.h" /* plugins/opencl: the test hook, counts the kernels enqueued */
#include "ocl_test.h"

static char g_name[512], g_driver[512], g_kind[16];
static char g_path[256];

static int setup(void **state)
{
    (void)state;
    size_t count = 0;
    mha_device_info info = {.struct_size = sizeof info};
    if (mha_plugin_device_count("opencl", &count) != MHA_STATUS_OK || count == 0)
        return 0;
    if (mha_plugin_device_info("opencl", 0, &info) != MHA_STATUS_OK)
        return -1;
    snprintf(g_name, sizeof g_name, "%s", info.name);
    snprintf(g_driver, sizeof g_driver, "%s", info.driver);
    snprintf(g_kind, sizeof g_kind, "%s", info.kind);
    snprintf(g_path, sizeof g_path, "test_tuning_%ld.txt", (long)getpid());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    remove(g_path);
    unsetenv("MHA_OPENCL_TUNING_FILE");
    unsetenv("MHA_OPENCL_LIMITS");
    return 0;
}

#define NEED_DEVICE()                                          \
    do {                                                       \
        if (g_name[0] == '\0') {                               \
            print_message("no OpenCL device: skipped\n");      \
            skip();                                            \
        }                                                      \
    } while (0)

static void write_file(const char *device, const char *driver, const char *body)
{
    FILE *f = fopen(g_path, "w");
    assert_non_null(f);
    fprintf(f, "# test\ndevice %s\ndriver %s\n%s", device, driver, body);
    fclose(f);
    setenv("MHA_OPENCL_TUNING_FILE", g_path, 1);
}

static mha_status open_opencl(mha_backend **b)
{
    *b = NULL;
    return mha_backend_open("opencl", b);
}

/* A tuned context (Xgemm with 32x32 tiles, every GEMM indirect) matches the reference. */
static void test_applied(void **state)
{
    (void)state;
    NEED_DEVICE();
    write_file(g_name, g_driver,
               "kernel Xgemm GEMMK=0 KREG=1 KWG=16 KWI=2 MDIMA=8 MDIMC=8 MWG=32 NDIMB=8 "
               "NDIMC=8 NWG=32 SA=0 SB=0 STRM=0 STRN=0 VWM=2 VWN=2\n"
               "kernel GemmRoutine XGEMM_MIN_INDIRECT_SIZE=1\n");
    mha_backend *ocl = NULL, *ref = NULL;
    assert_int_equal(open_opencl(&ocl), MHA_STATUS_OK);
    assert_int_equal(mha_backend_open("reference", &ref), MHA_STATUS_OK);
    for (uint32_t id = 1; id <= 6; ++id) {
        tk_case c;
        tk_case_random(&c, 7000u + id);
        float *o = calloc(c.out_count, sizeof(float)), *r = calloc(c.out_count, sizeof(float));
        float *wo = calloc(c.weights_count + 1, sizeof(float));
        float *wr = calloc(c.weights_count + 1, sizeof(float));
        assert_int_equal(tk_case_run(&c, ocl, NULL, o, wo, NULL), MHA_STATUS_OK);
        assert_int_equal(tk_case_run(&c, ref, NULL, r, wr, NULL), MHA_STATUS_OK);
        assert_true(tk_first_bad(o, r, c.out_count, OCL_TOL) < 0);
        assert_true(tk_first_bad(wo, wr, c.weights_count, OCL_TOL) < 0);
        free(o), free(r), free(wo), free(wr);
        tk_case_free(&c);
    }
    mha_backend_close(ocl);
    mha_backend_close(ref);
}

static void expect_failure(mha_status want, const char *needle)
{
    mha_backend *b = NULL;
    assert_int_equal(open_opencl(&b), want);
    assert_null(b);
    if (!strstr(mha_last_error(), needle))
        fail_msg("message lacks \"%s\": %s", needle, mha_last_error());
}

/* Kernels one flash forward enqueues on a fresh backend (the fault hook's
 * clEnqueueNDRangeKernel points), its output checked against `expect`. */
static uint64_t flash_enqueues(tk_case *c, const float *expect)
{
    mha_opencl_faults faults;
    memset(&faults, 0, sizeof faults);
    faults.only = "clEnqueueNDRangeKernel";
    mha_opencl_fault_options o = {{sizeof o, MHA_OPENCL_EXT_FAULTS, NULL}, &faults};
    mha_backend *b = NULL;
    if (mha_backend_open_with("opencl", &o.header, &b) != MHA_STATUS_OK)
        fail_msg("open: %s", mha_last_error());
    mha_attention *att = NULL;
    assert_int_equal(tk_case_attention(c, b, &att), MHA_STATUS_OK);
    float *out = calloc(c->out_count, sizeof(float));
    faults.points = 0;
    if (tk_case_run(c, b, att, out, NULL, NULL) != MHA_STATUS_OK)
        fail_msg("forward: %s", mha_last_error());
    const uint64_t enqueues = faults.points;
    assert_true(tk_first_bad(out, expect, c->out_count, OCL_TOL) < 0);
    free(out);
    mha_attention_destroy(att);
    mha_backend_close(b);
    return enqueues;
}

/* "kernel mha_flash ..." sets the flash tiles: SPLITS=3 adds the combine
 * kernel's launch to a forward that the device's own plan does not split,
 * and the results still match; MHA_OPENCL_FLASH wins over the file; a bad
 * value or an unknown parameter is INVALID_VALUE naming it. */
static void test_flash_line(void **state)
{
    (void)state;
    NEED_DEVICE();
    setenv("MHA_OPENCL_ATTENTION", "flash", 1);
    tk_case c;
    memset(&c, 0, sizeof c);
    c.E = 16, c.H = 2, c.kdim = 16, c.vdim = 16, c.N = 4, c.batched = true, c.L = 40, c.S = 64;
    c.bias = true;
    tk_case_fill(&c, 99);
    float *expect = calloc(c.out_count, sizeof(float));
    mha_backend *ref = NULL;
    assert_int_equal(mha_backend_open("reference", &ref), MHA_STATUS_OK);
    assert_int_equal(tk_case_run(&c, ref, NULL, expect, NULL, NULL), MHA_STATUS_OK);
    mha_backend_close(ref);

    write_file(g_name, g_driver, "kernel mha_flash BLOCK_K=16\n");
    const uint64_t unsplit = flash_enqueues(&c, expect);
    write_file(g_name, g_driver, "kernel mha_flash BLOCK_Q=16 BLOCK_K=16 SPLITS=3\n");
    const uint64_t split = flash_enqueues(&c, expect);
    assert_int_equal(split, unsplit + 1); /* mha_flash_combine */
    setenv("MHA_OPENCL_FLASH", "splits=1", 1);
    assert_int_equal(flash_enqueues(&c, expect), unsplit);
    unsetenv("MHA_OPENCL_FLASH");

    static const char *const bad[][2] = {
        {"kernel mha_flash BLOCK_Q=3\n", "BLOCK_Q"},
        {"kernel mha_flash BLOCK_K=17\n", "BLOCK_K"},
        {"kernel mha_flash SPLITS=0\n", "SPLITS"},
        {"kernel mha_flash WGD=8\n", "expected BLOCK_Q, BLOCK_K or SPLITS"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        write_file(g_name, g_driver, bad[i][0]);
        expect_failure(MHA_STATUS_INVALID_VALUE, bad[i][1]);
        if (!strstr(mha_last_error(), "(line 4)"))
            fail_msg("%s: message does not name the line: %s", bad[i][0], mha_last_error());
    }
    unsetenv("MHA_OPENCL_TUNING_FILE");
    unsetenv("MHA_OPENCL_ATTENTION");
    free(expect);
    tk_case_free(&c);
}

static void test_other_device_skipped(void **state)
{
    (void)state;
    NEED_DEVICE();
    write_file("some other device", g_driver, "kernel Xgemm NOT=1\n");
    mha_backend *b = NULL;
    assert_int_equal(open_opencl(&b), MHA_STATUS_OK);
    mha_backend_close(b);
}

static void test_off(void **state)
{
    (void)state;
    NEED_DEVICE();
    setenv("MHA_OPENCL_TUNING_FILE", "off", 1);
    mha_backend *b = NULL;
    assert_int_equal(open_opencl(&b), MHA_STATUS_OK);
    mha_backend_close(b);
}

static void test_bad_files(void **state)
{
    (void)state;
    NEED_DEVICE();
    setenv("MHA_OPENCL_TUNING_FILE", "/nonexistent/tuning.txt", 1);
    expect_failure(MHA_STATUS_IO_ERROR, "/nonexistent/tuning.txt");
    write_file(g_name, g_driver, "kernel Xgemm KWG=abc\n");
    expect_failure(MHA_STATUS_FORMAT_ERROR, "line 4");
    write_file(g_name, g_driver, "colour blue\n");
    expect_failure(MHA_STATUS_FORMAT_ERROR, "line 4");
    write_file(g_name, g_driver, "kernel Xgemm KWG=16\n"); /* too few parameters */
    expect_failure(MHA_STATUS_INVALID_VALUE, "CLBlastOverrideParameters(Xgemm");
    /* a FIFO named explicitly: refused, not read (a read would block for ever) */
    char fifo[300];
    snprintf(fifo, sizeof fifo, "%s.fifo", g_path);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    setenv("MHA_OPENCL_TUNING_FILE", fifo, 1);
    alarm(120);
    expect_failure(MHA_STATUS_IO_ERROR, "not a regular file");
    alarm(0);
    remove(fifo);
    /* usable again afterwards */
    setenv("MHA_OPENCL_TUNING_FILE", "off", 1);
    mha_backend *b = NULL;
    assert_int_equal(open_opencl(&b), MHA_STATUS_OK);
    mha_backend_close(b);
}

/* Values CLBlast would compile into its kernels and crash on (SIGFPE,
 * SIGSEGV, SIGABRT), hang on or compute wrongly with are refused before they
 * reach it: INVALID_VALUE naming the line and the parameter. */
static void test_bad_values(void **state)
{
    (void)state;
    NEED_DEVICE();
    static const char *const xgemm = "GEMMK=0 KREG=1 KWG=16 KWI=2 MDIMA=8 MDIMC=8 MWG=32 NDIMB=8 "
                                     "NDIMC=8 NWG=32 SA=0 SB=0 STRM=0 STRN=0 VWM=2 VWN=2";
    static const struct {
        const char *name, *value, *needle;
    } cases[] = {
        {"MWG", "0", "MWG=0: expected 1..1024"},
        {"NWG", "0", "NWG=0: expected 1..1024"},
        {"KWG", "0", "KWG=0: expected 1..1024"},
        {"KWG", "1048576", "KWG=1048576: expected 1..1024"},
        {"MWG", "65536", "MWG=65536: expected 1..1024"},
        {"KWG", "99999999999999999999999", "out of range"},
        {"KWG", "4294967312", "out of range"}, /* 2^32 + 16: 16 once cut to 32 bits */
        {"MWG", "40", "MWG=40: expected a multiple of MDIMC*VWM"},
        {"NWG", "24", "NWG=24: expected a multiple of NDIMC*VWN"},
        {"KWG", "17", "KWG=17: expected a multiple of KWI=2"},
        {"KWG", "4", "KWG=4: expected a multiple of MDIMC*NDIMC/MDIMA = 8"},
        {"MDIMA", "3", "MWG=32: expected a multiple of MDIMA*VWM"},
        {"VWM", "3", "VWM=3: expected 1, 2, 4, 8 or 16"},
        {"SA", "2", "SA=2: expected 0 or 1"},
        {"MDIMC", "2048", "MDIMC=2048: expected 1..1024"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        char line[512], body[600];
        snprintf(line, sizeof line, "%s", xgemm);
        char key[32];
        snprintf(key, sizeof key, " %s=", cases[i].name);
        char padded[520];
        snprintf(padded, sizeof padded, " %s", line);
        char *at = strstr(padded, key);
        assert_non_null(at);
        char *end = strchr(at + 1, ' ');
        snprintf(body, sizeof body, "kernel Xgemm%.*s%s%s\n", (int)(at - padded + strlen(key)),
                 padded, cases[i].value, end ? end : "");
        write_file(g_name, g_driver, body);
        mha_backend *b = NULL;
        mha_status st = open_opencl(&b);
        if (st != MHA_STATUS_INVALID_VALUE || !strstr(mha_last_error(), cases[i].needle) ||
            !strstr(mha_last_error(), "line 4"))
            fail_msg("%s=%s: status %d, message %s", cases[i].name, cases[i].value, (int)st,
                     mha_last_error());
        assert_null(b);
    }
    write_file(g_name, g_driver,
               "kernel XgemmDirect KWID=2 MDIMAD=8 MDIMCD=8 NDIMBD=8 NDIMCD=8 PADA=1 PADB=1 "
               "VWMD=4 VWND=4 WGD=0\n");
    expect_failure(MHA_STATUS_INVALID_VALUE, "XgemmDirect WGD=0: expected 1..1024");
    write_file(g_name, g_driver,
               "kernel XgemmDirect KWID=2 MDIMAD=8 MDIMCD=8 NDIMBD=8 NDIMCD=8 PADA=1 PADB=1 "
               "VWMD=4 VWND=4 WGD=48\n");
    expect_failure(MHA_STATUS_INVALID_VALUE, "WGD=48: expected a multiple of MDIMCD*VWMD");
    /* a good line before a bad one: nothing applied, the bad line named */
    write_file(g_name, g_driver,
               "kernel GemmRoutine XGEMM_MIN_INDIRECT_SIZE=64\nkernel Copy COPY_DIMX=0 "
               "COPY_DIMY=8 COPY_VW=1 COPY_WPT=1\n");
    expect_failure(MHA_STATUS_INVALID_VALUE, "line 5");
    /* usable again afterwards */
    setenv("MHA_OPENCL_TUNING_FILE", "off", 1);
    mha_backend *b = NULL;
    assert_int_equal(open_opencl(&b), MHA_STATUS_OK);
    mha_backend_close(b);
}

/* Opens the plugin with MHA_OPENCL_LIMITS=limits (NULL: the device's own)
 * and the file written last; the status, the message in *message. */
static mha_status open_limited(const char *limits, char *message, size_t cap)
{
    if (limits)
        setenv("MHA_OPENCL_LIMITS", limits, 1);
    mha_backend *b = NULL;
    mha_status st = open_opencl(&b);
    unsetenv("MHA_OPENCL_LIMITS");
    snprintf(message, cap, "%s", st == MHA_STATUS_OK ? "" : mha_last_error());
    if (st != MHA_STATUS_OK)
        assert_null(b);
    mha_backend_close(b);
    return st;
}

/* Every kernel line is checked against the device's limits at load, with the
 * work-group and local memory CLBlast 1.5.3's kernels take from the
 * parameters (plugins/opencl/tuning.c): lines valid on PoCL but past the
 * limits MHA_OPENCL_LIMITS lowers are refused, UNSUPPORTED, naming the file,
 * the line, the kernel, the parameters, the value and the limit; at the
 * limit, or under a cap they do not reach, they are applied. Without the
 * check every one of these files would be applied (and CLBlast would fail
 * in the middle of a forward on a device that small). */
static void test_device_limits(void **state)
{
    (void)state;
    NEED_DEVICE();
    static const char *const xgemm =
        "kernel Xgemm GEMMK=0 KREG=1 KWG=32 KWI=2 MDIMA=8 MDIMC=8 MWG=64 NDIMB=8 NDIMC=8 "
        "NWG=64 SA=%d SB=%d STRM=0 STRN=0 VWM=4 VWN=4\n";
    static const char *const direct =
        "kernel XgemmDirect KWID=2 MDIMAD=8 MDIMCD=8 NDIMBD=8 NDIMCD=8 PADA=%d PADB=%d VWMD=4 "
        "VWND=4 WGD=32\n";
    char xgemm_local[300], xgemm_none[300], direct_pad[300], direct_nopad[300];
    snprintf(xgemm_local, sizeof xgemm_local, xgemm, 1, 1);
    snprintf(xgemm_none, sizeof xgemm_none, xgemm, 0, 0);
    snprintf(direct_pad, sizeof direct_pad, direct, 1, 1);
    snprintf(direct_nopad, sizeof direct_nopad, direct, 0, 0);
    const struct {
        const char *limits, *body;
        const char *needles[3]; /* in the message; none: applied */
    } cases[] = {
        /* work-groups of 64 work-items, more than 32 */
        {"work_group=32", xgemm_none,
         {"Xgemm MDIMC*NDIMC = 8*8 = 64 work-items per work-group",
          "CL_DEVICE_MAX_WORK_GROUP_SIZE (32, lowered by MHA_OPENCL_LIMITS)"}},
        {"work_group=32", direct_nopad,
         {"XgemmDirect MDIMCD*NDIMCD = 8*8 = 64 work-items", "MAX_WORK_GROUP_SIZE (32"}},
        {"work_group=32", "kernel Copy COPY_DIMX=16 COPY_DIMY=4 COPY_VW=1 COPY_WPT=1\n",
         {"Copy COPY_DIMX*COPY_DIMY = 16*4 = 64 work-items", "MAX_WORK_GROUP_SIZE (32"}},
        {"work_group=32", "kernel Pad PAD_DIMX=8 PAD_DIMY=8 PAD_WPTX=1 PAD_WPTY=1\n",
         {"Pad PAD_DIMX*PAD_DIMY = 8*8 = 64 work-items", "MAX_WORK_GROUP_SIZE (32"}},
        {"work_group=32", "kernel Transpose TRA_DIM=8 TRA_PAD=0 TRA_SHUFFLE=0 TRA_WPT=1\n",
         {"Transpose TRA_DIM*TRA_DIM = 8*8 = 64 work-items", "MAX_WORK_GROUP_SIZE (32"}},
        {"work_group=32", "kernel Padtranspose PADTRA_PAD=0 PADTRA_TILE=8 PADTRA_WPT=1\n",
         {"Padtranspose PADTRA_TILE*PADTRA_TILE = 8*8 = 64", "MAX_WORK_GROUP_SIZE (32"}},
        /* a work-group at the limit */
        {"work_group=64", xgemm_none, {NULL}},
        /* Xgemm with SA=SB=1: 2*32*64 floats = 16 KiB of local memory */
        {"local_mem=8K", xgemm_local,
         {"Xgemm SA=1 KWG=32 MWG=64 SB=1 NWG=64: SA*KWG*MWG + SB*KWG*NWG = 4096 floats = "
          "16384 bytes = 16.0 KiB of local memory per work-group",
          "CL_DEVICE_LOCAL_MEM_SIZE (8192 bytes = 8.0 KiB, lowered by MHA_OPENCL_LIMITS)"}},
        {"local_mem=16K", xgemm_local, {NULL}},
        {"local_mem=1K", xgemm_none, {NULL}}, /* SA=SB=0: no local memory */
        /* XgemmDirect: 32*(32+1)*2 floats, the padding counted */
        {"local_mem=8K", direct_pad,
         {"XgemmDirect WGD=32 PADA=1 PADB=1: WGD*(WGD+PADA) + WGD*(WGD+PADB) = 2112 floats = "
          "8448 bytes",
          "CL_DEVICE_LOCAL_MEM_SIZE (8192 bytes"}},
        {"local_mem=8K", direct_nopad, {NULL}},
        /* Transpose: TRA_WPT*TRA_DIM rows of TRA_DIM+TRA_PAD float4s */
        {"local_mem=16K", "kernel Transpose TRA_DIM=16 TRA_PAD=1 TRA_SHUFFLE=0 TRA_WPT=4\n",
         {"Transpose TRA_DIM=16 TRA_WPT=4 TRA_PAD=1: TRA_WPT*TRA_DIM*(TRA_DIM+TRA_PAD)*TRA_WPT = "
          "4352 floats = 17408 bytes",
          "CL_DEVICE_LOCAL_MEM_SIZE (16384 bytes"}},
        {"local_mem=4K", "kernel Padtranspose PADTRA_PAD=1 PADTRA_TILE=16 PADTRA_WPT=2\n",
         {"Padtranspose PADTRA_TILE=16 PADTRA_WPT=2 PADTRA_PAD=1: ", "= 1056 floats = 4224 bytes",
          "CL_DEVICE_LOCAL_MEM_SIZE (4096 bytes"}},
        {"local_mem=1K", "kernel Copy COPY_DIMX=16 COPY_DIMY=4 COPY_VW=1 COPY_WPT=1\n", {NULL}},
        /* the device's own limit, not lowered: 4.25 MiB is more than any
         * device's local memory (PoCL's is 512 KiB, GPUs' at most 228 KiB) */
        {NULL,
         "kernel Xgemm GEMMK=0 KREG=1 KWG=1024 KWI=2 MDIMA=64 MDIMC=64 MWG=1024 NDIMB=4 "
         "NDIMC=4 NWG=64 SA=1 SB=1 STRM=0 STRN=0 VWM=1 VWN=1\n",
         {"= 1114112 floats = 4456448 bytes", "CL_DEVICE_LOCAL_MEM_SIZE ("}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        char body[400], message[2048];
        /* a good line first: the bad one is named by its line, nothing applied */
        snprintf(body, sizeof body, "kernel GemmRoutine XGEMM_MIN_INDIRECT_SIZE=128\n%s",
                 cases[i].body);
        write_file(g_name, g_driver, body);
        const mha_status st = open_limited(cases[i].limits, message, sizeof message);
        const char *limits = cases[i].limits ? cases[i].limits : "(the device's)";
        if (cases[i].needles[0] == NULL) {
            if (st != MHA_STATUS_OK)
                fail_msg("%s with %s: refused: %s", cases[i].body, limits, message);
            continue;
        }
        if (st != MHA_STATUS_UNSUPPORTED)
            fail_msg("%s with %s: status %d, expected UNSUPPORTED: %s", cases[i].body, limits,
                     (int)st, message);
        for (int n = 0; n < 3 && cases[i].needles[n]; ++n)
            if (!strstr(message, cases[i].needles[n]))
                fail_msg("message lacks \"%s\": %s", cases[i].needles[n], message);
        if (!strstr(message, g_path) || !strstr(message, "(line 5)"))
            fail_msg("message lacks the file or \"(line 5)\": %s", message);
        if (!cases[i].limits && strstr(message, "MHA_OPENCL_LIMITS"))
            fail_msg("the device's own limit named as lowered: %s", message);
    }
    /* the same Xgemm line is refused while the cap holds, applied without it */
    write_file(g_name, g_driver, xgemm_none);
    char message[2048];
    assert_int_equal(open_limited("work_group=32", message, sizeof message),
                     MHA_STATUS_UNSUPPORTED);
    assert_int_equal(open_limited(NULL, message, sizeof message), MHA_STATUS_OK);
}

static int g_fit_traced, g_fit_applied;
static void on_fit_log(const char *message, void *user)
{
    (void)user;
    if (strstr(message, "opencl: tuning: ") && strstr(message, "clblast-") &&
        strstr(message, "MDIMC*NDIMC = 8*8 = 64 work-items") &&
        strstr(message, "CL_DEVICE_MAX_WORK_GROUP_SIZE (32") &&
        strstr(message, "CLBlast stays untuned"))
        g_fit_traced++;
    if (strstr(message, "tuning: applied"))
        g_fit_applied++;
}

/* The cache directory's file past the device's limits is traced with the
 * numbers and not applied; the context opens untuned. */
static void test_cache_dir_limits(void **state)
{
    (void)state;
    NEED_DEVICE();
    char top[] = "test_tuning_fit_XXXXXX";
    assert_non_null(mkdtemp(top));
    char dir[300], file[1400], cmd[400];
    snprintf(dir, sizeof dir, "%s/cache", top);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(file, sizeof file, "%s/clblast-%s-%s.txt", dir, g_name, g_driver);
    for (char *p = file + strlen(dir) + 9; *p; ++p) /* the plugin's file name */
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == '_'))
            *p = '_';
    memcpy(file + strlen(file) - 4, ".txt", 4);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fprintf(f, "device %s\ndriver %s\nkernel Xgemm GEMMK=0 KREG=1 KWG=32 KWI=2 MDIMA=8 MDIMC=8 "
               "MWG=64 NDIMB=8 NDIMC=8 NWG=64 SA=0 SB=0 STRM=0 STRN=0 VWM=4 VWN=4\n",
            g_name, g_driver);
    fclose(f);
    assert_int_equal(chmod(file, 0600), 0);
    const char *old = getenv("MHA_OPENCL_CACHE_DIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("MHA_OPENCL_CACHE_DIR", dir, 1);
    unsetenv("MHA_OPENCL_TUNING_FILE");
    char message[2048];
    g_fit_traced = g_fit_applied = 0;
    mha_set_log_callback(on_fit_log, NULL);
    const mha_status capped = open_limited("work_group=32", message, sizeof message);
    mha_set_log_callback(NULL, NULL);
    assert_int_equal(capped, MHA_STATUS_OK);
    assert_int_equal(g_fit_traced, 1);
    assert_int_equal(g_fit_applied, 0);
    /* the device's own limits: applied */
    g_fit_traced = g_fit_applied = 0;
    mha_set_log_callback(on_fit_log, NULL);
    const mha_status own = open_limited(NULL, message, sizeof message);
    mha_set_log_callback(NULL, NULL);
    assert_int_equal(own, MHA_STATUS_OK);
    assert_int_equal(g_fit_traced, 0);
    assert_int_equal(g_fit_applied, 1);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
    assert_int_equal(system(cmd), 0);
    if (saved)
        setenv("MHA_OPENCL_CACHE_DIR", saved, 1);
    else
        unsetenv("MHA_OPENCL_CACHE_DIR");
    free(saved);
}

static int g_traced, g_refused;
static void on_log(const char *message, void *user)
{
    (void)user;
    if (strstr(message, "opencl: tuning: ") && strstr(message, "clblast-") &&
        strstr(message, "not read"))
        g_refused++;
    if (strstr(message, "tuning:") && strstr(message, "clblast-") &&
        strstr(message, "CLBlastOverrideParameters"))
        g_traced++;
}

/* Without MHA_OPENCL_TUNING_FILE the cache directory's file for the device is
 * read; trouble with it is traced, not an error. */
static void test_cache_dir_file(void **state)
{
    (void)state;
    NEED_DEVICE();
    char dir[300], file[1400], cmd[1800];
    /* a directory the plugin creates (0700) in a private one */
    char top[] = "test_tuning_cache_XXXXXX";
    assert_non_null(mkdtemp(top));
    snprintf(dir, sizeof dir, "%s/cache", top);
    snprintf(file, sizeof file, "%s/clblast-%s-%s.txt", dir, g_name, g_driver);
    for (char *p = file + strlen(dir) + 9; *p; ++p) /* the plugin's file name */
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == '_'))
            *p = '_';
    memcpy(file + strlen(file) - 4, ".txt", 4);
    const char *old = getenv("MHA_OPENCL_CACHE_DIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("MHA_OPENCL_CACHE_DIR", dir, 1);
    unsetenv("MHA_OPENCL_TUNING_FILE");
    mha_backend *b = NULL;
    assert_int_equal(open_opencl(&b), MHA_STATUS_OK); /* creates the directory */
    mha_backend_close(b);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fprintf(f, "device %s\ndriver %s\nkernel Xgemm KWG=16\n", g_name, g_driver);
    fclose(f);
    g_traced = 0;
    mha_set_log_callback(on_log, NULL);
    assert_int_equal(open_opencl(&b), MHA_STATUS_OK);
    mha_set_log_callback(NULL, NULL);
    mha_backend_close(b);
    assert_int_equal(g_traced, 1);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700); /* created private */

    /* The cache directory's file is trusted no more than the directory: one
     * writable by group or others, a symbolic link or a FIFO (which would
     * block the read for ever) is not read. */
    assert_int_equal(chmod(file, 0666), 0);
    g_traced = g_refused = 0;
    mha_set_log_callback(on_log, NULL);
    assert_int_equal(open_opencl(&b), MHA_STATUS_OK);
    mha_set_log_callback(NULL, NULL);
    mha_backend_close(b);
    assert_int_equal(g_traced, 0);
    assert_int_equal(g_refused, 1);
    char target[1500];
    snprintf(target, sizeof target, "%s.target", file);
    assert_int_equal(rename(file, target), 0);
    assert_int_equal(chmod(target, 0600), 0);
    assert_int_equal(symlink(strrchr(target, '/') + 1, file), 0);
    g_traced = g_refused = 0;
    mha_set_log_callback(on_log, NULL);
    assert_int_equal(open_opencl(&b), MHA_STATUS_OK);
    mha_set_log_callback(NULL, NULL);
    mha_backend_close(b);
    assert_int_equal(g_traced, 0);
    assert_int_equal(g_refused, 1);
    assert_int_equal(remove(file), 0);
    assert_int_equal(mkfifo(file, 0600), 0);
    g_traced = g_refused = 0;
    mha_set_log_callback(on_log, NULL);
    alarm(120); /* a read that blocks on the FIFO ends the test */
    assert_int_equal(open_opencl(&b), MHA_STATUS_OK);
    alarm(0);
    mha_set_log_callback(NULL, NULL);
    mha_backend_close(b);
    assert_int_equal(g_traced, 0);
    assert_int_equal(g_refused, 1);
    /* a group-writable cache directory: not used at all */
    assert_int_equal(remove(file), 0);
    assert_int_equal(rename(target, file), 0);
    assert_int_equal(chmod(dir, 0770), 0);
    g_traced = g_refused = 0;
    mha_set_log_callback(on_log, NULL);
    assert_int_equal(open_opencl(&b), MHA_STATUS_OK);
    mha_set_log_callback(NULL, NULL);
    mha_backend_close(b);
    assert_int_equal(g_traced, 0);
    assert_int_equal(chmod(dir, 0700), 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
    assert_int_equal(system(cmd), 0);
    if (saved)
        setenv("MHA_OPENCL_CACHE_DIR", saved, 1);
    else
        unsetenv("MHA_OPENCL_CACHE_DIR");
    free(saved);
}

static int g_shipped, g_any_cpu;
static void on_shipped_log(const char *message, void *user)
{
    (void)user;
    if (strstr(message, "tuning: applied") && strstr(message, "/opencl-tuning/clblast-"))
        g_shipped++;
    if (strstr(message, "tuning: applied") && strstr(message, "/opencl-tuning/clblast-any-cpu.txt"))
        g_any_cpu++;
}

/* The folder of the tuning files shipped beside the plugin (opencl-tuning/)
 * into dir. */
static void shipped_dir(char *dir, size_t cap)
{
    size_t count = 0;
    const char *plugin_path = NULL;
    assert_int_equal(mha_plugin_count(&count), MHA_STATUS_OK);
    for (size_t i = 0; i < count; ++i) {
        mha_plugin_info info = {.struct_size = sizeof info};
        assert_int_equal(mha_plugin_get_info(i, &info), MHA_STATUS_OK);
        if (strcmp(info.name, "opencl") == 0)
            plugin_path = info.path;
    }
    assert_non_null(plugin_path);
    const int dir_length = (int)(strrchr(plugin_path, '/') - plugin_path);
    snprintf(dir, cap, "%.*s/opencl-tuning", dir_length, plugin_path);
}

/* Every file shipped with mha (plugins/opencl/tuning/), made this device's,
 * fits its limits and is applied: the limits check refuses none of them. */
static void test_shipped_files_fit(void **state)
{
    (void)state;
    NEED_DEVICE();
    char dir[2048];
    shipped_dir(dir, sizeof dir);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int files = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        const size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, "clblast-", 8) != 0 || n < 4 || strcmp(e->d_name + n - 4, ".txt"))
            continue;
        char path[4200], line[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *in = fopen(path, "r"), *out = fopen(g_path, "w");
        assert_non_null(in);
        assert_non_null(out);
        fprintf(out, "device %s\ndriver %s\n", g_name, g_driver);
        int kernels = 0;
        while (fgets(line, sizeof line, in))
            if (strncmp(line, "kernel ", 7) == 0)
                fputs(line, out), kernels++;
        fclose(in);
        fclose(out);
        assert_true(kernels > 0);
        setenv("MHA_OPENCL_TUNING_FILE", g_path, 1);
        mha_backend *b = NULL;
        const mha_status st = open_opencl(&b);
        if (st != MHA_STATUS_OK)
            fail_msg("%s: %s", e->d_name, mha_last_error());
        mha_backend_close(b);
        print_message("%s: %d kernel line(s) applied\n", e->d_name, kernels);
        files++;
    }
    closedir(d);
    assert_true(files >= 3);
    unsetenv("MHA_OPENCL_TUNING_FILE");
}

/* "*" in the device and driver lines matches any device. */
static void test_wildcard(void **state)
{
    (void)state;
    NEED_DEVICE();
    write_file("*", "*", "kernel GemmRoutine XGEMM_MIN_INDIRECT_SIZE=64\n");
    mha_backend *b = NULL;
    assert_int_equal(open_opencl(&b), MHA_STATUS_OK);
    mha_backend_close(b);
    /* a wildcard file is still checked: CLBlast refuses a partial kernel line */
    write_file("*", g_driver, "kernel Xgemm KWG=16\n");
    expect_failure(MHA_STATUS_INVALID_VALUE, "CLBlastOverrideParameters(Xgemm");
    unsetenv("MHA_OPENCL_TUNING_FILE");
}

/* With no file in the cache directory, the file shipped beside the plugin for
 * this device (plugins/opencl/tuning/) is applied, and on a CPU without one
 * clblast-any-cpu.txt. Skipped on other devices we have shipped no tuning for. */
static void test_shipped_file(void **state)
{
    (void)state;
    NEED_DEVICE();
    char shipped[2048];
    shipped_dir(shipped, sizeof shipped);
    const size_t dir_length = strlen(shipped);
    snprintf(shipped + dir_length, sizeof shipped - dir_length, "/clblast-%s-%s.txt", g_name,
             g_driver);
    for (char *p = shipped + dir_length + 9; *p; ++p) /* the plugin's file name */
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == '_'))
            *p = '_';
    memcpy(shipped + strlen(shipped) - 4, ".txt", 4);
    FILE *probe = fopen(shipped, "r");
    const bool own_file = probe != NULL;
    if (probe)
        fclose(probe);
    if (!own_file && strcmp(g_kind, "cpu") != 0) {
        print_message("no shipped tuning for this device (%s): skipped\n", shipped);
        skip();
    }
    char dir[300];
    snprintf(dir, sizeof dir, "test_tuning_empty_%ld", (long)getpid());
    const char *old = getenv("MHA_OPENCL_CACHE_DIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("MHA_OPENCL_CACHE_DIR", dir, 1);
    unsetenv("MHA_OPENCL_TUNING_FILE");
    g_shipped = g_any_cpu = 0;
    mha_set_log_callback(on_shipped_log, NULL);
    mha_backend *b = NULL;
    assert_int_equal(open_opencl(&b), MHA_STATUS_OK);
    mha_set_log_callback(NULL, NULL);
    mha_backend_close(b);
    /* the device's own file, else (a CPU) the generic CPU file */
    assert_int_equal(g_shipped, 1);
    assert_int_equal(g_any_cpu, own_file ? 0 : 1);
    /* A CPU with a file of its own: hide it (in the build tree) to see the
     * generic file taken in its place. */
    char hidden[2100];
    snprintf(hidden, sizeof hidden, "%s.hidden", shipped);
    if (own_file && strcmp(g_kind, "cpu") == 0 && rename(shipped, hidden) == 0) {
        g_shipped = g_any_cpu = 0;
        mha_set_log_callback(on_shipped_log, NULL);
        mha_status st = open_opencl(&b);
        mha_set_log_callback(NULL, NULL);
        mha_backend_close(b);
        assert_int_equal(rename(hidden, shipped), 0);
        assert_int_equal(st, MHA_STATUS_OK);
        assert_int_equal(g_any_cpu, 1);
        print_message("with %s hidden, clblast-any-cpu.txt was applied\n", shipped);
    }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    if (saved)
        setenv("MHA_OPENCL_CACHE_DIR", saved, 1);
    else
        unsetenv("MHA_OPENCL_CACHE_DIR");
    free(saved);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_other_device_skipped),
        cmocka_unit_test(test_off),
        cmocka_unit_test(test_cache_dir_file),
        cmocka_unit_test(test_shipped_file),
        cmocka_unit_test(test_shipped_files_fit),
        cmocka_unit_test(test_device_limits),
        cmocka_unit_test(test_cache_dir_limits),
        cmocka_unit_test(test_wildcard),
        cmocka_unit_test(test_applied),
        cmocka_unit_test(test_flash_line),
    };
    return cmocka_run_group_tests_name("opencl_tuning", tests, setup, teardown);
}
