/* bench_core.h - `mha bench --suite core` (bench_core.c). */
#ifndef MHA_BENCH_CORE_H
#define MHA_BENCH_CORE_H

/* Runs the core suite on each plugin (none: the default backend); `reps` 0
 * means automatic. Prints one line per case; returns a CLI_* code. */
int bench_core_suite(const char *const *plugins, int plugin_count, const char *device,
                     int warmup, int reps);

#endif
