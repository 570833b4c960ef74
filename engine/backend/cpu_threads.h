/* cpu_threads.h: the CPU backend's pool of worker threads (cpu_threads.c). */
#ifndef DL_CPU_THREADS_H
#define DL_CPU_THREADS_H

#include <stddef.h>

typedef struct cpu_pool cpu_pool;

/* Runs one block [lo, hi) of a job; blocks never overlap. */
typedef void (*cpu_range_fn)(const void *ctx, size_t lo, size_t hi);

/* A pool for `threads` threads: threads - 1 workers, but no more than the
 * CPUs this process may use, less one; NULL for threads < 2 (or out of
 * memory: the ops then run on the caller's thread alone). */
cpu_pool *cpu_pool_new(int threads);
void cpu_pool_free(cpu_pool *p);
/* The threads the pool was made for (1 without a pool): what sizes work
 * per thread, whatever the CPUs, so results follow --threads alone. */
int cpu_pool_threads(const cpu_pool *p);

/* fn over [0, n) in blocks of grain indexes, which this thread and the
 * workers claim in turn; returns when every block is done. With no pool,
 * or n below two grains, fn(ctx, 0, n) on this thread. */
void cpu_parallel(cpu_pool *p, size_t n, size_t grain, cpu_range_fn fn, const void *ctx);

#endif
