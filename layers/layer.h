/* layer.h: what every layer kind provides. A kind is one const table (its
 * Keras class name and argument table, shape rule, forward, backward) in its
 * own file plus one row in registry.c. Layers see only the backend op table:
 * one layer file serves every device. */
#ifndef LY_LAYER_H
#define LY_LAYER_H

#include "engine/backend/backend.h"

#define LY_MAX_PARAMS 4

/* A weight of a layer: declared by build(), placed in the model's slabs. */
typedef struct ly_param {
    const char *name;           /* Keras variable name: "kernel", "bias" */
    dl_shape shape;             /* e.g. [784, 256] */
    int trainable;
    const dl_kind_ref *init;    /* initializer */
    const dl_kind_ref *reg;     /* regularizer; NULL or kind NULL: none */
    size_t offset;              /* into the model's weight slab */
    float *w;                   /* device [prod(shape)] */
    float *g;                   /* device [prod(shape)]; NULL if not trainable */
} ly_param;

/* What a forward pass needs to know beyond its input. */
typedef struct ly_ctx {
    int training;               /* dropout and friends active */
    int64_t step;               /* global training step: RNG counter base */
} ly_ctx;

typedef struct ly_layer ly_layer;

typedef struct ly_kind {
    dl_kind base;               /* Keras class name and argument table */
    const char *snake;          /* auto-name prefix: "dense", "dropout" */
    /* From l->in and l->args: sets l->out, declares params (ly_add_param)
     * and l->scratch_per_sample. A shape that does not fit is an error
     * (exit 2) saying what was expected; the caller adds the location. */
    int (*build)(ly_layer *l, dl_err *err);
    /* x [batch, in] -> y [batch, out] */
    void (*forward)(ly_layer *l, const ly_ctx *ctx, const float *x, float *y, int batch);
    /* dy [batch, out] -> dx [batch, in] (dx NULL: not needed) and the
     * parameter gradients (overwritten, not accumulated). When
     * l->fused_output is set, dy is the gradient w.r.t. the pre-activation.
     * y, the last forward's output, is the layer's to overwrite: nothing
     * reads it once its backward has run (Dense and Conv put the gradient
     * w.r.t. an in-place activation's input there). */
    void (*backward)(ly_layer *l, const float *x, float *y, const float *dy, float *dx,
                     int batch);
    /* The activation applied last (DL_ACT_*), so a following cross-entropy
     * can take the logits instead; NULL: none. */
    int (*output_activation)(const ly_layer *l);
    /* Device pointer to the last forward's pre-activation [batch, out];
     * NULL where the layer keeps none (ly_activation_in_place). */
    const float *(*preactivation)(const ly_layer *l, const float *x);
    /* Floats of scratch space forward/backward need only while they run
     * (e.g. im2col columns) for a batch of `batch`; NULL: none. One buffer
     * of the largest such size is shared by all layers. */
    size_t (*workspace)(const ly_layer *l, int batch);
} ly_kind;

struct ly_layer {
    const ly_kind *kind;
    const void *args;           /* the kind's args struct (owned by the config) */
    int index;                  /* position in the model */
    char name[64];              /* Keras auto-name: "dense_1" */
    dl_shape in, out;           /* per-sample shapes */
    int nparams;
    ly_param params[LY_MAX_PARAMS];
    size_t scratch_per_sample;  /* floats kept from forward to backward, per sample */
    size_t scratch_fixed;       /* ... and independent of the batch (batch statistics) */
    float *scratch;             /* device [batch_cap * scratch_per_sample + scratch_fixed] */
    float *workspace;           /* device, shared; see ly_kind.workspace */
    dl_backend *be;
    uint64_t seed;              /* run seed, for dropout masks */
    int fused_output;           /* the loss consumes this layer's pre-activation */
    int64_t step;               /* ctx->step of the last training forward, for layers whose
                                   backward redraws its randomness (augmentation) */
};

/* Declares a parameter during build(). */
ly_param *ly_add_param(ly_layer *l, const char *name, const dl_shape *shape, int trainable,
                       const dl_kind_ref *init, const dl_kind_ref *reg);

/* Activation names in DL_ACT_* order, for argument tables. */
extern const char *const ly_activation_names[];

/* Rows of a last-axis operation: batch * prod(shape[0 .. ndim-2]). */
int ly_rows(const dl_shape *s, int batch);

#endif
