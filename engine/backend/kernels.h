/* kernels.h: per-element math shared by the CPU and CUDA backends.
 *
 * Everything here is a host-and-device inline function (DL_HD) or a plain
 * struct, so that the CPU tests exercise the exact arithmetic a CUDA kernel
 * runs; the CUDA side only maps threads to elements. C and C++ (nvcc) clean:
 * no compound literals, no `restrict`, no designated initialisers. */
#ifndef DL_KERNELS_H
#define DL_KERNELS_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define DL_HD __host__ __device__ static inline
#else
#define DL_HD static inline
#endif

/* ---- activations (Keras 3 names; string "leaky_relu" slope 0.2) ---- */
enum {
    DL_ACT_LINEAR,
    DL_ACT_RELU,
    DL_ACT_RELU6,
    DL_ACT_LEAKY_RELU,
    DL_ACT_ELU,
    DL_ACT_SELU,
    DL_ACT_GELU,
    DL_ACT_SILU,
    DL_ACT_SOFTPLUS,
    DL_ACT_SOFTSIGN,
    DL_ACT_TANH,
    DL_ACT_SIGMOID,
    DL_ACT_HARD_SIGMOID,
    DL_ACT_SOFTMAX,        /* row-wise: the softmax ops, not dl_act_f */
    DL_ACT_COUNT
};

/* ---- losses ---- */
enum {
    DL_LOSS_MSE,
    DL_LOSS_MAE,
    DL_LOSS_HUBER,
    DL_LOSS_BCE,           /* binary_crossentropy */
    DL_LOSS_CCE,           /* categorical; sparse_target for the sparse variant */
    DL_LOSS_COUNT
};

/* ---- metrics ---- */
enum {
    DL_METRIC_BINARY_ACCURACY,
    DL_METRIC_CATEGORICAL_ACCURACY, /* sparse_target: SparseCategoricalAccuracy */
    DL_METRIC_TOP_K,
    DL_METRIC_MSE,
    DL_METRIC_MAE,
    DL_METRIC_PRECISION,
    DL_METRIC_RECALL,
    DL_METRIC_AUC,
    DL_METRIC_COUNT
};

/* ---- optimizers ---- */
enum {
    DL_OPT_SGD,
    DL_OPT_ADAM,           /* also AdamW: weight_decay in the step */
    DL_OPT_RMSPROP,
    DL_OPT_ADAGRAD,
    DL_OPT_ADAMAX,
    DL_OPT_NADAM,
    DL_OPT_COUNT
};

/* Loss description handed to the loss op. */
typedef struct dl_loss_desc {
    int kind;               /* DL_LOSS_* */
    int from_logits;        /* pred holds logits (or the fused pre-activation) */
    float label_smoothing;
    float delta;            /* huber */
    int sparse_target;      /* target holds class ids [rows] instead of [rows, cols] */
} dl_loss_desc;

/* Metric description handed to the metric op. */
typedef struct dl_metric_desc {
    int kind;               /* DL_METRIC_* */
    int sparse_target;      /* target holds class ids [rows] */
    float threshold;        /* binary accuracy, precision, recall: 0.5 */
    int k;                  /* top-k */
    int num_thresholds;     /* AUC: 200 */
} dl_metric_desc;

/* Number of host accumulators a metric needs (acc array length):
 * accuracies, mse, mae: {sum, count}; precision: {tp, fp}; recall: {tp, fn};
 * AUC: {tp[T], fp[T], tn[T], fn[T]} for T = num_thresholds. */
DL_HD int dl_metric_nacc(const dl_metric_desc *m)
{
    return m->kind == DL_METRIC_AUC ? 4 * m->num_thresholds : 2;
}

/* One optimizer step's constants, computed on the host (optimizer.c). */
typedef struct dl_opt_step {
    int kind;               /* DL_OPT_* */
    float lr;
    float beta_1, beta_2, epsilon;
    float rho, momentum;
    int nesterov, amsgrad, centered;
    float weight_decay;     /* decoupled decay (0: none), applied before the update */
    int t;                  /* iterations + 1 */
    /* precomputed from t: */
    float alpha;            /* Adam/AdamW: lr*sqrt(1-b2^t)/(1-b1^t); Adamax: lr/(1-b1^t) */
    float nadam_mhat_m, nadam_mhat_g, nadam_vhat; /* Nadam: m̂ = a*m + b*g; v̂ = v*c */
} dl_opt_step;

/* Slots per optimizer kind, in Keras's slot order:
 * SGD {momentum}; Adam {momentum, velocity, velocity_hat};
 * RMSprop {velocity, momentum, average_gradient}; Adagrad {accumulator};
 * Adamax {momentum, norm}; Nadam {momentum, velocity}. Unused slots (SGD
 * without momentum, Adam without amsgrad, ...) are still allocated. */
DL_HD int dl_opt_nslots(int kind)
{
    switch (kind) {
    case DL_OPT_SGD: return 1;
    case DL_OPT_ADAM: return 3;
    case DL_OPT_RMSPROP: return 3;
    case DL_OPT_ADAGRAD: return 1;
    case DL_OPT_ADAMAX: return 2;
    case DL_OPT_NADAM: return 2;
    default: return 0;
    }
}

/* ---- randomness: Philox4x32-10 (Salmon et al., Random123) ----
 * Counter-based: the numbers for (seed, stream, index) are the same on every
 * device and in any order of evaluation, so dropout masks, initial weights
 * and augmentation reproduce across CPU and GPU and across a resume. */
DL_HD void dl_philox4x32(uint64_t seed, uint64_t stream, uint64_t counter, uint32_t out[4])
{
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32);
    uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        uint64_t p0 = (uint64_t)0xD2511F53u * c0;
        uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* 32 random bits number `index` of a stream (four per Philox block). */
DL_HD uint32_t dl_rand_u32(uint64_t seed, uint64_t stream, uint64_t index)
{
    uint32_t block[4];
    dl_philox4x32(seed, stream, index >> 2, block);
    return block[index & 3];
}

/* Uniform in [0, 1) with 24 bits, from 32 random bits. */
DL_HD float dl_u32_to_unit(uint32_t bits)
{
    return (float)(bits >> 8) * (1.0f / 16777216.0f);
}

/* ---- per-element math ---- */

#endif
