/*
 * test_forward_programs.c - the plugin's programs: the on-disk binary cache
 * (hits, corrupt, truncated and foreign entries rebuilt, "off") and a build
 * that fails with the compiler's log in the message.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mha/mha.h"
#include "forward_fixture.h"

/* The common program's entry (opencl-common-*.bin: built with every
 * backend; a path's own program has an entry of its own) in `dir` (path in
 * `path`), or false. */
static bool cache_file(const char *dir, char *path, size_t cap)
{
    DIR *d = opendir(dir);
    int found = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (!strncmp(e->d_name, "opencl-common-", 14)) {
            snprintf(path, cap, "%s/%s", dir, e->d_name);
            ++found;
        }
    if (d)
        closedir(d);
    return found == 1;
}

static long file_size_and_magic(const char *path, bool *magic)
{
    FILE *f = fopen(path, "rb");
    char head[8] = {0};
    *magic = false;
    if (!f)
        return -1;
    *magic = fread(head, 1, 8, f) == 8 && !memcmp(head, "MHACLBIN", 8);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

/* Opens a backend (a context: program build or cache load) and checks it
 * computes correctly. */
static void open_and_check(fixture *f)
{
    mha_backend *b = NULL;
    assert_int_equal(mha_backend_open("opencl", &b), MHA_STATUS_OK);
    tk_case c;
    tk_case_random(&c, 3);
    float *o = calloc(c.out_count, sizeof(float)), *r = calloc(c.out_count, sizeof(float));
    float *w = calloc(c.weights_count + 1, sizeof(float));
    assert_int_equal(tk_case_run(&c, b, NULL, o, w, NULL), MHA_STATUS_OK);
    assert_int_equal(tk_case_run(&c, f->ref, NULL, r, w, NULL), MHA_STATUS_OK);
    assert_true(tk_first_bad(o, r, c.out_count, OCL_TOL) < 0);
    free(o), free(r), free(w);
    tk_case_free(&c);
    mha_backend_close(b);
}

/* Counts the plugin's cache trace lines about the common program's entry
 * (mha_set_log_callback). */
static int g_cache_loaded, g_cache_rebuilt, g_cache_refused, g_cache_off;
static void cache_log(const char *message, void *user)
{
    (void)user;
    if (strstr(message, "opencl: cache: directory") && strstr(message, "cache off"))
        ++g_cache_off;
    if (!strstr(message, "opencl-common-"))
        return;
    if (strstr(message, "not read"))
        ++g_cache_refused;
    if (strstr(message, "opencl: cache: loaded"))
        ++g_cache_loaded;
    if (strstr(message, "rebuilding"))
        ++g_cache_rebuilt;
}

/* Program binaries are cached on disk; bad entries are rebuilt; "off" disables. */
void test_program_cache(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    char dir[] = "ocl-cache-test-XXXXXX", path[1024];
    assert_non_null(mkdtemp(dir));
    const char *old = getenv("MHA_OPENCL_CACHE_DIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("MHA_OPENCL_CACHE_DIR", dir, 1);
    mha_set_log_callback(cache_log, NULL);

    open_and_check(f); /* miss: builds and stores */
    assert_int_equal(g_cache_loaded, 0);
    assert_true(cache_file(dir, path, sizeof path));
    bool magic = false;
    long size = file_size_and_magic(path, &magic);
    assert_true(magic && size > 40);
    open_and_check(f); /* hit */
    assert_int_equal(g_cache_loaded, 1);
    assert_int_equal(g_cache_rebuilt, 0);

    /* corrupt payload: rebuilt and rewritten */
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    fseek(fp, size - 1, SEEK_SET);
    fputc(0x5a ^ 0xff, fp);
    fseek(fp, 48, SEEK_SET);
    fputs("garbage", fp);
    fclose(fp);
    open_and_check(f);
    /* PoCL binaries may grow with kernels it has specialised since, so
     * only check that a valid entry was written again. */
    assert_true(file_size_and_magic(path, &magic) > 40);
    assert_true(magic);
    /* truncated, and not a cache file at all */
    assert_int_equal(truncate(path, 20), 0);
    open_and_check(f);
    assert_true(file_size_and_magic(path, &magic) > 40);
    fp = fopen(path, "wb");
    fputs("not a program", fp);
    fclose(fp);
    open_and_check(f);
    assert_true(file_size_and_magic(path, &magic) > 40);
    assert_true(magic);
    assert_int_equal(g_cache_rebuilt, 3);
    open_and_check(f);
    assert_int_equal(g_cache_loaded, 2);
    mha_set_log_callback(NULL, NULL);

    /* off */
    remove(path);
    setenv("MHA_OPENCL_CACHE_DIR", "off", 1);
    open_and_check(f);
    assert_false(cache_file(dir, path, sizeof path));

    if (saved)
        setenv("MHA_OPENCL_CACHE_DIR", saved, 1);
    else
        unsetenv("MHA_OPENCL_CACHE_DIR");
    free(saved);
    DIR *d = opendir(dir); /* the paths' programs' entries */
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (!strncmp(e->d_name, "opencl-", 7)) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            remove(path);
        }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* The cache is trusted input (its binaries are loaded into the driver), so it
 * is kept private and nothing planted in it is used or followed: the
 * directory is created 0700 and entries 0600; an entry writable by group or
 * others, a symbolic link or a FIFO (whose read would block for ever) is not
 * read; a cache directory writable by group or others is not used; a symbolic
 * link planted where the old code wrote its temporary file (a fixed name:
 * <entry>.tmp.<pid>.<n>) is not followed. */
void test_program_cache_private(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    char top[] = "ocl-cache-private-XXXXXX", dir[64], path[1024], victim[128], link[1200];
    assert_non_null(mkdtemp(top));
    snprintf(dir, sizeof dir, "%s/cache", top);
    const char *old = getenv("MHA_OPENCL_CACHE_DIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("MHA_OPENCL_CACHE_DIR", dir, 1);
    mha_set_log_callback(cache_log, NULL);
    g_cache_loaded = g_cache_rebuilt = g_cache_refused = g_cache_off = 0;

    open_and_check(f); /* creates the directory and the entry */
    assert_true(cache_file(dir, path, sizeof path));
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* an entry writable by others: not read, replaced by a private one */
    assert_int_equal(chmod(path, 0666), 0);
    open_and_check(f);
    assert_int_equal(g_cache_loaded, 0);
    assert_int_equal(g_cache_refused, 1);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    open_and_check(f);
    assert_int_equal(g_cache_loaded, 1);

    /* a directory writable by group: the cache is off (nothing loaded or stored) */
    assert_int_equal(chmod(dir, 0770), 0);
    open_and_check(f);
    assert_int_equal(g_cache_loaded, 1);
    assert_true(g_cache_off >= 1);
    assert_int_equal(chmod(dir, 0700), 0);

    /* symbolic links planted at the entry and at the old temporary names:
     * the victim is neither read as an entry nor written */
    snprintf(victim, sizeof victim, "%s/victim", top);
    FILE *v = fopen(victim, "w");
    assert_non_null(v);
    fputs("victim", v);
    fclose(v);
    assert_int_equal(remove(path), 0);
    for (unsigned n = 0; n < 256; ++n) {
        snprintf(link, sizeof link, "%s.tmp.%ld.%u", path, (long)getpid(), n);
        assert_int_equal(symlink("../victim", link), 0);
    }
    assert_int_equal(symlink("../victim", path), 0);
    g_cache_refused = 0;
    open_and_check(f);
    assert_int_equal(g_cache_refused, 1); /* the link at the entry */
    bool magic = true;
    assert_int_equal(file_size_and_magic(victim, &magic), 6);
    assert_false(magic);
    assert_int_equal(lstat(path, &st), 0); /* the link replaced by an entry */
    assert_true(S_ISREG(st.st_mode));
    for (unsigned n = 0; n < 256; ++n) {
        snprintf(link, sizeof link, "%s.tmp.%ld.%u", path, (long)getpid(), n);
        assert_int_equal(lstat(link, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        remove(link);
    }

    /* a FIFO as the entry: no hang, rebuilt and replaced by a file */
    assert_int_equal(remove(path), 0);
    assert_int_equal(mkfifo(path, 0600), 0);
    g_cache_refused = 0;
    alarm(120); /* a read blocked on the FIFO ends the test */
    open_and_check(f);
    alarm(0);
    assert_int_equal(g_cache_refused, 1);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    mha_set_log_callback(NULL, NULL);

    if (saved)
        setenv("MHA_OPENCL_CACHE_DIR", saved, 1);
    else
        unsetenv("MHA_OPENCL_CACHE_DIR");
    free(saved);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
    assert_int_equal(system(cmd), 0);
}

/* MHA_OPENCL_BUILD_OPTIONS (a developer variable, appended to the build
 * options) can break the kernel build: the open fails with BUILD_ERROR and the
 * compiler's log in the message; without it the next open works. */
void test_build_failure(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    mha_backend *b = NULL;
    /* "__kernel void + (...)": a syntax error in the kernel source */
    setenv("MHA_OPENCL_BUILD_OPTIONS", "-Dmha_softmax=+", 1);
    mha_status st = mha_backend_open("opencl", &b);
    unsetenv("MHA_OPENCL_BUILD_OPTIONS");
    assert_int_equal(st, MHA_STATUS_BUILD_ERROR);
    assert_null(b);
    const char *msg = mha_last_error();
    if (!strstr(msg, "build log") || !strstr(msg, "-Dmha_softmax=+") || !strstr(msg, "error"))
        fail_msg("message lacks the options or the build log: %s", msg);
    open_and_check(f);
}
