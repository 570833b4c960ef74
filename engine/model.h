/* model.h: the Sequential stack. One slab for all weights, one for their
 * gradients; layers get views. Activation buffers are allocated once per
 * batch capacity, never inside the step loop. */
#ifndef MODEL_MODEL_H
#define MODEL_MODEL_H

#include "engine/optimizer.h"
#include "layers/layer.h"

typedef struct model {
    dl_backend *be;
    char name[64];
    dl_shape input_shape;       /* per sample */
    int nlayers;
    ly_layer *layers;           /* [nlayers] */
    int nparams;
    ly_param **params;          /* [nparams] every weight, in layer order */
    size_t nweights;            /* floats in the slabs */
    size_t ntrainable;          /* of which trainable */
    float *weights;             /* device [nweights] */
    float *grads;               /* device [nweights] (trainable entries used) */
    int nvars;
    opt_var *vars;              /* [nvars] the trainable weights, for the optimizer */
    int batch_cap;
    float **acts;               /* [nlayers + 1]: acts[0] input [cap, in],
                                   acts[i + 1] layer i's output [cap, out_i] */
    float *grad_buf[2];         /* device [cap, largest activation], ping-pong */
    float *workspace;           /* device, the largest layer workspace for cap */
} model;

/* Builds the stack from layer kind refs (shapes checked layer by layer; an
 * error names the layer's config location and what did not fit, exit 2)
 * and allocates the slabs. Weights are zero until model_init_weights. */
int model_build(model *m, const char *name, const dl_shape *input_shape,
                const dl_kind_list *layers, dl_backend *be, uint64_t seed, dl_err *err);
/* Draws every weight from its initializer (seeded; device-independent). */
int model_init_weights(model *m, uint64_t seed, dl_err *err);
/* Allocates activation buffers for batches of up to cap samples. */
int model_reserve(model *m, int cap, dl_err *err);
void model_free(model *m);

/* Runs acts[0][0 .. batch) through every layer; returns the output
 * [batch, out] (device). */
const float *model_forward(model *m, int batch, const ly_ctx *ctx);
/* Back-propagates dout [batch, out] (w.r.t. the output, or the last layer's
 * pre-activation when its output is fused into the loss) and writes every
 * trainable gradient. */
void model_backward(model *m, const float *dout, int batch);
/* Adds the regularizers' gradients and returns their penalty. */
double model_regularize(model *m);

const dl_shape *model_output_shape(const model *m);
ly_layer *model_last(model *m);

/* Weight snapshots in host memory, float [nweights]. */
void model_get_weights(const model *m, float *host);
void model_set_weights(model *m, const float *host);

#endif
