/* gpu_pair.h: what the two GPU parity tests share (test_gpu_parity.c: memory,
 * matrices, elementwise ops, losses, metrics, reductions, optimizers;
 * test_gpu_parity_nn.c: convolution, pooling, normalization, images): the
 * pair of backends, buffers on both, the comparison, the loader checks and
 * the driver. Tolerances: test_gpu_parity.c's header comment. */
#ifndef DL_GPU_PAIR_H
#define DL_GPU_PAIR_H

#include "engine/backend/gpu.h"
#include "tests/unit/gpu_check.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXACT_RTOL 1e-6
#define ARITH_RTOL 1e-6
#define TRANSCENDENTAL_RTOL 1e-5
#define REDUCE_RTOL 1e-5
#define MATMUL_RTOL 1e-4
#define ATOL 1e-6

/* The two backends compared: the CPU, and the CUDA backend or (without a
 * GPU) a second CPU backend. */
typedef struct pair {
    dl_backend *cpu, *other;
    gc_rng rng;
} pair;

/* One buffer on both backends, from the same host values. */
typedef struct twin {
    size_t n;
    float *cpu, *other;
} twin;

/* Runs `call` on each backend in turn: `be` is the backend, DEV(t) its
 * copy of twin t, `side` 0 for the CPU and 1 for the other. */
#define ON_BOTH(p, call)                                                                           \
    for (int side = 0; side < 2; side++) {                                                         \
        dl_backend *be = side ? (p)->other : (p)->cpu;                                             \
        call;                                                                                      \
    }
#define DEV(t) (side ? (t).other : (t).cpu)

static inline twin twin_of(pair *p, const float *values, size_t n)
{
    twin t = {n, p->cpu->alloc(p->cpu, n), p->other->alloc(p->other, n)};
    p->cpu->upload(p->cpu, t.cpu, values, n);
    p->other->upload(p->other, t.other, values, n);
    return t;
}

/* Zero-filled on both (outputs). */
static inline twin twin_zeros(pair *p, size_t n)
{
    twin t = {n, p->cpu->alloc(p->cpu, n), p->other->alloc(p->other, n)};
    return t;
}

static inline twin twin_random(pair *p, size_t n, float lo, float hi)
{
    float *values = malloc((n ? n : 1) * sizeof(float));
    gc_fill(&p->rng, values, n, lo, hi);
    twin t = twin_of(p, values, n);
    free(values);
    return t;
}

/* Distinct values in [lo, hi): no ties for max pooling to route. */
static inline twin twin_distinct(pair *p, size_t n, float lo, float hi)
{
    const size_t prime = 1000003; /* > n, so i -> 7919 i mod prime is one-to-one */
    float *values = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++)
        values[i] = lo + (hi - lo) * (float)(i * 7919 % prime) / (float)prime;
    twin t = twin_of(p, values, n);
    free(values);
    return t;
}

static inline void twin_free(pair *p, twin *t)
{
    p->cpu->release(p->cpu, t->cpu);
    p->other->release(p->other, t->other);
}

/* The other backend's copy set to the CPU's values, so that the next op
 * starts both sides from the same input. */
static inline void twin_sync(pair *p, twin *t)
{
    float *values = malloc((t->n ? t->n : 1) * sizeof(float));
    p->cpu->download(p->cpu, values, t->cpu, t->n);
    p->other->upload(p->other, t->other, values, t->n);
    free(values);
}

/* One check: the other backend's copy against the CPU's. */
static inline void compare(pair *p, const char *what, const twin *t, double rtol, double atol)
{
    size_t n = t->n ? t->n : 1;
    float *want = malloc(n * sizeof(float)), *got = malloc(n * sizeof(float));
    p->cpu->download(p->cpu, want, t->cpu, t->n);
    p->other->download(p->other, got, t->other, t->n);
    gc_check_arrays(what, got, want, t->n, rtol, atol);
    free(want);
    free(got);
}

/* Every op of the table is there. */
static inline void test_table(const dl_backend *be)
{
#define OP(name) {#name, offsetof(dl_backend, name)}
    static const struct {
        const char *name;
        size_t offset;
    } ops[] = {
        OP(alloc), OP(release), OP(host_alloc), OP(host_release), OP(upload), OP(download),
        OP(fill), OP(copy), OP(status), OP(gemm), OP(add_bias), OP(bias_grad), OP(act_forward),
        OP(act_backward), OP(softmax), OP(softmax_backward), OP(scale), OP(axpy), OP(mul), OP(clip),
        OP(loss), OP(metric), OP(dropout), OP(sumsq), OP(count_nonfinite), OP(regularize),
        OP(opt_update), OP(conv_workspace), OP(conv_forward), OP(conv_backward_data),
        OP(conv_backward_filter), OP(pool_forward), OP(pool_backward), OP(batchnorm_train),
        OP(batchnorm_infer), OP(batchnorm_backward), OP(layernorm_forward), OP(layernorm_backward),
        OP(pad2d), OP(pad2d_backward), OP(upsample2d), OP(upsample2d_backward), OP(scale_shift),
        OP(channel_dropout), OP(channel_mask_backward), OP(augment), OP(augment_backward),
        OP(destroy),
    };
#undef OP
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        void (*op)(void);
        memcpy(&op, (const char *)be + ops[i].offset, sizeof op);
        CHECK(op != NULL, "%s backend: no %s op", be->name, ops[i].name);
    }
}

/* ---- the loader ---- */

/* The real backend (next to the test's working directory unless
 * DLTRAIN_CUDA_BACKEND says otherwise), or NULL with why it did not load. */
static inline dl_backend *load_cuda(char *why, size_t n)
{
    const char *configured = getenv(DL_GPU_BACKEND_ENV);
    char path[4096];
    snprintf(path, sizeof path, "%s", configured ? configured : "./" DL_GPU_BACKEND_FILE);

    dl_err err = {0};
    setenv(DL_GPU_BACKEND_ENV, "/nonexistent/" DL_GPU_BACKEND_FILE, 1);
    CHECK(be_gpu_create(&err) == NULL && err.exit_code == DL_EXIT_FAIL &&
              strstr(err.msg, "no CUDA backend") && strstr(err.msg, "/nonexistent/"),
          "a missing backend is reported with its path: \"%s\"", err.msg);

    memset(&err, 0, sizeof err);
    int devices = dl_gpu_probe(&err);
    CHECK(devices > 0 || (devices == DL_ERR && err.exit_code == DL_EXIT_FAIL && err.msg[0]),
          "the probe finds devices or says why not (%d: \"%s\")", devices, err.msg);

    memset(&err, 0, sizeof err);
    setenv(DL_GPU_BACKEND_ENV, path, 1);
    dl_backend *be = be_gpu_create(&err);
    CHECK(be || (err.exit_code == DL_EXIT_FAIL && err.msg[0]),
          "the CUDA backend loads or says why not");
    snprintf(why, n, "%s", err.msg);
    return be;
}

/* A named group of comparisons. */
typedef struct pair_group {
    const char *name;
    void (*run)(pair *p);
} pair_group;

/* The test's main: the loader, then every group on the CPU and the CUDA
 * backend (two CPU backends without a GPU, saying so); title names the
 * summary line. */
static inline int pair_main(const char *title, const pair_group *groups, size_t ngroups)
{
    char why[sizeof((dl_err *)0)->msg];
    dl_err err;
    pair p = {.rng = {2024}};
    if (!(p.cpu = be_cpu_create(1, &err))) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (!(p.other = load_cuda(why, sizeof why))) {
        printf("%s: skipped: %s\n", title, why);
        printf("%s: comparing two CPU backends instead, to check the harness\n", title);
        p.other = be_cpu_create(1, &err);
    }
    int on_gpu = strcmp(p.other->name, "cpu") != 0;
    test_table(p.cpu);
    test_table(p.other);
    /* a device error is latched: the first group after which status
     * reports it is where it happened */
    for (size_t i = 0; i < ngroups; i++) {
        groups[i].run(&p);
        CHECK(p.other->status(p.other, &err) == DL_OK, "%s backend after the %s ops: %s",
              p.other->name, groups[i].name, err.msg);
    }
    p.cpu->destroy(p.cpu);
    p.other->destroy(p.other);
    char name[96];
    snprintf(name, sizeof name, "%s%s", title, on_gpu ? "" : " (harness on two CPUs)");
    return check_report(name);
}

#endif
