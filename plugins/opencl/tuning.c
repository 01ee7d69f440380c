/*
 * tuning.c - CLBlast tuning parameters from a file, applied with
 * CLBlastOverrideParameters when a context is created.
 *
 * bench/tune-clblast.sh runs CLBlast's tuners (Debian's clblast-utils) for a
 * device and writes the best parameters into the cache directory (cache.c) as
 * clblast-<device name>-<driver version>.txt. MHA_OPENCL_TUNING_FILE names a
 * file explicitly ("off": apply none). The format, one item per line:
 *
 *   # comment
 *   device <CL_DEVICE_NAME>
 *   driver <CL_DRIVER_VERSION>
 *   kernel <CLBlast kernel name> <PARAMETER>=<value> ...
 *
 * for example "kernel Xgemm GEMMK=0 KREG=1 KWG=32 ...". Kernel names are
 * CLBlast's (Xgemm, XgemmDirect, Copy, Pad, Transpose, Padtranspose,
 * GemmRoutine); each line must list every parameter of its kernel, as
 * CLBlastOverrideParameters requires. The overrides are for single precision
 * and last for the process (CLBlast keeps them per device).
 *
 * One more kernel name is the plugin's own: "kernel mha_flash BLOCK_Q=64
 * BLOCK_K=32 SPLITS=1" (any subset) sets the flash kernels' tiles for the
 * device, as MHA_OPENCL_FLASH does (same ranges; the setting wins for the
 * items it gives); not handed to CLBlast, kept in the context.
 *
 * Where no such file is in the cache directory, the plugin looks in the
 * tuning folder shipped beside it (<plugin dir>/opencl-tuning/, installed
 * from plugins/opencl/tuning/), which holds the files of devices we tuned.
 * A CPU device with neither gets clblast-any-cpu.txt (cache directory, then
 * shipped): parameters tuned on one CPU, which beat CLBlast's generic CPU
 * defaults by about 3x on another (docs/opencl.md).
 *
 * The file's device and driver lines must match the device ("*" matches any):
 * a file for another device or driver is not applied (traced; other devices
 * of the process may use it). Any other trouble with the cache directory's
 * file is traced (MHA_TRACE) and the context goes on untuned; with a file
 * named by MHA_OPENCL_TUNING_FILE (unreadable, malformed, a value CLBlast
 * cannot take or refuses, a kernel past the device's work-group or local
 * memory limits) it is an error.
 */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define TUNING_ENV "MHA_OPENCL_TUNING_FILE"
#define TUNING_ANY_CPU "clblast-any-cpu.txt"
#define TUNING_LINE_MAX 2048
#define TUNING_PARAMS_MAX 48
#define TUNING_KERNELS_MAX 16

typedef struct tuning_kernel {
    unsigned line; /* in the file */
    char name[32];
    size_t count;
    char names[TUNING_PARAMS_MAX][40];
    size_t values[TUNING_PARAMS_MAX];
} tuning_kernel;

typedef struct tuning_file {
    char device[256];
    char driver[256];
    size_t count;
    tuning_kernel kernels[TUNING_KERNELS_MAX];
    char message[512]; /* what *why points to for a refused value */
} tuning_file;

void ocl_tuning_file_name(const ocl_device *dev, char *name, size_t cap)
{
    snprintf(name, cap, "clblast-%s-%s.txt", dev->info.name, dev->info.driver);
    for (char *p = name + strlen("clblast-"); *p && p < name + cap; ++p) {
        const char c = *p;
        const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
        if (!keep)
            *p = '_';
    }
    /* the suffix was sanitised too: restore it */
    size_t len = strlen(name);
    if (len > 4)
        memcpy(name + len - 4, ".txt", 4);
}

/* Copies src into dst[cap], cut to fit. */
static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

/* The largest value of any parameter (CLBlast's are ints in its kernels). */
#define TUNING_VALUE_MAX 2147483647ull

/* Parses "kernel NAME P=V ..." (after "kernel "); false with *why set, and
 * *range set when a value is out of range (not a format error). */
static bool parse_kernel(char *rest, tuning_kernel *k, const char **why, bool *range)
{
    char *save = NULL;
    char *tok = strtok_r(rest, " \t", &save);
    if (!tok || strlen(tok) >= sizeof k->name) {
        *why = "a kernel line without a (short enough) kernel name";
        return false;
    }
    strcpy(k->name, tok);
    k->count = 0;
    while ((tok = strtok_r(NULL, " \t", &save)) != NULL) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || (size_t)(eq - tok) >= sizeof k->names[0]) {
            *why = "a parameter that is not NAME=VALUE";
            return false;
        }
        if (k->count == TUNING_PARAMS_MAX) {
            *why = "too many parameters on a kernel line";
            return false;
        }
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(eq + 1, &end, 10);
        if (end == eq + 1 || *end != '\0' || eq[1] == '-' || eq[1] == '+') {
            *why = "a parameter value that is not a non-negative integer";
            return false;
        }
        if (errno == ERANGE || v > TUNING_VALUE_MAX) {
            *why = "a parameter value out of range (expected at most 2147483647)";
            *range = true;
            return false;
        }
        memcpy(k->names[k->count], tok, (size_t)(eq - tok));
        k->names[k->count][eq - tok] = '\0';
        k->values[k->count] = (size_t)v;
        k->count++;
    }
    if (k->count == 0) {
        *why = "a kernel line without parameters";
        return false;
    }
    return true;
}

/* Reads the open file `f` into *t (and closes it); IO_ERROR / FORMAT_ERROR
 * with *why set. */
static mha_status read_file(FILE *f, tuning_file *t, const char **why, unsigned *line_no)
{
    char line[TUNING_LINE_MAX];
    *line_no = 0;
    mha_status st = MHA_STATUS_OK;
    while (fgets(line, sizeof line, f)) {
        ++*line_no;
        if (!strchr(line, '\n') && !feof(f)) {
            *why = "a line is too long";
            st = MHA_STATUS_FORMAT_ERROR;
            break;
        }
        trim(line);
        if (line[0] == '\0' || line[0] == '#')
            continue;
        if (strncmp(line, "device ", 7) == 0) {
            copy_text(t->device, sizeof t->device, line + 7);
        } else if (strncmp(line, "driver ", 7) == 0) {
            copy_text(t->driver, sizeof t->driver, line + 7);
        } else if (strncmp(line, "kernel ", 7) == 0) {
            if (t->count == TUNING_KERNELS_MAX) {
                *why = "too many kernel lines";
                st = MHA_STATUS_FORMAT_ERROR;
                break;
            }
            bool range = false;
            t->kernels[t->count].line = *line_no;
            if (!parse_kernel(line + 7, &t->kernels[t->count], why, &range)) {
                st = range ? MHA_STATUS_INVALID_VALUE : MHA_STATUS_FORMAT_ERROR;
                break;
            }
            t->count++;
        } else {
            *why = "a line that is not a comment, device, driver or kernel line";
            st = MHA_STATUS_FORMAT_ERROR;
            break;
        }
    }
    if (st == MHA_STATUS_OK && ferror(f)) {
        *why = "read error";
        st = MHA_STATUS_IO_ERROR;
    }
    fclose(f);
    if (st == MHA_STATUS_OK && (t->device[0] == '\0' || t->driver[0] == '\0')) {
        *why = "no device or no driver line";
        *line_no = 0;
        st = MHA_STATUS_FORMAT_ERROR;
    }
    return st;
}

/* ---- validation -------------------------------------------------------
 * CLBlast compiles the values into its kernels as they are: a zero tile size
 * divides by zero (SIGFPE) or indexes out of bounds, a huge one aborts or
 * compiles for ever, a KWG that is not a multiple of KWI silently skips part
 * of the sum. So every value is checked before CLBlastOverrideParameters:
 *   - flags (GEMMK, SA, SB, STRM, STRN, PADA, PADB, TRA_PAD, TRA_SHUFFLE,
 *     PADTRA_PAD) are 0 or 1;
 *   - vector widths (VWM, VWN, VWMD, VWND, KREG, COPY_VW, TRA_WPT) are 1, 2,
 *     4, 8 or 16 (OpenCL's vector types);
 *   - tile sizes (MWG, NWG, KWG, WGD) and unroll factors (KWI, KWID) are
 *     1..1024; work-group dimensions (MDIMC, NDIMC, MDIMA, NDIMB, their D
 *     forms, COPY_DIMX/Y, PAD_DIMX/Y, TRA_DIM, PADTRA_TILE) 1..1024 and a
 *     work-group at most 1024 work-items; work per item (COPY_WPT,
 *     PAD_WPTX/Y, PADTRA_WPT) 1..64;
 *   - CLBlast's own constraints (src/tuning/kernels/xgemm.hpp,
 *     xgemm_direct.hpp): KWG % KWI, MWG % (MDIMC*VWM), NWG % (NDIMC*VWN),
 *     MWG % (MDIMA*VWM), NWG % (NDIMB*VWN) are 0, and with GEMMK=0 KWG is a
 *     multiple of KDIMA = MDIMC*NDIMC/MDIMA and KDIMB = MDIMC*NDIMC/NDIMB
 *     (whole numbers); with GEMMK=1 KREG % VWN is 0; XgemmDirect alike with
 *     WGD for MWG, NWG and KWG;
 *   - ours, to keep a kernel compilable: at most 256 results per work-item
 *     ((MWG/MDIMC)*(NWG/NDIMC), CLBlast's tuners try up to 128/8 * 128/8).
 * Parameters missing from a line are left to CLBlastOverrideParameters,
 * which refuses a line without all of its kernel's parameters. */

typedef enum { RULE_FLAG, RULE_WIDTH, RULE_TILE, RULE_DIM, RULE_WPT } rule_kind;

static const struct {
    const char *name;
    rule_kind kind;
} g_rules[] = {
    {"GEMMK", RULE_FLAG},      {"SA", RULE_FLAG},          {"SB", RULE_FLAG},
    {"STRM", RULE_FLAG},       {"STRN", RULE_FLAG},        {"PADA", RULE_FLAG},
    {"PADB", RULE_FLAG},       {"TRA_PAD", RULE_FLAG},     {"TRA_SHUFFLE", RULE_FLAG},
    {"PADTRA_PAD", RULE_FLAG}, {"VWM", RULE_WIDTH},        {"VWN", RULE_WIDTH},
    {"VWMD", RULE_WIDTH},      {"VWND", RULE_WIDTH},       {"KREG", RULE_WIDTH},
    {"COPY_VW", RULE_WIDTH},   {"TRA_WPT", RULE_WIDTH},    {"MWG", RULE_TILE},
    {"NWG", RULE_TILE},        {"KWG", RULE_TILE},         {"WGD", RULE_TILE},
    {"KWI", RULE_TILE},        {"KWID", RULE_TILE},        {"MDIMC", RULE_DIM},
    {"NDIMC", RULE_DIM},       {"MDIMA", RULE_DIM},        {"NDIMB", RULE_DIM},
    {"MDIMCD", RULE_DIM},      {"NDIMCD", RULE_DIM},       {"MDIMAD", RULE_DIM},
    {"NDIMBD", RULE_DIM},      {"COPY_DIMX", RULE_DIM},    {"COPY_DIMY", RULE_DIM},
    {"PAD_DIMX", RULE_DIM},    {"PAD_DIMY", RULE_DIM},     {"TRA_DIM", RULE_DIM},
    {"PADTRA_TILE", RULE_DIM}, {"COPY_WPT", RULE_WPT},     {"PAD_WPTX", RULE_WPT},
    {"PAD_WPTY", RULE_WPT},    {"PADTRA_WPT", RULE_WPT},
};

#define TUNING_TILE_MAX 1024u
#define TUNING_GROUP_MAX 1024u
#define TUNING_WPT_MAX 64u
#define TUNING_ITEM_RESULTS_MAX 256u

/* The value of parameter `name` of k in *v; false when the line lacks it. */
static bool param(const tuning_kernel *k, const char *name, size_t *v)
{
    for (size_t i = 0; i < k->count; ++i)
        if (strcmp(k->names[i], name) == 0) {
            *v = k->values[i];
            return true;
        }
    return false;
}

/* Checks one value against its kind; false with msg set. */
static bool check_value(const tuning_kernel *k, const char *name, rule_kind kind, size_t v,
                        char *msg, size_t cap)
{
    bool ok;
    const char *expected;
    switch (kind) {
    case RULE_FLAG:
        ok = v <= 1, expected = "0 or 1";
        break;
    case RULE_WIDTH:
        ok = v == 1 || v == 2 || v == 4 || v == 8 || v == 16, expected = "1, 2, 4, 8 or 16";
        break;
    case RULE_TILE:
        ok = v >= 1 && v <= TUNING_TILE_MAX, expected = "1..1024";
        break;
    case RULE_DIM:
        ok = v >= 1 && v <= TUNING_GROUP_MAX, expected = "1..1024";
        break;
    default:
        ok = v >= 1 && v <= TUNING_WPT_MAX, expected = "1..64";
        break;
    }
    if (!ok)
        snprintf(msg, cap, "%s %s=%zu: expected %s", k->name, name, v, expected);
    return ok;
}

/* x % (a*b) == 0, named for the message; all values already >= 1. */
static bool multiple(const tuning_kernel *k, const char *xn, size_t x, const char *an, size_t a,
                     const char *bn, size_t b, char *msg, size_t cap)
{
    if (x % (a * b) == 0)
        return true;
    if (b == 1 && bn == NULL)
        snprintf(msg, cap, "%s %s=%zu: expected a multiple of %s=%zu (CLBlast's constraint)",
                 k->name, xn, x, an, a);
    else
        snprintf(msg, cap,
                 "%s %s=%zu: expected a multiple of %s*%s = %zu*%zu = %zu (CLBlast's constraint)",
                 k->name, xn, x, an, bn, a, b, a * b);
    return false;
}

/* KWG a multiple of (MDIMC*NDIMC)/MDIMA, a whole number (KDIMA, KDIMB). */
static bool kdim(const tuning_kernel *k, const char *kn, size_t kwg, const char *mn, size_t mdimc,
                 const char *nn, size_t ndimc, const char *an, size_t mdima, char *msg, size_t cap)
{
    const size_t group = mdimc * ndimc;
    if (group % mdima != 0) {
        snprintf(msg, cap, "%s %s=%zu: expected a divisor of %s*%s = %zu (CLBlast's constraint)",
                 k->name, an, mdima, mn, nn, group);
        return false;
    }
    if (kwg % (group / mdima) != 0) {
        snprintf(msg, cap,
                 "%s %s=%zu: expected a multiple of %s*%s/%s = %zu (CLBlast's constraint)",
                 k->name, kn, kwg, mn, nn, an, group / mdima);
        return false;
    }
    return true;
}

/* The GEMM kernels' constraints: `tile_m`, `tile_n`, `tile_k` name MWG, NWG,
 * KWG (WGD thrice for XgemmDirect), the other names their parameters. */
typedef struct gemm_names {
    const char *mwg, *nwg, *kwg, *kwi, *mdimc, *ndimc, *mdima, *ndimb, *vwm, *vwn;
} gemm_names;

static bool check_gemm(const tuning_kernel *k, const gemm_names *n, bool direct, char *msg,
                       size_t cap)
{
    size_t mwg, nwg, kwg, kwi, mdimc, ndimc, mdima, ndimb, vwm, vwn, gemmk = 0, kreg = 1;
    if (!param(k, n->mwg, &mwg) || !param(k, n->kwi, &kwi) || !param(k, n->mdimc, &mdimc) ||
        !param(k, n->ndimc, &ndimc) || !param(k, n->mdima, &mdima) ||
        !param(k, n->ndimb, &ndimb) || !param(k, n->vwm, &vwm) || !param(k, n->vwn, &vwn))
        return true; /* incomplete: CLBlastOverrideParameters refuses it */
    if (direct) {
        nwg = kwg = mwg;
    } else if (!param(k, n->nwg, &nwg) || !param(k, n->kwg, &kwg) || !param(k, "GEMMK", &gemmk) ||
               !param(k, "KREG", &kreg)) {
        return true;
    }
    if (mdimc * ndimc > TUNING_GROUP_MAX) {
        snprintf(msg, cap, "%s %s*%s = %zu*%zu: expected a work-group of at most %u work-items",
                 k->name, n->mdimc, n->ndimc, mdimc, ndimc, TUNING_GROUP_MAX);
        return false;
    }
    if (!multiple(k, n->kwg, kwg, n->kwi, kwi, NULL, 1, msg, cap) ||
        !multiple(k, n->mwg, mwg, n->mdimc, mdimc, n->vwm, vwm, msg, cap) ||
        !multiple(k, n->nwg, nwg, n->ndimc, ndimc, n->vwn, vwn, msg, cap) ||
        !multiple(k, n->mwg, mwg, n->mdima, mdima, n->vwm, vwm, msg, cap) ||
        !multiple(k, n->nwg, nwg, n->ndimb, ndimb, n->vwn, vwn, msg, cap))
        return false;
    if (gemmk == 0 &&
        (!kdim(k, n->kwg, kwg, n->mdimc, mdimc, n->ndimc, ndimc, n->mdima, mdima, msg, cap) ||
         !kdim(k, n->kwg, kwg, n->mdimc, mdimc, n->ndimc, ndimc, n->ndimb, ndimb, msg, cap)))
        return false;
    if (gemmk == 1 && !multiple(k, "KREG", kreg, n->vwn, vwn, NULL, 1, msg, cap))
        return false;
    const size_t results = (mwg / mdimc) * (nwg / ndimc);
    if (results > TUNING_ITEM_RESULTS_MAX) {
        snprintf(msg, cap,
                 "%s (%s/%s)*(%s/%s) = %zu results per work-item: expected at most %u",
                 k->name, n->mwg, n->mdimc, n->nwg, n->ndimc, results, TUNING_ITEM_RESULTS_MAX);
        return false;
    }
    return true;
}

/* Whether kernel line k's values are safe to hand to CLBlast; msg says why not. */
static bool check_kernel(const tuning_kernel *k, char *msg, size_t cap)
{
    static const gemm_names xgemm = {"MWG",   "NWG",   "KWG",   "KWI", "MDIMC",
                                     "NDIMC", "MDIMA", "NDIMB", "VWM", "VWN"};
    static const gemm_names direct = {"WGD",    "WGD",    "WGD",    "KWID", "MDIMCD",
                                      "NDIMCD", "MDIMAD", "NDIMBD", "VWMD", "VWND"};
    for (size_t i = 0; i < k->count; ++i)
        for (size_t r = 0; r < sizeof g_rules / sizeof g_rules[0]; ++r)
            if (strcmp(k->names[i], g_rules[r].name) == 0 &&
                !check_value(k, k->names[i], g_rules[r].kind, k->values[i], msg, cap))
                return false;
    size_t x = 0, y = 0;
    if (strcmp(k->name, "Xgemm") == 0)
        return check_gemm(k, &xgemm, false, msg, cap);
    if (strcmp(k->name, "XgemmDirect") == 0)
        return check_gemm(k, &direct, true, msg, cap);
    const char *pairs[][2] = {{"COPY_DIMX", "COPY_DIMY"}, {"PAD_DIMX", "PAD_DIMY"},
                              {"TRA_DIM", "TRA_DIM"}, {"PADTRA_TILE", "PADTRA_TILE"}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; ++i)
        if (param(k, pairs[i][0], &x) && param(k, pairs[i][1], &y) && x * y > TUNING_GROUP_MAX) {
            snprintf(msg, cap, "%s %s*%s = %zu*%zu: expected a work-group of at most %u work-items",
                     k->name, pairs[i][0], pairs[i][1], x, y, TUNING_GROUP_MAX);
            return false;
        }
    return true;
}

/* ---- the device's limits ----------------------------------------------
 * A line that passes the checks above may still ask more of this device than
 * it has: CLBlast would then fail (CL_INVALID_WORK_GROUP_SIZE, its own
 * kInvalidLocalThreadsTotal or kInvalidLocalMemUsage) in the middle of a
 * forward, at the first GEMM that runs the kernel. So each kernel's
 * work-group and local memory, as its parameters imply them, are checked
 * against the context's limits (limits.c: the device's, capped by
 * MHA_OPENCL_LIMITS like every call's checks). From CLBlast 1.5.3's kernels
 * (src/kernels/level3/; each declares reqd_work_group_size(X, Y, 1) and is
 * launched with that local size, src/routines/level3/xgemm.cpp and
 * src/routines/common.hpp) and its tuners' local memory formulas
 * (src/tuning/kernels/<kernel>.hpp, <Kernel>ComputeLocalMemSize), single precision:
 *
 *   kernel        work-group (X, Y)           __local floats
 *   Xgemm         MDIMC, NDIMC                SA*KWG*MWG + SB*KWG*NWG
 *   XgemmDirect   MDIMCD, NDIMCD              WGD*(WGD+PADA) + WGD*(WGD+PADB)
 *   Copy          COPY_DIMX, COPY_DIMY        none
 *   Pad           PAD_DIMX, PAD_DIMY          none
 *   Transpose     TRA_DIM, TRA_DIM            TRA_WPT*TRA_DIM*(TRA_DIM+TRA_PAD)*TRA_WPT
 *   Padtranspose  PADTRA_TILE, PADTRA_TILE    (PADTRA_WPT*PADTRA_TILE)*
 *                                             (PADTRA_WPT*PADTRA_TILE+PADTRA_PAD)
 *
 * (xgemm_part4.opencl and xgemm_batched.opencl: alm[KWG*MWG/VWM] of VWM-wide
 * vectors when SA=1, blm[KWG*NWG/VWN] when SB=1; xgemm_direct_part3.opencl
 * and xgemm_direct_batched.opencl: alm[WGD*(WGD+PADA)], blm[WGD*(WGD+PADB)]
 * always; transpose_fast.opencl: tile[TRA_WPT*TRA_DIM][TRA_DIM+TRA_PAD] of
 * TRA_WPT-wide vectors; transpose_pad.opencl: tile[(PADTRA_WPT*PADTRA_TILE)*
 * (PADTRA_WPT*PADTRA_TILE+PADTRA_PAD)]; copy_fast and copy_pad.opencl have
 * none.) X*Y must be at most CL_DEVICE_MAX_WORK_GROUP_SIZE, X and Y at most
 * CL_DEVICE_MAX_WORK_ITEM_SIZES[0] and [1], the bytes at most
 * CL_DEVICE_LOCAL_MEM_SIZE. Not checked: kernels of other names (CLBlast's
 * level-1 and level-2 kernels, which mha does not run), GemmRoutine (no
 * kernel), a line that lacks a parameter of the formula (CLBlast refuses it),
 * a limit the driver does not report (0), and what only the compiled kernel
 * tells: CL_KERNEL_WORK_GROUP_SIZE, which may be below the device's for a
 * kernel that needs many registers, and local memory the compiler adds. */

typedef struct fit_rule {
    const char *kernel;
    const char *x, *y;           /* the work-group's dimensions */
    const char *local[5];        /* the formula's parameters, in its order; NULL-ended */
    const char *formula;         /* floats of local memory, in those names */
    uint64_t (*floats)(const uint64_t *v); /* the formula, over local[]'s values */
} fit_rule;

static uint64_t xgemm_floats(const uint64_t *v) /* SA KWG MWG SB NWG */
{
    return v[0] * v[1] * v[2] + v[3] * v[1] * v[4];
}

static uint64_t direct_floats(const uint64_t *v) /* WGD PADA PADB */
{
    return v[0] * (v[0] + v[1]) + v[0] * (v[0] + v[2]);
}

static uint64_t transpose_floats(const uint64_t *v) /* TRA_DIM TRA_WPT TRA_PAD */
{
    return v[1] * v[0] * (v[0] + v[2]) * v[1];
}

static uint64_t padtranspose_floats(const uint64_t *v) /* PADTRA_TILE PADTRA_WPT PADTRA_PAD */
{
    const uint64_t tile = v[1] * v[0];
    return tile * (tile + v[2]);
}

static const fit_rule g_fits[] = {
    {"Xgemm", "MDIMC", "NDIMC", {"SA", "KWG", "MWG", "SB", "NWG"},
     "SA*KWG*MWG + SB*KWG*NWG", xgemm_floats},
    {"XgemmDirect", "MDIMCD", "NDIMCD", {"WGD", "PADA", "PADB", NULL},
     "WGD*(WGD+PADA) + WGD*(WGD+PADB)", direct_floats},
    {"Copy", "COPY_DIMX", "COPY_DIMY", {NULL}, NULL, NULL},
    {"Pad", "PAD_DIMX", "PAD_DIMY", {NULL}, NULL, NULL},
    {"Transpose", "TRA_DIM", "TRA_DIM", {"TRA_DIM", "TRA_WPT", "TRA_PAD", NULL},
     "TRA_WPT*TRA_DIM*(TRA_DIM+TRA_PAD)*TRA_WPT", transpose_floats},
    {"Padtranspose", "PADTRA_TILE", "PADTRA_TILE",
     {"PADTRA_TILE", "PADTRA_WPT", "PADTRA_PAD", NULL},
     "(PADTRA_WPT*PADTRA_TILE)*(PADTRA_WPT*PADTRA_TILE+PADTRA_PAD)", padtranspose_floats},
};

/* ", lowered by MHA_OPENCL_LIMITS" when `limit` is the cap (MHA_OPENCL_LIMITS). */
static const char *capped(uint64_t limit, uint64_t cap)
{
    return cap != 0 && limit == cap ? ", lowered by MHA_OPENCL_LIMITS" : "";
}

/* Whether kernel line k fits the device's `limits` (capped by `caps`);
 * msg says why not, with the parameters, the value and the limit. Lines of
 * kernels not in g_fits, or without a parameter of the formula, pass. */
static bool check_fits(const tuning_kernel *k, const ocl_device_limits *limits,
                       const ocl_device_limits *caps, char *msg, size_t cap)
{
    const fit_rule *rule = NULL;
    for (size_t i = 0; i < sizeof g_fits / sizeof g_fits[0]; ++i)
        if (strcmp(k->name, g_fits[i].kernel) == 0)
            rule = &g_fits[i];
    size_t x, y;
    if (!rule || !param(k, rule->x, &x) || !param(k, rule->y, &y))
        return true;
    const uint64_t group = (uint64_t)x * y;
    if (limits->max_work_group > 0 && group > limits->max_work_group) {
        snprintf(msg, cap,
                 "%s %s*%s = %zu*%zu = %llu work-items per work-group: more than "
                 "CL_DEVICE_MAX_WORK_GROUP_SIZE (%zu%s)",
                 k->name, rule->x, rule->y, x, y, (unsigned long long)group,
                 limits->max_work_group, capped(limits->max_work_group, caps->max_work_group));
        return false;
    }
    const char *dims[2] = {rule->x, rule->y};
    const size_t sizes[2] = {x, y};
    for (int d = 0; d < 2; ++d)
        if (limits->max_work_item[d] > 0 && sizes[d] > limits->max_work_item[d]) {
            snprintf(msg, cap,
                     "%s %s=%zu work-items in dimension %d: more than "
                     "CL_DEVICE_MAX_WORK_ITEM_SIZES[%d] (%zu%s)",
                     k->name, dims[d], sizes[d], d, d, limits->max_work_item[d],
                     capped(limits->max_work_item[d], caps->max_work_group));
            return false;
        }
    if (!rule->floats || limits->local_mem == 0)
        return true;
    uint64_t v[5];
    char values[160] = "";
    size_t used = 0;
    for (size_t i = 0; i < 5 && rule->local[i]; ++i) {
        size_t value;
        if (!param(k, rule->local[i], &value))
            return true;
        v[i] = value;
        int n = snprintf(values + used, sizeof values - used, "%s%s=%zu", i ? " " : "",
                         rule->local[i], value);
        if (n > 0 && (size_t)n < sizeof values - used)
            used += (size_t)n;
    }
    const uint64_t floats = rule->floats(v);
    const uint64_t bytes = floats * sizeof(float);
    if (bytes <= limits->local_mem)
        return true;
    char need[64], have[64];
    ocl_format_bytes(bytes, need, sizeof need);
    ocl_format_bytes(limits->local_mem, have, sizeof have);
    snprintf(msg, cap,
             "%s %s: %s = %llu floats = %s of local memory per work-group: more than "
             "CL_DEVICE_LOCAL_MEM_SIZE (%s%s)",
             k->name, values, rule->formula, (unsigned long long)floats, need, have,
             capped(limits->local_mem, caps->local_mem));
    return false;
}

/* ---- the plugin's own line: the flash tiles ------------------------------ */
#define TUNING_FLASH "mha_flash"

/* A "kernel mha_flash" line into *tiles, through the parser of
 * MHA_OPENCL_FLASH (so the ranges are the setting's); false with msg set. */
static bool flash_line(const tuning_kernel *k, ocl_flash_tiles *tiles, char *msg, size_t cap)
{
    static const char *const names[] = {"BLOCK_Q", "BLOCK_K", "SPLITS"};
    static const char *const keys[] = {"block_q", "block_k", "splits"};
    char text[96] = "";
    size_t used = 0;
    for (size_t i = 0; i < k->count; ++i) {
        size_t which = 3;
        for (size_t n = 0; n < 3; ++n)
            if (strcmp(k->names[i], names[n]) == 0)
                which = n;
        if (which == 3) {
            snprintf(msg, cap, "%s %s: expected BLOCK_Q, BLOCK_K or SPLITS", k->name,
                     k->names[i]);
            return false;
        }
        int n = snprintf(text + used, sizeof text - used, "%s%s=%zu", used ? "," : "",
                         keys[which], k->values[i]);
        if (n < 0 || (size_t)n >= sizeof text - used) {
            snprintf(msg, cap, "%s: too many parameters", k->name);
            return false;
        }
        used += (size_t)n;
    }
    const char *bad = NULL;
    if (!ocl_flash_tiles_parse(text, tiles, &bad)) {
        const char *end = bad ? strchr(bad, ',') : NULL;
        snprintf(msg, cap,
                 "%s %.*s: expected BLOCK_Q a power of two 1..%d, BLOCK_K a multiple of %d up "
                 "to %d, SPLITS 1..%d",
                 k->name, bad ? (int)(end ? (size_t)(end - bad) : strlen(bad)) : 0,
                 bad ? bad : "", OCL_FLASH_BLOCK_MAX, OCL_FLASH_KEY_STEP, OCL_FLASH_BLOCK_MAX,
                 OCL_FLASH_SPLITS_MAX);
        return false;
    }
    return true;
}

/* Trouble: an error for an explicit file, a trace (and OK) for the cache's. */
static mha_status trouble(bool explicit_file, mha_status st, const char *path, const char *why,
                          unsigned line_no)
{
    char where[32] = "";
    if (line_no > 0)
        snprintf(where, sizeof where, " (line %u)", line_no);
    if (explicit_file)
        return ocl_host->set_error(st, "opencl: %s=%s: %s%s", TUNING_ENV, path, why, where);
    ocl_host->trace("opencl: tuning: %s: %s%s; CLBlast stays untuned", path, why, where);
    return MHA_STATUS_OK;
}

/* <directory of this plugin>/opencl-tuning/<name> into path; false if the
 * plugin's own path is unknown or too long. */
static bool shipped_tuning_file(const char *name, char *path, size_t cap)
{
    static const char anchor = 0;
    Dl_info info;
    const void *address = &anchor;
    void *pointer;
    memcpy(&pointer, &address, sizeof pointer);
    if (!dladdr(pointer, &info) || !info.dli_fname)
        return false;
    const char *slash = strrchr(info.dli_fname, '/');
    if (!slash)
        return false;
    int written = snprintf(path, cap, "%.*s/opencl-tuning/%s", (int)(slash - info.dli_fname),
                           info.dli_fname, name);
    return written > 0 && (size_t)written < cap;
}

/* The user's file `name` in the cache directory (a regular file of this
 * user's, not writable by group or others, in a directory alike: cache.c's
 * checks), else the one shipped with mha (a regular file); opened, or NULL. */
static FILE *find_file(const ocl_settings *s, const char *name, char *path, size_t cap)
{
    FILE *f = NULL;
    if (ocl_cache_file(s, name, path, cap))
        f = ocl_cache_open(path, true, "tuning");
    if (!f && shipped_tuning_file(name, path, cap))
        f = ocl_cache_open(path, false, "tuning");
    return f;
}

static bool matches(const char *pattern, const char *value)
{
    return strcmp(pattern, "*") == 0 || strcmp(pattern, value) == 0;
}

mha_status ocl_tuning_apply(const ocl_device *dev, const ocl_settings *settings,
                            ocl_flash_tiles *flash)
{
    memset(flash, 0, sizeof *flash);
    char path[4200];
    const char *env = settings->tuning_file;
    const bool explicit_file = env && env[0] != '\0';
    FILE *f = NULL;
    if (explicit_file) {
        if (strcmp(env, "off") == 0)
            return MHA_STATUS_OK;
        snprintf(path, sizeof path, "%s", env);
        /* a regular file (a FIFO would block), links followed: the caller named it */
        struct stat st;
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            return trouble(true, MHA_STATUS_IO_ERROR, path, "cannot be opened", 0);
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0 ||
            (f = fdopen(fd, "r")) == NULL) {
            close(fd);
            return trouble(true, MHA_STATUS_IO_ERROR, path, "not a regular file", 0);
        }
    } else {
        char name[600];
        ocl_tuning_file_name(dev, name, sizeof name);
        /* this device's tuning, else for a CPU the generic CPU one */
        f = find_file(settings, name, path, sizeof path);
        if (!f && dev->kind == OCL_DEVICE_CPU)
            f = find_file(settings, TUNING_ANY_CPU, path, sizeof path);
        if (!f)
            return MHA_STATUS_OK; /* not tuned: CLBlast's own database */
    }

    tuning_file *t = ocl_host->calloc(1, sizeof *t);
    if (!t) {
        fclose(f);
        return ocl_out_of_host_memory("tuning file");
    }
    const char *why = NULL;
    unsigned line_no = 0;
    mha_status st = read_file(f, t, &why, &line_no);
    if (st != MHA_STATUS_OK) {
        st = trouble(explicit_file, st, path, why, line_no);
        goto done;
    }
    if (!matches(t->device, dev->info.name) || !matches(t->driver, dev->info.driver)) {
        char msg[1200];
        snprintf(msg, sizeof msg, "made for \"%s\" driver \"%s\", not this device (\"%s\" driver \"%s\")",
                 t->device, t->driver, dev->info.name, dev->info.driver);
        st = trouble(false, MHA_STATUS_INVALID_VALUE, path, msg, 0);
        goto done;
    }
    /* every line checked before any reaches CLBlast: all or nothing; values
     * CLBlast cannot take are INVALID_VALUE, values this device cannot run
     * UNSUPPORTED (as a launch past its limits is, limits.c) */
    ocl_device_limits limits = dev->limits;
    ocl_device_limits_cap(&limits, &settings->limit_caps);
    ocl_flash_tiles tiles = {0, 0, 0};
    size_t clblast_lines = 0;
    for (size_t i = 0; i < t->count; ++i) {
        const tuning_kernel *k = &t->kernels[i];
        mha_status bad = MHA_STATUS_OK;
        if (strcmp(k->name, TUNING_FLASH) == 0) {
            if (!flash_line(k, &tiles, t->message, sizeof t->message)) {
                st = trouble(explicit_file, MHA_STATUS_INVALID_VALUE, path, t->message, k->line);
                goto done;
            }
            continue;
        }
        clblast_lines++;
        if (!check_kernel(k, t->message, sizeof t->message))
            bad = MHA_STATUS_INVALID_VALUE;
        else if (!check_fits(k, &limits, &settings->limit_caps, t->message, sizeof t->message))
            bad = MHA_STATUS_UNSUPPORTED;
        if (bad != MHA_STATUS_OK) {
            st = trouble(explicit_file, bad, path, t->message, k->line);
            goto done;
        }
    }
    for (size_t i = 0; i < t->count; ++i) {
        const tuning_kernel *k = &t->kernels[i];
        if (strcmp(k->name, TUNING_FLASH) == 0)
            continue;
        const char *names[TUNING_PARAMS_MAX];
        for (size_t j = 0; j < k->count; ++j)
            names[j] = k->names[j];
        CLBlastStatusCode s = CLBlastOverrideParameters(dev->device, k->name, CLBlastPrecisionSingle,
                                                        k->count, names, k->values);
        if (s != CLBlastSuccess) {
            char msg[160];
            snprintf(msg, sizeof msg, "CLBlastOverrideParameters(%s, %zu parameters): %s (%d)",
                     k->name, k->count, ocl_clblast_error_name(s), (int)s);
            st = trouble(explicit_file, MHA_STATUS_INVALID_VALUE, path, msg, 0);
            goto done;
        }
    }
    *flash = tiles;
    ocl_host->trace("opencl: tuning: applied %zu CLBlast kernel(s)%s from %s", clblast_lines,
                    tiles.block_q || tiles.block_k || tiles.splits ? " and the flash tiles" : "",
                    path);
done:
    ocl_host->free(t);
    return st;
}
