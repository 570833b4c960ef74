/* registry.h: every layer kind, one row each in registry.c. */
#ifndef LY_REGISTRY_H
#define LY_REGISTRY_H

#include "layers/layer.h"

#include <stddef.h>

extern const ly_kind ly_dense, ly_activation, ly_dropout, ly_flatten, ly_reshape;
/* conv.c, pooling.c */
extern const ly_kind ly_conv2d, ly_conv1d;
extern const ly_kind ly_max_pooling2d, ly_average_pooling2d, ly_max_pooling1d,
    ly_average_pooling1d, ly_global_max_pooling2d, ly_global_average_pooling2d,
    ly_global_max_pooling1d, ly_global_average_pooling1d;
/* normalization.c, reshaping.c, augmentation.c */
extern const ly_kind ly_batch_normalization, ly_layer_normalization;
extern const ly_kind ly_zero_padding2d, ly_upsampling2d, ly_rescaling, ly_spatial_dropout2d;
extern const ly_kind ly_random_flip, ly_random_translation, ly_random_rotation, ly_random_zoom,
    ly_random_contrast;

/* The layer family the config validates against (kinds' base members). */
extern const dl_family ly_family;

/* The ly_kind behind a kind found in ly_family. */
const ly_kind *ly_kind_of(const dl_kind *k);

/* Whether a Dense or Conv layer applies the activation in place, in its
 * output y, and keeps no pre-activation z: true where the derivative
 * follows from y alone, i.e. dl_act_df(act, y, y, alpha) equals
 * dl_act_df(act, x, y, alpha), and for linear. Backward then writes the
 * gradient w.r.t. z over y (nothing reads a layer's output once its
 * backward has run). Softmax and sigmoid keep z, which a fused
 * cross-entropy reads. */
int ly_activation_in_place(int act);

/* Keras's fixed parameter of an activation given by name: leaky_relu's
 * negative slope 0.2, elu's alpha 1.0; 0 otherwise. */
float ly_activation_alpha(int act);

#endif
