/* registry.c: one row per layer kind. A new layer is one file plus one row. */
#include "layers/registry.h"

static const dl_kind *const ly_kinds[] = {
    &ly_dense.base, &ly_activation.base, &ly_dropout.base, &ly_flatten.base, &ly_reshape.base,
    &ly_conv2d.base, &ly_conv1d.base,
    &ly_max_pooling2d.base, &ly_average_pooling2d.base, &ly_max_pooling1d.base,
    &ly_average_pooling1d.base, &ly_global_max_pooling2d.base,
    &ly_global_average_pooling2d.base, &ly_global_max_pooling1d.base,
    &ly_global_average_pooling1d.base,
    &ly_batch_normalization.base, &ly_layer_normalization.base,
    &ly_zero_padding2d.base, &ly_upsampling2d.base, &ly_rescaling.base,
    &ly_spatial_dropout2d.base,
    &ly_random_flip.base, &ly_random_translation.base, &ly_random_rotation.base,
    &ly_random_zoom.base, &ly_random_contrast.base,
};

const dl_family ly_family = {
    "layer", ly_kinds, (int)(sizeof ly_kinds / sizeof ly_kinds[0]), NULL, "class_name",
};

const ly_kind *ly_kind_of(const dl_kind *k)
{
    /* base is the first member of ly_kind, and every kind in ly_family is a layer */
    for (int i = 0; i < ly_family.n; i++)
        if (ly_kinds[i] == k)
            return (const ly_kind *)k;
    return NULL;
}
