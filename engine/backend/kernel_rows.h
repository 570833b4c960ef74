/* kernel_rows.h: the per-element bodies of the CUDA backend's own kernels
 * where the CPU backend writes the same math as loops of its own: the index
 * math of padding, upsampling and pooling, row-wise losses and metrics,
 * LayerNormalization rows, augmentation, the L1/L2 penalty. Each is a
 * host-and-device function of one index; a CUDA kernel maps one thread to
 * one index. The CPU test (tests/unit/test_gpu_parity.c) runs every body
 * over its whole grid and compares with the CPU backend's op, so this math
 * is checked on machines without a GPU. Sums and products run in the CPU
 * backend's order, so most results match it bit for bit.
 *
 * C11 and C++17 (nvcc) alike, as kernels.h. */
#ifndef DL_GPU_KERNELS_H
#define DL_GPU_KERNELS_H

#include "engine/backend/kernel_image.h"

/* ---- zero padding and cropping, NHWC ----
 * dst [n, dst_h, dst_w, c] is a window of src [n, src_h, src_w, c]: dst
 * pixel (r, q) is src pixel (r + row_shift, q + col_shift), zero outside
 * src. Padding shifts by (-top, -left), cropping by (+top, +left). */
typedef struct dl_row_window {
    int n, c;
    int src_h, src_w;
    int dst_h, dst_w;
    int row_shift, col_shift;
} dl_row_window;

DL_HD size_t dl_row_window_size(const dl_row_window *g)
{
    return (size_t)g->n * g->dst_h * g->dst_w * g->c;
}

/* dst element i */
DL_HD float dl_row_window_at(const dl_row_window *g, const float *src, size_t i)
{
    int k = (int)(i % (size_t)g->c);
    size_t pixel = i / (size_t)g->c;
    int q = (int)(pixel % (size_t)g->dst_w);
    size_t rest = pixel / (size_t)g->dst_w;
    int r = (int)(rest % (size_t)g->dst_h);
    size_t b = rest / (size_t)g->dst_h;
    int sr = r + g->row_shift, sq = q + g->col_shift;
    if (sr < 0 || sr >= g->src_h || sq < 0 || sq >= g->src_w)
        return 0.0f;
    return src[((b * (size_t)g->src_h + (size_t)sr) * (size_t)g->src_w + (size_t)sq) *
                   (size_t)g->c +
               (size_t)k];
}

/* ---- nearest-neighbour upsampling by (fh, fw), x [n, h, w, c] ---- */

/* y [n, h*fh, w*fw, c] element i: input pixel (r / fh, q / fw) */
DL_HD float dl_row_upsample_at(const float *x, int h, int w, int c, int fh, int fw, size_t i)
{
    size_t ow = (size_t)w * fw, oh = (size_t)h * fh;
    int k = (int)(i % (size_t)c);
    size_t pixel = i / (size_t)c;
    size_t q = pixel % ow, rest = pixel / ow;
    size_t r = rest % oh, b = rest / oh;
    return x[((b * (size_t)h + r / (size_t)fh) * (size_t)w + q / (size_t)fw) * (size_t)c +
             (size_t)k];
}

/* dx [n, h, w, c] element i: the sum of its fh x fw block of dy, rows
 * then columns */
DL_HD float dl_row_upsample_backward_at(const float *dy, int h, int w, int c, int fh, int fw,
                                        size_t i)
{
    size_t ow = (size_t)w * fw, oh = (size_t)h * fh;
    int k = (int)(i % (size_t)c);
    size_t pixel = i / (size_t)c;
    size_t q = pixel % (size_t)w, rest = pixel / (size_t)w;
    size_t r = rest % (size_t)h, b = rest / (size_t)h;
    float sum = 0.0f;
    for (int a = 0; a < fh; a++)
        for (int e = 0; e < fw; e++)
            sum += dy[((b * oh + r * (size_t)fh + (size_t)a) * ow + q * (size_t)fw + (size_t)e) *
                          (size_t)c +
                      (size_t)k];
    return sum;
}

/* SpatialDropout2D: the mask [n, c] entry of element i of [n, hw, c] */
DL_HD size_t dl_row_channel_of(size_t i, int hw, int c)
{
    return i / ((size_t)hw * (size_t)c) * (size_t)c + i % (size_t)c;
}

/* ---- pooling (dl_pool_desc), used where cuDNN cannot pad as Keras ---- */

/* The input pixels [r0, r1) x [c0, c1) under output pixel (i, j), clipped
 * to the input: padding never wins a maximum nor counts in an average. */
typedef struct dl_row_pool_window {
    int r0, r1, c0, c1;
} dl_row_pool_window;

DL_HD dl_row_pool_window dl_row_pool_window_at(const dl_pool_desc *d, int i, int j)
{
    dl_row_pool_window win;
    int top = i * d->sh - d->pad_top, left = j * d->sw - d->pad_left;
    win.r0 = top > 0 ? top : 0;
    win.c0 = left > 0 ? left : 0;
    win.r1 = top + d->ph < d->h ? top + d->ph : d->h;
    win.c1 = left + d->pw < d->w ? left + d->pw : d->w;
    return win;
}

/* y [n, oh, ow, c] element i */
DL_HD float dl_row_pool_forward_at(const dl_pool_desc *d, const float *x, size_t i)
{
    size_t c = (size_t)d->c, row = (size_t)d->w * c;
    int k = (int)(i % c);
    size_t pixel = i / c;
    int j = (int)(pixel % (size_t)d->ow);
    size_t rest = pixel / (size_t)d->ow;
    int oi = (int)(rest % (size_t)d->oh);
    size_t b = rest / (size_t)d->oh;
    const float *plane = x + b * (size_t)d->h * row + (size_t)k; /* channel k of sample b */
    dl_row_pool_window win = dl_row_pool_window_at(d, oi, j);
    float acc = d->kind == DL_POOL_MAX ? -INFINITY : 0.0f;
    for (int r = win.r0; r < win.r1; r++)
        for (int q = win.c0; q < win.c1; q++) {
            float v = plane[(size_t)r * row + (size_t)q * c];
            acc = d->kind == DL_POOL_MAX ? (v > acc ? v : acc) : acc + v;
        }
    if (d->kind == DL_POOL_MAX)
        return acc;
    return acc * (1.0f / (float)((win.r1 - win.r0) * (win.c1 - win.c0)));
}

/* The outputs [*lo, *hi] along one axis whose windows (size `window`,
 * stride, `pad` before) cover input position pos. */
DL_HD void dl_row_pool_covering(int pos, int pad, int window, int stride, int outputs, int *lo,
                                int *hi)
{
    int earliest = pos + pad - window + 1; /* the lowest window start (+ pad) covering pos */
    *lo = earliest <= 0 ? 0 : (earliest + stride - 1) / stride;
    *hi = (pos + pad) / stride;
    if (*hi > outputs - 1)
        *hi = outputs - 1;
}

/* 1 when pixel (r, q) is the first pixel of the window, in row-major
 * order, holding the window's maximum `top`: the one that receives the
 * gradient. plane: channel k of one sample, pixel stride c, row stride w*c. */
DL_HD int dl_row_pool_routes_to(const dl_pool_desc *d, const float *plane, float top,
                                dl_row_pool_window win, int r, int q)
{
    size_t c = (size_t)d->c, row = (size_t)d->w * c;
    for (int rr = win.r0; rr < win.r1; rr++)
        for (int qq = win.c0; qq < win.c1; qq++)
            if (plane[(size_t)rr * row + (size_t)qq * c] == top)
                return rr == r && qq == q;
    return 0;
}

/* dx [n, h, w, c] element i, gathered from the windows that cover it (in
 * output order, so overlapping windows add up as on the CPU) */
DL_HD float dl_row_pool_backward_at(const dl_pool_desc *d, const float *x, const float *y,
                                    const float *dy, size_t i)
{
    size_t c = (size_t)d->c, row = (size_t)d->w * c;
    int k = (int)(i % c);
    size_t pixel = i / c;
    int q = (int)(pixel % (size_t)d->w);
    size_t rest = pixel / (size_t)d->w;
    int r = (int)(rest % (size_t)d->h);
    size_t b = rest / (size_t)d->h;
    const float *plane = x + b * (size_t)d->h * row + (size_t)k;
    int i0, i1, j0, j1;
    dl_row_pool_covering(r, d->pad_top, d->ph, d->sh, d->oh, &i0, &i1);
    dl_row_pool_covering(q, d->pad_left, d->pw, d->sw, d->ow, &j0, &j1);
    float g = 0.0f;
    for (int oi = i0; oi <= i1; oi++)
        for (int oj = j0; oj <= j1; oj++) {
            size_t at =
                ((b * (size_t)d->oh + (size_t)oi) * (size_t)d->ow + (size_t)oj) * c + (size_t)k;
            dl_row_pool_window win = dl_row_pool_window_at(d, oi, oj);
            if (d->kind == DL_POOL_MAX)
                g += dl_row_pool_routes_to(d, plane, y[at], win, r, q) ? dy[at] : 0.0f;
            else
                g += dy[at] * (1.0f / (float)((win.r1 - win.r0) * (win.c1 - win.c0)));
        }
    return g;
}

/* ---- losses (the loss op's per-element and per-row terms) ---- */

/* The class a sparse target names, or -1 if it is not an integer in
 * [0, cols) (such a row matches no class). */
DL_HD int dl_row_class_id(float label, int cols)
{
    if (!(label >= 0.0f && label < (float)cols))
        return -1;
    int id = (int)label;
    return (float)id == label ? id : -1;
}

/* mse, mae, huber, bce element i: grad[i] = d loss / d pred[i] times
 * grad_scale; returns the element's loss. */
DL_HD double dl_row_loss_elem_at(const dl_loss_desc *d, const float *pred, const float *target,
                                 float *grad, float grad_scale, size_t i)
{
    float dpred;
    float loss = dl_loss_elem(d, pred[i], target[i], &dpred);
    grad[i] = dpred * grad_scale;
    return loss;
}

/* Cross-entropy on logits z [cols]: tg [cols] holds the smoothed targets
 * t' on entry and (softmax(z) sum t' - t') grad_scale on return; returns
 * -sum t' log_softmax(z). */
DL_HD double dl_row_cce_logits_row(const float *z, float *tg, int cols, float grad_scale)
{
    float max = z[0];
    for (int k = 1; k < cols; k++)
        max = fmaxf(max, z[k]);
    double sum_exp = 0.0, t_sum = 0.0, t_dot_z = 0.0;
    for (int k = 0; k < cols; k++) {
        sum_exp += exp((double)(z[k] - max));
        t_sum += tg[k];
        t_dot_z += (double)tg[k] * (z[k] - max);
    }
    double log_sum = log(sum_exp);
    for (int k = 0; k < cols; k++) {
        double softmax = exp((double)(z[k] - max) - log_sum);
        tg[k] = (float)(softmax * t_sum - tg[k]) * grad_scale;
    }
    return t_sum * log_sum - t_dot_z;
}

/* Cross-entropy on probabilities p [cols], renormalised and clipped as
 * Keras; tg as above, the gradient taken through the renormalisation. */
DL_HD double dl_row_cce_probs_row(const float *p, float *tg, int cols, float grad_scale)
{
    double sum_p = 0.0;
    for (int k = 0; k < cols; k++)
        sum_p += p[k];
    float inv_sum = (float)(1.0 / sum_p);
    double loss = 0.0, g_dot_p = 0.0;
    for (int k = 0; k < cols; k++) {
        float p_hat = p[k] * inv_sum;
        float clipped = fminf(fmaxf(p_hat, DL_PROB_LO), DL_PROB_HI);
        int inside = p_hat >= DL_PROB_LO && p_hat <= DL_PROB_HI;
        loss -= (double)tg[k] * log((double)clipped);
        tg[k] = inside ? -tg[k] / clipped : 0.0f;
        g_dot_p += (double)tg[k] * p_hat;
    }
    for (int k = 0; k < cols; k++)
        tg[k] = (float)((tg[k] - g_dot_p) / sum_p) * grad_scale;
    return loss;
}

/* Categorical cross-entropy of row r of pred [rows, cols]: writes grad's
 * row r and returns the row's loss. */
DL_HD double dl_row_cce_row(const dl_loss_desc *d, const float *pred, const float *target,
                            float *grad, int r, int cols, float grad_scale)
{
    const float *row = pred + (size_t)r * cols;
    float *tg = grad + (size_t)r * cols; /* [cols]: smoothed targets, then the gradient */
    float keep = 1.0f - d->label_smoothing, spread = d->label_smoothing / (float)cols;
    if (d->sparse_target) {
        int id = dl_row_class_id(target[r], cols);
        for (int k = 0; k < cols; k++)
            tg[k] = (k == id ? keep : 0.0f) + spread;
    } else {
        for (int k = 0; k < cols; k++)
            tg[k] = target[(size_t)r * cols + k] * keep + spread;
    }
    return d->from_logits ? dl_row_cce_logits_row(row, tg, cols, grad_scale)
                          : dl_row_cce_probs_row(row, tg, cols, grad_scale);
}

/* ---- metrics (accumulator layouts: dl_metric_nacc) ---- */

/* The first maximum of x [n] */
DL_HD int dl_row_argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

/* Target element (r, c); a class id counts as its one-hot row. */
DL_HD float dl_row_target_value(const dl_metric_desc *d, const float *target, int r, int c,
                                int cols)
{
    if (d->sparse_target)
        return dl_row_class_id(target[r], cols) == c ? 1.0f : 0.0f;
    return target[(size_t)r * cols + c];
}

DL_HD int dl_row_target_class(const dl_metric_desc *d, const float *target, int r, int cols)
{
    if (d->sparse_target)
        return dl_row_class_id(target[r], cols);
    return dl_row_argmax(target + (size_t)r * cols, cols);
}

/* Keras's in_top_k: fewer than k predictions strictly above the target's
 * (ties in its favour); a non-finite target prediction never hits. */
DL_HD int dl_row_in_top_k(const float *p, int cols, int target, int k)
{
    if (target < 0 || !isfinite(p[target]))
        return 0;
    int larger = 0;
    for (int c = 0; c < cols; c++)
        larger += p[c] > p[target];
    return larger < k;
}

/* Row r's contributions to acc[2], for every metric but AUC. */
DL_HD void dl_row_metric_row(const dl_metric_desc *d, const float *pred, const float *target, int r,
                             int cols, double *acc)
{
    const float *row = pred + (size_t)r * cols;
    switch (d->kind) {
    case DL_METRIC_BINARY_ACCURACY: { /* {sum of per-sample means, samples} */
        int matches = 0;
        for (int c = 0; c < cols; c++)
            matches +=
                dl_row_target_value(d, target, r, c, cols) == (row[c] > d->threshold ? 1.0f : 0.0f);
        acc[0] += (double)matches / cols;
        acc[1] += 1.0;
        break;
    }
    case DL_METRIC_CATEGORICAL_ACCURACY: /* {correct, samples} */
        acc[0] += dl_row_argmax(row, cols) == dl_row_target_class(d, target, r, cols);
        acc[1] += 1.0;
        break;
    case DL_METRIC_TOP_K:
        acc[0] += dl_row_in_top_k(row, cols, dl_row_target_class(d, target, r, cols), d->k);
        acc[1] += 1.0;
        break;
    case DL_METRIC_MSE:
    case DL_METRIC_MAE: { /* {sum of per-sample means, samples} */
        double sum = 0.0;
        for (int c = 0; c < cols; c++) {
            double e = (double)row[c] - dl_row_target_value(d, target, r, c, cols);
            sum += d->kind == DL_METRIC_MSE ? e * e : fabs(e);
        }
        acc[0] += sum / cols;
        acc[1] += 1.0;
        break;
    }
    case DL_METRIC_PRECISION: /* {tp, fp} */
    case DL_METRIC_RECALL:    /* {tp, fn} */
        for (int c = 0; c < cols; c++) {
            int pred_pos = row[c] > d->threshold;
            int label_pos = dl_row_target_value(d, target, r, c, cols) != 0.0f;
            if (pred_pos && label_pos)
                acc[0] += 1.0;
            else if (d->kind == DL_METRIC_PRECISION ? pred_pos : label_pos)
                acc[1] += 1.0;
        }
        break;
    default:
        break;
    }
}

/* AUC: how many of the T ascending thresholds p exceeds. */
DL_HD int dl_row_auc_exceeded(float p, int T)
{
    int lo = 0, hi = T;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (p > dl_auc_threshold(mid, T))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* AUC: element i of pred [rows, cols] counts in bucket label * (T + 1) +
 * thresholds exceeded, label 1 for a positive target. */
DL_HD int dl_row_auc_bucket(const dl_metric_desc *d, const float *pred, const float *target,
                            int cols, size_t i)
{
    int T = d->num_thresholds;
    int r = (int)(i / (size_t)cols), c = (int)(i % (size_t)cols);
    int positive = dl_row_target_value(d, target, r, c, cols) != 0.0f; /* Keras: bool(label) */
    return positive * (T + 1) + dl_row_auc_exceeded(pred[i], T);
}

/* AUC, host side: adds the bucket counts [2, T + 1] to acc = {tp[T],
 * fp[T], tn[T], fn[T]}. An element exceeding e thresholds is predicted
 * positive at thresholds 0 .. e-1 and negative at e .. T-1. */
static inline void dl_row_auc_accumulate(const double *buckets, int T, double *acc)
{
    double *tp = acc, *fp = acc + T, *tn = acc + 2 * T, *fn = acc + 3 * T;
    for (int positive = 0; positive < 2; positive++) {
        const double *count = buckets + positive * (T + 1); /* [T + 1] by thresholds exceeded */
        double *above = positive ? tp : fp, *below = positive ? fn : tn;
        double total = 0.0, exceeding_at_most_i = 0.0;
        for (int e = 0; e <= T; e++)
            total += count[e];
        for (int i = 0; i < T; i++) {
            exceeding_at_most_i += count[i];
            below[i] += exceeding_at_most_i;
            above[i] += total - exceeding_at_most_i;
        }
    }
}

/* ---- normalization ---- */

/* The biased batch variance behind cuDNN's saved inverse standard
 * deviation 1/sqrt(var + epsilon). */
DL_HD float dl_row_variance_from_inv_std(float inv_std, float epsilon)
{
    return (float)(1.0 / ((double)inv_std * inv_std) - epsilon);
}

/* LayerNormalization of row r of x [rows, c]: y's row, mean[r], inv_std[r]. */
DL_HD void dl_row_layernorm_row(const float *x, int r, int c, const float *gamma, const float *beta,
                                float epsilon, float *y, float *mean, float *inv_std)
{
    const float *xr = x + (size_t)r * c;
    float *yr = y + (size_t)r * c;
    double sum = 0.0, sq = 0.0;
    for (int k = 0; k < c; k++)
        sum += xr[k];
    double m = sum / c;
    for (int k = 0; k < c; k++)
        sq += (xr[k] - m) * (xr[k] - m);
    mean[r] = (float)m;
    inv_std[r] = dl_norm_inv_std((float)(sq / c), epsilon);
    for (int k = 0; k < c; k++)
        yr[k] = dl_norm_apply(xr[k], mean[r], inv_std[r], gamma[k], beta[k]);
}

/* Its backward for row r: dx's row (dgamma, dbeta: dl_row_layernorm_param_terms). */
DL_HD void dl_row_layernorm_backward_row(const float *x, const float *dy, int r, int c,
                                         const float *gamma, const float *mean,
                                         const float *inv_std, float *dx)
{
    const float *xr = x + (size_t)r * c, *dyr = dy + (size_t)r * c;
    float *dxr = dx + (size_t)r * c;
    double sum_g = 0.0, sum_g_xhat = 0.0;
    for (int k = 0; k < c; k++) {
        float xhat = (xr[k] - mean[r]) * inv_std[r], g = dyr[k] * gamma[k];
        sum_g += g;
        sum_g_xhat += (double)g * xhat;
    }
    float mean_g = (float)(sum_g / c), mean_g_xhat = (float)(sum_g_xhat / c);
    for (int k = 0; k < c; k++) {
        float xhat = (xr[k] - mean[r]) * inv_std[r];
        dxr[k] = dl_norm_backward(dyr[k] * gamma[k], xhat, inv_std[r], mean_g, mean_g_xhat);
    }
}

/* Element (r, k)'s terms of {dgamma[k], dbeta[k]}: dy xhat, dy. */
DL_HD void dl_row_layernorm_param_terms(const float *x, const float *dy, int r, int k, int c,
                                        const float *mean, const float *inv_std, double *acc)
{
    size_t at = (size_t)r * c + k;
    float xhat = (x[at] - mean[r]) * inv_std[r];
    acc[0] += dy[at] * xhat;
    acc[1] += dy[at];
}

/* ---- the L1/L2 penalty, element i: adds to g, returns |w|, w^2 in acc ---- */
DL_HD void dl_row_regularize_at(const float *w, float *g, float l1, float l2, size_t i, double *acc)
{
    float sign = (float)(w[i] > 0.0f) - (float)(w[i] < 0.0f);
    g[i] += l1 * sign + 2.0f * l2 * w[i];
    acc[0] += fabs((double)w[i]);
    acc[1] += (double)w[i] * w[i];
}

/* ---- augmentation (dl_aug_desc), x, y [n, h, w, c] ---- */

/* Flip, translation, rotation, zoom: output pixel p (sample, row, column)
 * of y, all channels, from the taps of its sample's draw. */
DL_HD void dl_row_warp_pixel(const dl_aug_desc *d, const float *x, float *y, size_t p)
{
    size_t image = (size_t)d->h * d->w * d->c;
    int ox = (int)(p % (size_t)d->w), oy = (int)(p / (size_t)d->w % (size_t)d->h);
    int b = (int)(p / ((size_t)d->w * d->h));
    dl_aug_sample s;
    dl_aug_taps t;
    dl_aug_draw(d, b, &s);
    dl_aug_taps_at(d, &s, oy, ox, &t);
    const float *img = x + (size_t)b * image;
    float *out = y + p * (size_t)d->c; /* [c] */
    for (int k = 0; k < d->c; k++)
        out[k] = t.outside * d->fill_value;
    for (int j = 0; j < t.n; j++)
        for (int k = 0; k < d->c; k++)
            out[k] += t.weight[j] * img[(size_t)t.pixel[j] * d->c + k];
}

/* Their transpose for channel k of sample b (bk = b * c + k): dx's channel
 * (overwritten) receives every output pixel's taps, in the CPU's order. */
DL_HD void dl_row_warp_backward_channel(const dl_aug_desc *d, const float *dy, float *dx, size_t bk)
{
    int b = (int)(bk / (size_t)d->c), k = (int)(bk % (size_t)d->c);
    size_t image = (size_t)d->h * d->w * d->c;
    const float *g = dy + (size_t)b * image + k;
    float *plane = dx + (size_t)b * image + k; /* pixel stride c */
    dl_aug_sample s;
    dl_aug_draw(d, b, &s);
    for (int p = 0; p < d->h * d->w; p++)
        plane[(size_t)p * d->c] = 0.0f;
    for (int oy = 0; oy < d->h; oy++)
        for (int ox = 0; ox < d->w; ox++) {
            dl_aug_taps t;
            dl_aug_taps_at(d, &s, oy, ox, &t);
            float gv = g[((size_t)oy * d->w + ox) * d->c];
            for (int j = 0; j < t.n; j++)
                plane[(size_t)t.pixel[j] * d->c] += t.weight[j] * gv;
        }
}

/* Mean of channel k of one image [hw, c] */
DL_HD float dl_row_channel_mean(const float *img, int hw, int c, int k)
{
    double sum = 0.0;
    for (int p = 0; p < hw; p++)
        sum += img[(size_t)p * c + k];
    return (float)(sum / hw);
}

/* RandomContrast of channel k of sample b (bk = b * c + k). */
DL_HD void dl_row_contrast_channel(const dl_aug_desc *d, const float *x, float *y, size_t bk)
{
    int b = (int)(bk / (size_t)d->c), k = (int)(bk % (size_t)d->c), hw = d->h * d->w;
    size_t image = (size_t)hw * d->c;
    dl_aug_sample s;
    dl_aug_draw(d, b, &s);
    const float *xi = x + (size_t)b * image;
    float *yi = y + (size_t)b * image;
    float mean = dl_row_channel_mean(xi, hw, d->c, k);
    for (int p = 0; p < hw; p++) {
        size_t at = (size_t)p * d->c + k;
        yi[at] = dl_aug_contrast(xi[at], mean, s.contrast, d->value_lo, d->value_hi);
    }
}

/* Its transpose: with g = dy where not clipped, dx = f g + (1 - f) mean(g). */
DL_HD void dl_row_contrast_backward_channel(const dl_aug_desc *d, const float *x, const float *dy,
                                            float *dx, size_t bk)
{
    int b = (int)(bk / (size_t)d->c), k = (int)(bk % (size_t)d->c), hw = d->h * d->w;
    size_t image = (size_t)hw * d->c;
    dl_aug_sample s;
    dl_aug_draw(d, b, &s);
    const float *xi = x + (size_t)b * image, *dyi = dy + (size_t)b * image;
    float *dxi = dx + (size_t)b * image;
    float f = s.contrast, mean = dl_row_channel_mean(xi, hw, d->c, k);
    double sum_g = 0.0;
    for (int p = 0; p < hw; p++) {
        size_t at = (size_t)p * d->c + k;
        sum_g += dyi[at] * dl_aug_contrast_pass(xi[at], mean, f, d->value_lo, d->value_hi);
    }
    float mean_term = (1.0f - f) * (float)(sum_g / hw);
    for (int p = 0; p < hw; p++) {
        size_t at = (size_t)p * d->c + k;
        float g = dyi[at] * dl_aug_contrast_pass(xi[at], mean, f, d->value_lo, d->value_hi);
        dxi[at] = f * g + mean_term;
    }
}

#endif
