/* cpu_threads.c: the CPU backend's own worker threads, which split the
 * ops around the matrix products (elementwise, optimizer update, im2col,
 * pooling) over --threads cores; OpenBLAS runs the products on its own
 * threads, which spin on the same cores between products.
 *
 * A job is a range [0, n) cut into blocks of `grain` indexes that the
 * caller and the workers claim one at a time from a shared counter, so a
 * worker that wakes late (or shares its core with an OpenBLAS thread)
 * only takes fewer blocks and never holds the caller up. Workers spin
 * briefly between jobs (the ops come back to back, microseconds apart),
 * then sleep on a condition variable: an idle pool costs nothing. */
#include "engine/backend/cpu_threads.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

/* How long a worker spins for the next job before it sleeps. */
#define CPU_SPIN_NS 30000

struct cpu_pool {
    int threads;                     /* as asked for (sizes the convolution chunks) */
    int nworkers;                    /* at most the CPUs this process may use, less one */
    pthread_t *workers;              /* [nworkers] */
    pthread_mutex_t lock;            /* guards open, sleepers and stop */
    pthread_cond_t wake;
    atomic_uint generation;          /* bumped (under lock) once per job */
    int open;                        /* the current job still takes workers */
    int sleepers;
    int stop;
    atomic_int active;               /* workers inside the current job */
    atomic_size_t next;              /* the first unclaimed index */
    /* the current job */
    cpu_range_fn fn;
    const void *ctx;
    size_t n, grain;
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Claims and runs blocks until none is left. */
static void pool_work(cpu_pool *p)
{
    for (;;) {
        size_t lo = atomic_fetch_add_explicit(&p->next, p->grain, memory_order_relaxed);
        if (lo >= p->n)
            return;
        p->fn(p->ctx, lo, lo + p->grain < p->n ? lo + p->grain : p->n);
    }
}

static void *pool_worker(void *arg)
{
    cpu_pool *p = arg;
    unsigned seen = 0;
    for (;;) {
        long long until = now_ns() + CPU_SPIN_NS;
        while (atomic_load_explicit(&p->generation, memory_order_relaxed) == seen &&
               now_ns() < until)
            cpu_relax();
        pthread_mutex_lock(&p->lock);
        while (atomic_load_explicit(&p->generation, memory_order_relaxed) == seen && !p->stop) {
            p->sleepers++;
            pthread_cond_wait(&p->wake, &p->lock);
            p->sleepers--;
        }
        if (p->stop) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        seen = atomic_load_explicit(&p->generation, memory_order_relaxed);
        int join = p->open;
        if (join)
            atomic_fetch_add_explicit(&p->active, 1, memory_order_relaxed);
        pthread_mutex_unlock(&p->lock);
        if (join) {
            pool_work(p);
            atomic_fetch_sub_explicit(&p->active, 1, memory_order_release);
        }
    }
}

cpu_pool *cpu_pool_new(int threads)
{
    if (threads < 2)
        return NULL;
    cpu_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->workers = calloc((size_t)threads - 1, sizeof *p->workers);
    if (!p->workers) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->threads = threads;
    /* more spinning workers than CPUs would only take turns on them */
    cpu_set_t cpus;
    int usable = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : threads;
    int workers = (threads < usable ? threads : usable) - 1;
    while (p->nworkers < workers &&
           pthread_create(&p->workers[p->nworkers], NULL, pool_worker, p) == 0)
        p->nworkers++;
    return p;
}

void cpu_pool_free(cpu_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->nworkers; i++)
        pthread_join(p->workers[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    free(p->workers);
    free(p);
}

int cpu_pool_threads(const cpu_pool *p)
{
    return p ? p->threads : 1;
}

void cpu_parallel(cpu_pool *p, size_t n, size_t grain, cpu_range_fn fn, const void *ctx)
{
    if (grain < 1)
        grain = 1;
    if (!p || p->nworkers == 0 || n < 2 * grain) {
        if (n)
            fn(ctx, 0, n);
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->grain = grain;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    p->open = 1;
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_relaxed);
    if (p->sleepers)
        pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pool_work(p);
    pthread_mutex_lock(&p->lock);
    p->open = 0;
    pthread_mutex_unlock(&p->lock);
    /* blocks a worker claimed may still be running */
    while (atomic_load_explicit(&p->active, memory_order_acquire) > 0)
        cpu_relax();
}
