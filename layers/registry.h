/* registry.h: every layer kind, one row each in registry.c. */
#ifndef LY_REGISTRY_H
#define LY_REGISTRY_H

#include "layers/layer.h"

#include <stddef.h>

extern const ly_kind ly_dense, ly_activation, ly_dropout, ly_flatten, ly_reshape;

/* The layer family the config validates against (kinds' base members). */
extern const dl_family ly_family;

/* The ly_kind behind a kind found in ly_family. */
const ly_kind *ly_kind_of(const dl_kind *k);

/* Keras's fixed parameter of an activation given by name: leaky_relu's
 * negative slope 0.2, elu's alpha 1.0; 0 otherwise. */
float ly_activation_alpha(int act);

#endif
