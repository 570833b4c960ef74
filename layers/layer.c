/* layer.c: helpers shared by the layer kinds. */
#include "layers/registry.h"

#include <string.h>

/* In DL_ACT_* order; "silu|swish": both spellings accepted, silu written. */
const char *const ly_activation_names[] = {
    "linear", "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu|swish",
    "softplus", "softsign", "tanh", "sigmoid", "hard_sigmoid", "softmax", NULL,
};

ly_param *ly_add_param(ly_layer *l, const char *name, const dl_shape *shape, int trainable,
                       const dl_kind_ref *init, const dl_kind_ref *reg)
{
    ly_param *p = &l->params[l->nparams++];
    memset(p, 0, sizeof *p);
    p->name = name;
    p->shape = *shape;
    p->trainable = trainable;
    p->init = init;
    p->reg = reg && reg->kind ? reg : NULL;
    return p;
}

int ly_rows(const dl_shape *s, int batch)
{
    int rows = batch;
    for (int i = 0; i + 1 < s->ndim; i++)
        rows *= s->dim[i];
    return rows;
}

int ly_activation_in_place(int act)
{
    switch (act) {
    case DL_ACT_LINEAR:
    case DL_ACT_RELU:       /* relu'(x) = [x > 0] = [y > 0] */
    case DL_ACT_RELU6:      /* [0 < x < 6] = [0 < y < 6] */
    case DL_ACT_LEAKY_RELU: /* [x > 0] = [y > 0] at the fixed slope 0.2 */
    case DL_ACT_ELU:        /* [x > 0] = [y > 0] at alpha 1; otherwise y + alpha */
    case DL_ACT_SELU:       /* [x >= 0] = [y >= 0]; otherwise from y */
    case DL_ACT_TANH:       /* 1 - y^2 */
        return 1;
    default:
        return 0;
    }
}

float ly_activation_alpha(int act)
{
    switch (act) {
    case DL_ACT_LEAKY_RELU: return 0.2f;
    case DL_ACT_ELU: return 1.0f;
    default: return 0.0f;
    }
}
