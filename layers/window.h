/* window.h: Keras's geometry of a sliding window along one spatial axis,
 * shared by the convolution and pooling layers (tests/data/keras/README.md
 * §3): output length and the padding before the first window. */
#ifndef WIN_WINDOW_H
#define WIN_WINDOW_H

/* Padding modes, in the order of the layers' `padding` choices. */
enum { WIN_VALID, WIN_SAME, WIN_CAUSAL };

/* The extent of a window of k taps spaced by dilation d. */
static inline int win_span(int k, int d)
{
    return (k - 1) * d + 1;
}

/* Output length for an input of length n, window k, stride s, dilation d;
 * *pad_before receives the zeros before the first window. 'valid': no
 * padding, 0 when the window does not fit; 'same': ceil(n / s) outputs,
 * the TensorFlow padding with the odd pixel after; 'causal': all padding
 * before. */
static inline int win_output_length(int padding, int n, int k, int s, int d, int *pad_before)
{
    int span = win_span(k, d);
    *pad_before = 0;
    if (padding == WIN_VALID)
        return n >= span ? (n - span) / s + 1 : 0;
    int out = (n + s - 1) / s;
    int total = (out - 1) * s + span - n;
    if (padding == WIN_CAUSAL)
        *pad_before = span - 1;
    else if (total > 0)
        *pad_before = total / 2;
    return out;
}

#endif
