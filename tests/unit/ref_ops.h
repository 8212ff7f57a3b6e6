/* ref_ops.h — naive reference kernels for the executor tests (ONNX semantics, plain row-major
 * f32 inputs, double accumulation and outputs).  One section per op family. */
#ifndef DLB_REF_OPS_H
#define DLB_REF_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dlbricks/layer.h"

/* ---- shapes ---------------------------------------------------------------------------------- */

/* Elements of an operand (1 for a scalar). */
size_t ref_numel(const dlb_operand *o);
/* Index into operand o (numpy-broadcast into dst) of dst's flat element i. */
size_t ref_bcast_index(const dlb_operand *dst, size_t i, const dlb_operand *o);

/* ---- convolution ----------------------------------------------------------------------------- */

/* 2-D convolution of a conv spec (groups, strides, dilations, pads); b may be NULL.  No
 * post-ops. */
void ref_conv2d(const dlb_op_spec *s, const float *x, const float *w, const float *b, double *y);

/* ---- pooling --------------------------------------------------------------------------------- */

/* Max / average pooling of a pool spec of any spatial rank (1 to 3).  Average with padding
 * counted divides by the window's positions inside the explicitly padded input (PyTorch/ONNX). */
void ref_pool(const dlb_op_spec *s, const float *x, double *y);

/* ---- eltwise and binary ---------------------------------------------------------------------- */

/* One element of an eltwise alg with the spec's (oneDNN-meaning) alpha and beta. */
double ref_eltwise(dlb_alg alg, double alpha, double beta, double x);
/* One element of a binary alg (add, sub, mul, div, max, min). */
double ref_binary_alg(dlb_alg alg, double a, double b);
/* out = a alg b with numpy broadcasting into dst. */
void ref_binary(dlb_alg alg, const dlb_operand *a, const float *x, const dlb_operand *b,
                const float *y, const dlb_operand *dst, double *out);

/* ---- normalisations -------------------------------------------------------------------------- */

/* BatchNormalization (inference): channel = dim 1. */
void ref_bnorm(const dlb_operand *src, const float *x, const float *scale, const float *shift,
               const float *mean, const float *var, double eps, double *y);
/* InstanceNormalization: statistics per (n, c) over the spatial dims. */
void ref_inorm(const dlb_operand *src, const float *x, const float *scale, const float *shift,
               double eps, double *y);
/* LayerNormalization over the last axis; gamma / beta may be NULL. */
void ref_lnorm(const dlb_operand *src, const float *x, const float *gamma, const float *beta,
               double eps, double *y);
/* LRN across channels (ONNX: x / (bias + alpha / size * sum x^2)^beta). */
void ref_lrn(const dlb_operand *src, const float *x, int64_t size, double alpha, double beta,
             double bias, double *y);

/* ---- softmax --------------------------------------------------------------------------------- */

void ref_softmax(const dlb_operand *src, int axis, bool log_softmax, const float *x, double *y);

/* ---- reduction ------------------------------------------------------------------------------- */

/* Reduce over axes; y in the order of the kept-dims output (same for keepdims = 0). */
void ref_reduce(dlb_alg alg, const dlb_operand *src, const int64_t *axes, int n_axes,
                const float *x, double *y);

/* ---- resampling ------------------------------------------------------------------------------ */

/* Resize of the spatial dims (2..rank-1), half_pixel coordinates with the scale out/in;
 * nearest rounds half down (round_prefer_floor), linear clamps at the borders. */
void ref_resample(dlb_alg alg, const dlb_operand *src, const dlb_operand *dst, const float *x,
                  double *y);

#endif
