/* kernels.h: per-element math shared by the CPU and CUDA backends.
 *
 * Everything here is a host-and-device inline function (DL_HD) or a plain
 * struct, so that the CPU tests exercise the exact arithmetic a CUDA kernel
 * runs; the CUDA side only maps threads to elements. C and C++ (nvcc) clean:
 * no compound literals, no `restrict`, no designated initialisers. */
#ifndef DL_KERNELS_H
#define DL_KERNELS_H

#include <math.h>
#include <stddef.h>
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

/* The most AUC thresholds a metric may ask for (the accumulators are
 * 4 per threshold). */
#define DL_AUC_MAX_THRESHOLDS 200

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

/* One optimizer step. The optimizer sets the hyper-parameters (double, as
 * configured: 1 - 0.999 must be 0.001, not 1 - float(0.999)) and t;
 * dl_opt_prepare derives the float constants that dl_opt_update_elem reads. */
typedef struct dl_opt_step {
    int kind;               /* DL_OPT_* */
    double lr;
    double beta_1, beta_2, epsilon;
    double rho, momentum;
    int nesterov, amsgrad, centered;
    double weight_decay;    /* decoupled decay (0: none), applied before the update */
    int t;                  /* iterations + 1 */
    /* derived by dl_opt_prepare: */
    float lr_f, epsilon_f, momentum_f, rho_f, beta_2_f;
    float decay;            /* weight_decay * lr: w -= w * decay */
    float one_minus_beta_1, one_minus_beta_2, one_minus_rho;
    float alpha;            /* Adam/AdamW: lr*sqrt(1-b2^t)/(1-b1^t); Adamax: lr/(1-b1^t) */
    float nadam_mhat_m, nadam_mhat_g, nadam_vhat; /* Nadam: m̂ = a*m + b*g; v̂ = v*c */
} dl_opt_step;

/* A 2-D convolution, NHWC: x [n, h, w, c] * kernel [kh, kw, c, filters]
 * -> y [n, oh, ow, filters] (a cross-correlation, no kernel flip). Padding
 * is zeros: pad_top/pad_left before, whatever the output size implies after
 * (Keras "same" puts the odd pixel bottom/right). Conv1D is h = kh = 1. */
typedef struct dl_conv_desc {
    int n, h, w, c;
    int kh, kw, filters;
    int sh, sw;                 /* strides */
    int dh, dw;                 /* dilation */
    int pad_top, pad_left;
    int oh, ow;
} dl_conv_desc;

/* Pooling, NHWC, window ph x pw, strides sh x sw, padding as above; max
 * pooling never lets padding win, average pooling divides by the number of
 * valid (non-padding) pixels in the window (Keras "same"). Global pooling
 * is the window h x w. */
enum { DL_POOL_MAX, DL_POOL_AVG };
typedef struct dl_pool_desc {
    int kind;                   /* DL_POOL_* */
    int n, h, w, c;
    int ph, pw, sh, sw;
    int pad_top, pad_left;
    int oh, ow;
} dl_pool_desc;

/* Random image augmentation of one batch, NHWC [n, h, w, c], Keras's
 * RandomFlip / RandomTranslation / RandomRotation / RandomZoom /
 * RandomContrast. Each sample draws its own parameters from Philox (seed,
 * stream = sample index of the step, ...), so CPU and GPU agree. */
enum {
    DL_AUG_FLIP,                /* flip_h, flip_v: which axes may flip (p = 0.5 each) */
    DL_AUG_TRANSLATE,           /* factor_h/w: [lo, hi] fractions of height/width */
    DL_AUG_ROTATE,              /* factor_lo/hi: fractions of a full turn */
    DL_AUG_ZOOM,                /* factor_h/w: [lo, hi] (negative = zoom in, Keras) */
    DL_AUG_CONTRAST             /* factor_lo/hi: contrast in [1 - lo, 1 + hi] */
};
enum { DL_FILL_REFLECT, DL_FILL_WRAP, DL_FILL_CONSTANT, DL_FILL_NEAREST };
typedef struct dl_aug_desc {
    int kind;                   /* DL_AUG_* */
    int n, h, w, c;
    int flip_h, flip_v;
    float height_lo, height_hi; /* translate/zoom: vertical range */
    float width_lo, width_hi;   /* translate/zoom: horizontal range */
    int zoom_keep_aspect;       /* zoom: width_factor null, the width reuses the height's draw */
    float factor_lo, factor_hi; /* rotate, contrast */
    int fill_mode;              /* DL_FILL_* */
    float fill_value;
    int bilinear;               /* interpolation: 1 bilinear, 0 nearest */
    float value_lo, value_hi;   /* contrast: clip range (Keras value_range) */
    uint64_t seed, step;
} dl_aug_desc;

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

/* SELU's fixed constants (Klambauer et al. 2017), as Keras. */
#define DL_SELU_ALPHA 1.6732632423543772f
#define DL_SELU_SCALE 1.0507009873554805f

/* Keras clips probabilities to [1e-7, 1 - 1e-7] on float32 tensors, so the
 * bounds in effect are the float32 values: 1 - DL_PROB_HI = 1.1920929e-07. */
#define DL_PROB_LO 1e-7f
#define DL_PROB_HI 0.99999988f

/* 1/(1 + exp(-x)) with exp of a non-positive argument only (no overflow). */
DL_HD float dl_sigmoidf(float x)
{
    if (x >= 0.0f)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

/* Activation value y = f(x) for DL_ACT_* except DL_ACT_SOFTMAX. alpha is
 * the negative slope of leaky_relu (0.2 for the string activation) and the
 * alpha of elu (1.0 for the string); the other activations ignore it. */
DL_HD float dl_act_f(int act, float x, float alpha)
{
    switch (act) {
    case DL_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case DL_ACT_RELU6: return fminf(fmaxf(x, 0.0f), 6.0f);
    case DL_ACT_LEAKY_RELU: return x > 0.0f ? x : alpha * x;
    case DL_ACT_ELU: return x > 0.0f ? x : alpha * expm1f(x);
    case DL_ACT_SELU: return DL_SELU_SCALE * (x > 0.0f ? x : DL_SELU_ALPHA * expm1f(x));
    /* exact form x * Phi(x) = 0.5 x erfc(-x / sqrt 2) */
    case DL_ACT_GELU: return 0.5f * x * erfcf(-0.70710678f * x);
    case DL_ACT_SILU: return x * dl_sigmoidf(x);
    case DL_ACT_SOFTPLUS: return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x)));
    case DL_ACT_SOFTSIGN: return x / (1.0f + fabsf(x));
    case DL_ACT_TANH: return tanhf(x);
    case DL_ACT_SIGMOID: return dl_sigmoidf(x);
    case DL_ACT_HARD_SIGMOID: return fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) / 6.0f;
    default: return x; /* DL_ACT_LINEAR */
    }
}

/* Derivative f'(x), given x and y = f(x) (sigmoid, tanh, elu and selu use
 * y, as TensorFlow's gradients do; the rest use x). At the kinks it follows
 * TensorFlow: relu'(0) = 0, relu6'(0) = relu6'(6) = 0, leaky_relu'(0) =
 * alpha, selu'(0) = scale, hard_sigmoid'(+-3) = 0. */
DL_HD float dl_act_df(int act, float x, float y, float alpha)
{
    switch (act) {
    case DL_ACT_RELU: return x > 0.0f ? 1.0f : 0.0f;
    case DL_ACT_RELU6: return x > 0.0f && x < 6.0f ? 1.0f : 0.0f;
    case DL_ACT_LEAKY_RELU: return x > 0.0f ? 1.0f : alpha;
    case DL_ACT_ELU: return x > 0.0f ? 1.0f : y + alpha; /* alpha e^x */
    case DL_ACT_SELU:
        return x >= 0.0f ? DL_SELU_SCALE : y + DL_SELU_SCALE * DL_SELU_ALPHA;
    case DL_ACT_GELU: /* Phi(x) + x phi(x) */
        return 0.5f * erfcf(-0.70710678f * x) + x * 0.39894228f * expf(-0.5f * x * x);
    case DL_ACT_SILU: {
        float s = dl_sigmoidf(x);
        return s * (1.0f + x * (1.0f - s));
    }
    case DL_ACT_SOFTPLUS: return dl_sigmoidf(x);
    case DL_ACT_SOFTSIGN: {
        float d = 1.0f + fabsf(x);
        return 1.0f / (d * d);
    }
    case DL_ACT_TANH: return 1.0f - y * y;
    case DL_ACT_SIGMOID: return y * (1.0f - y);
    case DL_ACT_HARD_SIGMOID: return x > -3.0f && x < 3.0f ? 1.0f / 6.0f : 0.0f;
    default: return 1.0f; /* DL_ACT_LINEAR */
    }
}

/* ---- loss terms ----
 * One element's loss for the losses that average over the last axis; each
 * returns the element's loss and writes d(loss)/d(pred) to *dpred. The loss
 * op sums them and scales by 1/(rows*cols). */
DL_HD float dl_loss_mse(float p, float t, float *dpred)
{
    float e = p - t;
    *dpred = 2.0f * e;
    return e * e;
}

DL_HD float dl_loss_mae(float p, float t, float *dpred)
{
    float e = p - t;
    *dpred = (float)(e > 0.0f) - (float)(e < 0.0f);
    return fabsf(e);
}

DL_HD float dl_loss_huber(float p, float t, float delta, float *dpred)
{
    float e = p - t, a = fabsf(e);
    if (a <= delta) {
        *dpred = e;
        return 0.5f * e * e;
    }
    *dpred = e > 0.0f ? delta : -delta;
    return delta * a - 0.5f * delta * delta;
}

/* Binary cross-entropy on a probability, t already smoothed; zero gradient
 * where the clip is active. */
DL_HD float dl_loss_bce(float p, float t, float *dpred)
{
    float c = fminf(fmaxf(p, DL_PROB_LO), DL_PROB_HI);
    int inside = p >= DL_PROB_LO && p <= DL_PROB_HI;
    *dpred = inside ? -t / c + (1.0f - t) / (1.0f - c) : 0.0f;
    return -(t * logf(c) + (1.0f - t) * logf(1.0f - c));
}

/* Binary cross-entropy on a logit x, t already smoothed (stable form). */
DL_HD float dl_loss_bce_logits(float x, float t, float *dx)
{
    *dx = dl_sigmoidf(x) - t;
    return fmaxf(x, 0.0f) - x * t + log1pf(expf(-fabsf(x)));
}

/* One element of an elementwise loss (mse, mae, huber, bce; not cce). */
DL_HD float dl_loss_elem(const dl_loss_desc *d, float p, float t, float *dpred)
{
    switch (d->kind) {
    case DL_LOSS_MSE: return dl_loss_mse(p, t, dpred);
    case DL_LOSS_MAE: return dl_loss_mae(p, t, dpred);
    case DL_LOSS_HUBER: return dl_loss_huber(p, t, d->delta, dpred);
    default: {
        float ls = d->label_smoothing, ts = t * (1.0f - ls) + 0.5f * ls;
        return d->from_logits ? dl_loss_bce_logits(p, ts, dpred) : dl_loss_bce(p, ts, dpred);
    }
    }
}

/* ---- metrics ---- */

/* Threshold i of T of Keras's AUC: [-1e-7, 1/(T-1), ..., (T-2)/(T-1), 1 + 1e-7],
 * rounded to float32 as Keras compares them with float32 predictions. */
DL_HD float dl_auc_threshold(int i, int T)
{
    if (i == 0)
        return -1e-7f;
    if (i == T - 1)
        return 1.0000001f;
    return (float)((double)i / (double)(T - 1));
}

/* ROC AUC from the accumulated counts acc = {tp[T], fp[T], tn[T], fn[T]},
 * Keras's summation_method "interpolation": trapezoids between consecutive
 * thresholds of (false positive rate, recall); 0/0 counts as 0. */
DL_HD double dl_auc_from_counts(const double *acc, int T)
{
    const double *tp = acc, *fp = acc + T, *tn = acc + 2 * T, *fn = acc + 3 * T;
    double auc = 0.0;
    for (int i = 0; i + 1 < T; i++) {
        double x0 = fp[i] + tn[i] > 0.0 ? fp[i] / (fp[i] + tn[i]) : 0.0;
        double x1 = fp[i + 1] + tn[i + 1] > 0.0 ? fp[i + 1] / (fp[i + 1] + tn[i + 1]) : 0.0;
        double y0 = tp[i] + fn[i] > 0.0 ? tp[i] / (tp[i] + fn[i]) : 0.0;
        double y1 = tp[i + 1] + fn[i + 1] > 0.0 ? tp[i + 1] / (tp[i + 1] + fn[i + 1]) : 0.0;
        auc += (x0 - x1) * 0.5 * (y0 + y1);
    }
    return auc;
}

/* ---- randomness ---- */

/* Inverted dropout's mask value from 32 random bits: kept (unit >= rate)
 * elements are scaled by 1/(1 - rate). */
DL_HD float dl_dropout_mask(uint32_t bits, float rate)
{
    return dl_u32_to_unit(bits) >= rate ? 1.0f / (1.0f - rate) : 0.0f;
}

/* ---- optimizers ---- */

/* Per-step constants of dl_opt_step from its hyper-parameters and t, in
 * double. Host only; call once per step: for Nadam it advances
 * *nadam_u_product (the product of the momentum schedule, starting at 1). */
static inline void dl_opt_prepare(dl_opt_step *s, double *nadam_u_product)
{
    double t = (double)s->t;
    s->lr_f = (float)s->lr;
    s->epsilon_f = (float)s->epsilon;
    s->momentum_f = (float)s->momentum;
    s->rho_f = (float)s->rho;
    s->beta_2_f = (float)s->beta_2;
    s->decay = (float)(s->weight_decay * s->lr);
    s->one_minus_beta_1 = (float)(1.0 - s->beta_1);
    s->one_minus_beta_2 = (float)(1.0 - s->beta_2);
    s->one_minus_rho = (float)(1.0 - s->rho);
    s->alpha = 0.0f;
    s->nadam_mhat_m = s->nadam_mhat_g = s->nadam_vhat = 0.0f;
    if (s->kind == DL_OPT_ADAM) {
        s->alpha = (float)(s->lr * sqrt(1.0 - pow(s->beta_2, t)) / (1.0 - pow(s->beta_1, t)));
    } else if (s->kind == DL_OPT_ADAMAX) {
        s->alpha = (float)(s->lr / (1.0 - pow(s->beta_1, t)));
    } else if (s->kind == DL_OPT_NADAM) {
        /* Dozat's momentum schedule with decay 0.96 */
        double u_now = s->beta_1 * (1.0 - 0.5 * pow(0.96, t));
        double u_next = s->beta_1 * (1.0 - 0.5 * pow(0.96, t + 1.0));
        *nadam_u_product *= u_now;
        s->nadam_mhat_m = (float)(u_next / (1.0 - *nadam_u_product * u_next));
        s->nadam_mhat_g = (float)((1.0 - u_now) / (1.0 - *nadam_u_product));
        s->nadam_vhat = (float)(1.0 / (1.0 - pow(s->beta_2, t)));
    }
}

/* One element's update per optimizer (Keras 3 rules,
 * tests/data/keras/README.md §12): decoupled weight decay, then the step.
 * Slot j of this element is slots[j * slot_stride], in dl_opt_nslots order.
 * One function per kind so a loop over elements has no switch inside and
 * vectorizes. */
DL_HD void dl_opt_sgd_elem(const dl_opt_step *s, float *w, float g, float *slots,
                           size_t slot_stride)
{
    float wv = *w - *w * s->decay;
    (void)slot_stride;
    if (s->momentum_f == 0.0f) {
        wv -= s->lr_f * g;
    } else {
        float *m = &slots[0];
        *m = s->momentum_f * *m - s->lr_f * g;
        wv += s->nesterov ? s->momentum_f * *m - s->lr_f * g : *m;
    }
    *w = wv;
}

DL_HD void dl_opt_adam_elem(const dl_opt_step *s, float *w, float g, float *slots,
                            size_t slot_stride)
{
    float wv = *w - *w * s->decay;
    float *m = &slots[0], *v = &slots[slot_stride];
    *m += (g - *m) * s->one_minus_beta_1;
    *v += (g * g - *v) * s->one_minus_beta_2;
    float v_used = *v;
    if (s->amsgrad) {
        float *v_hat = &slots[2 * slot_stride];
        *v_hat = fmaxf(*v_hat, *v);
        v_used = *v_hat;
    }
    *w = wv - s->alpha * *m / (sqrtf(v_used) + s->epsilon_f);
}

DL_HD void dl_opt_rmsprop_elem(const dl_opt_step *s, float *w, float g, float *slots,
                               size_t slot_stride)
{
    float wv = *w - *w * s->decay;
    float *v = &slots[0];
    *v = s->rho_f * *v + s->one_minus_rho * g * g;
    float den = *v;
    if (s->centered) {
        float *avg = &slots[2 * slot_stride];
        *avg = s->rho_f * *avg + s->one_minus_rho * g;
        den -= *avg * *avg;
    }
    float inc = s->lr_f * g / sqrtf(den + s->epsilon_f); /* epsilon inside the sqrt */
    if (s->momentum_f > 0.0f) {
        float *m = &slots[slot_stride];
        *m = s->momentum_f * *m + inc;
        wv -= *m;
    } else {
        wv -= inc;
    }
    *w = wv;
}

DL_HD void dl_opt_adagrad_elem(const dl_opt_step *s, float *w, float g, float *slots,
                               size_t slot_stride)
{
    float wv = *w - *w * s->decay;
    float *acc = &slots[0];
    (void)slot_stride;
    *acc += g * g;
    *w = wv - s->lr_f * g / sqrtf(*acc + s->epsilon_f);
}

DL_HD void dl_opt_adamax_elem(const dl_opt_step *s, float *w, float g, float *slots,
                              size_t slot_stride)
{
    float wv = *w - *w * s->decay;
    float *m = &slots[0], *u = &slots[slot_stride];
    *m += (g - *m) * s->one_minus_beta_1;
    *u = fmaxf(s->beta_2_f * *u, fabsf(g));
    *w = wv - s->alpha * *m / (*u + s->epsilon_f);
}

DL_HD void dl_opt_nadam_elem(const dl_opt_step *s, float *w, float g, float *slots,
                             size_t slot_stride)
{
    float wv = *w - *w * s->decay;
    float *m = &slots[0], *v = &slots[slot_stride];
    *m += (g - *m) * s->one_minus_beta_1;
    *v += (g * g - *v) * s->one_minus_beta_2;
    float m_hat = s->nadam_mhat_m * *m + s->nadam_mhat_g * g;
    float v_hat = *v * s->nadam_vhat;
    *w = wv - s->lr_f * m_hat / (sqrtf(v_hat) + s->epsilon_f);
}

/* Dispatch by kind (a GPU thread per element calls this). */
DL_HD void dl_opt_update_elem(const dl_opt_step *s, float *w, float g, float *slots,
                              size_t slot_stride)
{
    switch (s->kind) {
    case DL_OPT_SGD: dl_opt_sgd_elem(s, w, g, slots, slot_stride); break;
    case DL_OPT_ADAM: dl_opt_adam_elem(s, w, g, slots, slot_stride); break;
    case DL_OPT_RMSPROP: dl_opt_rmsprop_elem(s, w, g, slots, slot_stride); break;
    case DL_OPT_ADAGRAD: dl_opt_adagrad_elem(s, w, g, slots, slot_stride); break;
    case DL_OPT_ADAMAX: dl_opt_adamax_elem(s, w, g, slots, slot_stride); break;
    case DL_OPT_NADAM: dl_opt_nadam_elem(s, w, g, slots, slot_stride); break;
    default: break;
    }
}

#endif
