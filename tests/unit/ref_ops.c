/* ref_ops.c — naive reference kernels for the executor tests (see ref_ops.h). */
#include "ref_ops.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

/* ---- shapes ---------------------------------------------------------------------------------- */

size_t ref_numel(const dlb_operand *o) {
    size_t n = 1;
    for (int i = 0; i < o->shape.rank; i++) n *= (size_t)o->shape.dims[i];
    return n;
}

size_t ref_bcast_index(const dlb_operand *dst, size_t i, const dlb_operand *o) {
    int r = dst->shape.rank, off = r - o->shape.rank;
    size_t idx = 0, stride = 1;
    for (int d = r - 1; d >= 0; d--) {
        size_t c = i % (size_t)dst->shape.dims[d];
        i /= (size_t)dst->shape.dims[d];
        if (d < off) continue;
        size_t od = (size_t)o->shape.dims[d - off];
        idx += (od == 1 ? 0 : c) * stride;
        stride *= od;
    }
    return idx;
}

/* ---- convolution ----------------------------------------------------------------------------- */

void ref_conv2d(const dlb_op_spec *s, const float *x, const float *w, const float *b, double *y) {
    const int64_t *xd = s->src[0].shape.dims, *yd = s->dst[0].shape.dims;
    int64_t g = s->p.group > 0 ? s->p.group : 1, icg = xd[1] / g, ocg = yd[1] / g;
    int64_t kh = s->p.kernel[0], kw = s->p.kernel[1];
    for (int64_t n = 0; n < yd[0]; n++)
        for (int64_t oc = 0; oc < yd[1]; oc++)
            for (int64_t oh = 0; oh < yd[2]; oh++)
                for (int64_t ow = 0; ow < yd[3]; ow++) {
                    double acc = b ? b[oc] : 0;
                    int64_t gi = oc / ocg;
                    for (int64_t ic = 0; ic < icg; ic++)
                        for (int64_t i = 0; i < kh; i++)
                            for (int64_t j = 0; j < kw; j++) {
                                int64_t ih =
                                    oh * s->p.stride[0] - s->p.pad_begin[0] + i * s->p.dilation[0];
                                int64_t iw =
                                    ow * s->p.stride[1] - s->p.pad_begin[1] + j * s->p.dilation[1];
                                if (ih < 0 || ih >= xd[2] || iw < 0 || iw >= xd[3]) continue;
                                acc +=
                                    (double)
                                        x[((n * xd[1] + gi * icg + ic) * xd[2] + ih) * xd[3] + iw] *
                                    w[((oc * icg + ic) * kh + i) * kw + j];
                            }
                    y[((n * yd[1] + oc) * yd[2] + oh) * yd[3] + ow] = acc;
                }
}

/* ---- pooling --------------------------------------------------------------------------------- */

void ref_pool(const dlb_op_spec *s, const float *x, double *y) {
    const int64_t *xd = s->src[0].shape.dims, *yd = s->dst[0].shape.dims;
    int nsp = s->p.nsp;
    int64_t in_sp = 1, out_sp = 1, win = 1;
    for (int i = 0; i < nsp; i++) {
        in_sp *= xd[2 + i];
        out_sp *= yd[2 + i];
        win *= s->p.kernel[i];
    }
    for (int64_t nc = 0; nc < xd[0] * xd[1]; nc++)
        for (int64_t o = 0; o < out_sp; o++) {
            int64_t oc[3] = {0, 0, 0}, rest = o;
            for (int i = nsp - 1; i >= 0; i--) {
                oc[i] = rest % yd[2 + i];
                rest /= yd[2 + i];
            }
            double acc = s->alg == DLB_ALG_POOL_MAX ? -DBL_MAX : 0;
            int64_t inside = 0, padded = 0;
            for (int64_t k = 0; k < win; k++) {
                int64_t kr = k, off = 0, m = 1;
                bool in = true, in_pad = true;
                for (int i = nsp - 1; i >= 0; i--) {
                    int64_t ki = kr % s->p.kernel[i];
                    kr /= s->p.kernel[i];
                    int64_t d = s->p.dilation[i] > 0 ? s->p.dilation[i] : 1;
                    int64_t pos = oc[i] * s->p.stride[i] - s->p.pad_begin[i] + ki * d;
                    if (pos < 0 || pos >= xd[2 + i]) in = false;
                    if (pos < -s->p.pad_begin[i] || pos >= xd[2 + i] + s->p.pad_end[i])
                        in_pad = false;
                    off += pos * m;
                    m *= xd[2 + i];
                }
                padded += in_pad;
                if (!in) continue;
                double v = x[nc * in_sp + off];
                inside++;
                if (s->alg == DLB_ALG_POOL_MAX)
                    acc = v > acc ? v : acc;
                else
                    acc += v;
            }
            if (s->alg == DLB_ALG_POOL_AVG_EXCLUDE) acc /= (double)(inside ? inside : 1);
            if (s->alg == DLB_ALG_POOL_AVG_INCLUDE) acc /= (double)(padded ? padded : 1);
            y[nc * out_sp + o] = acc;
        }
}

/* ---- eltwise and binary ---------------------------------------------------------------------- */

static double sigmoid(double x) {
    return 1 / (1 + exp(-x));
}

double ref_eltwise(dlb_alg alg, double a, double b, double x) {
    switch (alg) {
    case DLB_ALG_RELU:
        return x > 0 ? x : 0;
    case DLB_ALG_LEAKY_RELU:
        return x > 0 ? x : a * x;
    case DLB_ALG_CLIP:
        return x < a ? a : x > b ? b : x;
    case DLB_ALG_LOGISTIC:
        return sigmoid(x);
    case DLB_ALG_TANH:
        return tanh(x);
    case DLB_ALG_HARDSIGMOID:
        return fmax(0, fmin(1, a * x + b));
    case DLB_ALG_HARDSWISH:
        return x * fmax(0, fmin(1, x / 6 + 0.5));
    case DLB_ALG_SWISH:
        return x * sigmoid((a != 0 ? a : 1) * x);
    case DLB_ALG_GELU_ERF:
        return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    case DLB_ALG_GELU_TANH:
        return 0.5 * x * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (x + 0.044715 * x * x * x)));
    case DLB_ALG_ELU:
        return x > 0 ? x : a * (exp(x) - 1);
    case DLB_ALG_SOFTPLUS:
        return log1p(exp(x));
    case DLB_ALG_EXP:
        return exp(x);
    case DLB_ALG_LOG:
        return log(x);
    case DLB_ALG_SQRT:
        return sqrt(x);
    case DLB_ALG_POW:
        return a * pow(x, b);
    case DLB_ALG_ABS:
        return fabs(x);
    case DLB_ALG_LINEAR:
        return a * x + b;
    case DLB_ALG_ERF:
        return erf(x);
    case DLB_ALG_ROUND:
        return nearbyint(x);
    default:
        return NAN;
    }
}

double ref_binary_alg(dlb_alg alg, double a, double b) {
    switch (alg) {
    case DLB_ALG_ADD:
        return a + b;
    case DLB_ALG_SUB:
        return a - b;
    case DLB_ALG_MUL:
        return a * b;
    case DLB_ALG_DIV:
        return a / b;
    case DLB_ALG_MAX:
        return a > b ? a : b;
    case DLB_ALG_MIN:
        return a < b ? a : b;
    default:
        return NAN;
    }
}

void ref_binary(dlb_alg alg, const dlb_operand *a, const float *x, const dlb_operand *b,
                const float *y, const dlb_operand *dst, double *out) {
    size_t n = ref_numel(dst);
    for (size_t i = 0; i < n; i++)
        out[i] = ref_binary_alg(alg, x[ref_bcast_index(dst, i, a)], y[ref_bcast_index(dst, i, b)]);
}

/* ---- normalisations -------------------------------------------------------------------------- */

void ref_bnorm(const dlb_operand *src, const float *x, const float *scale, const float *shift,
               const float *mean, const float *var, double eps, double *y) {
    int64_t N = src->shape.dims[0], C = src->shape.dims[1], sp = 1;
    for (int i = 2; i < src->shape.rank; i++) sp *= src->shape.dims[i];
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t k = 0; k < sp; k++) {
                int64_t i = (n * C + c) * sp + k;
                y[i] = scale[c] * (x[i] - mean[c]) / sqrt(var[c] + eps) + shift[c];
            }
}

/* Normalise groups of `len` contiguous elements: (v - mean) / sqrt(var + eps). */
static void normalise(const float *x, int64_t len, double eps, double *y) {
    double m = 0, v = 0;
    for (int64_t k = 0; k < len; k++) m += x[k];
    m /= (double)len;
    for (int64_t k = 0; k < len; k++) v += (x[k] - m) * (x[k] - m);
    v /= (double)len;
    for (int64_t k = 0; k < len; k++) y[k] = (x[k] - m) / sqrt(v + eps);
}

void ref_inorm(const dlb_operand *src, const float *x, const float *scale, const float *shift,
               double eps, double *y) {
    int64_t N = src->shape.dims[0], C = src->shape.dims[1], sp = 1;
    for (int i = 2; i < src->shape.rank; i++) sp *= src->shape.dims[i];
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            int64_t base = (n * C + c) * sp;
            normalise(x + base, sp, eps, y + base);
            for (int64_t k = 0; k < sp; k++) y[base + k] = y[base + k] * scale[c] + shift[c];
        }
}

void ref_lnorm(const dlb_operand *src, const float *x, const float *gamma, const float *beta,
               double eps, double *y) {
    int64_t C = src->shape.dims[src->shape.rank - 1];
    int64_t rows = (int64_t)ref_numel(src) / C;
    for (int64_t r = 0; r < rows; r++) {
        normalise(x + r * C, C, eps, y + r * C);
        for (int64_t c = 0; c < C; c++)
            y[r * C + c] = y[r * C + c] * (gamma ? gamma[c] : 1) + (beta ? beta[c] : 0);
    }
}

void ref_lrn(const dlb_operand *src, const float *x, int64_t size, double alpha, double beta,
             double bias, double *y) {
    int64_t N = src->shape.dims[0], C = src->shape.dims[1], sp = 1;
    for (int i = 2; i < src->shape.rank; i++) sp *= src->shape.dims[i];
    int64_t lo = (size - 1) / 2, hi = size - 1 - lo; /* floor and ceil of (size - 1) / 2 */
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t k = 0; k < sp; k++) {
                double sum = 0;
                for (int64_t j = c - lo; j <= c + hi; j++) {
                    if (j < 0 || j >= C) continue;
                    double v = x[(n * C + j) * sp + k];
                    sum += v * v;
                }
                int64_t i = (n * C + c) * sp + k;
                y[i] = x[i] / pow(bias + alpha / (double)size * sum, beta);
            }
}

/* ---- softmax --------------------------------------------------------------------------------- */

void ref_softmax(const dlb_operand *src, int axis, bool log_softmax, const float *x, double *y) {
    int64_t outer = 1, inner = 1, len = src->shape.dims[axis];
    for (int i = 0; i < axis; i++) outer *= src->shape.dims[i];
    for (int i = axis + 1; i < src->shape.rank; i++) inner *= src->shape.dims[i];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            const float *p = x + o * len * inner + in;
            double *q = y + o * len * inner + in;
            double m = -DBL_MAX, sum = 0;
            for (int64_t k = 0; k < len; k++) m = p[k * inner] > m ? p[k * inner] : m;
            for (int64_t k = 0; k < len; k++) sum += exp(p[k * inner] - m);
            for (int64_t k = 0; k < len; k++)
                q[k * inner] =
                    log_softmax ? p[k * inner] - m - log(sum) : exp(p[k * inner] - m) / sum;
        }
}

/* ---- reduction ------------------------------------------------------------------------------- */

void ref_reduce(dlb_alg alg, const dlb_operand *src, const int64_t *axes, int n_axes,
                const float *x, double *y) {
    int r = src->shape.rank;
    int64_t kd[DLB_MAX_RANK];
    for (int i = 0; i < r; i++) kd[i] = src->shape.dims[i];
    for (int k = 0; k < n_axes; k++) kd[axes[k]] = 1;
    size_t n_out = 1, n_in = ref_numel(src);
    for (int i = 0; i < r; i++) n_out *= (size_t)kd[i];
    size_t *count = calloc(n_out, sizeof *count);
    for (size_t o = 0; o < n_out; o++)
        y[o] = alg == DLB_ALG_REDUCE_MAX    ? -DBL_MAX
               : alg == DLB_ALG_REDUCE_MIN  ? DBL_MAX
               : alg == DLB_ALG_REDUCE_PROD ? 1
                                            : 0;
    for (size_t i = 0; i < n_in; i++) {
        size_t rest = i, o = 0, stride = 1;
        for (int d = r - 1; d >= 0; d--) {
            size_t c = rest % (size_t)src->shape.dims[d];
            rest /= (size_t)src->shape.dims[d];
            o += (kd[d] == 1 ? 0 : c) * stride;
            stride *= (size_t)kd[d];
        }
        double v = x[i];
        count[o]++;
        switch (alg) {
        case DLB_ALG_REDUCE_MAX:
            y[o] = v > y[o] ? v : y[o];
            break;
        case DLB_ALG_REDUCE_MIN:
            y[o] = v < y[o] ? v : y[o];
            break;
        case DLB_ALG_REDUCE_PROD:
            y[o] *= v;
            break;
        case DLB_ALG_REDUCE_L2:
            y[o] += v * v;
            break;
        default:
            y[o] += v;
            break; /* sum, mean */
        }
    }
    for (size_t o = 0; o < n_out; o++) {
        if (alg == DLB_ALG_REDUCE_MEAN) y[o] /= (double)count[o];
        if (alg == DLB_ALG_REDUCE_L2) y[o] = sqrt(y[o]);
    }
    free(count);
}

/* ---- resampling ------------------------------------------------------------------------------ */

/* Source coordinate of output o (half_pixel), clamped to [0, in - 1] for linear. */
static double src_coord(int64_t o, int64_t in, int64_t out) {
    return ((double)o + 0.5) * (double)in / (double)out - 0.5;
}

void ref_resample(dlb_alg alg, const dlb_operand *src, const dlb_operand *dst, const float *x,
                  double *y) {
    int r = src->shape.rank, nsp = r - 2;
    const int64_t *id = src->shape.dims, *od = dst->shape.dims;
    int64_t in_sp = 1, out_sp = 1;
    for (int i = 2; i < r; i++) {
        in_sp *= id[i];
        out_sp *= od[i];
    }
    for (int64_t nc = 0; nc < id[0] * id[1]; nc++)
        for (int64_t o = 0; o < out_sp; o++) {
            int64_t oc[3], rest = o;
            for (int i = nsp - 1; i >= 0; i--) {
                oc[i] = rest % od[2 + i];
                rest /= od[2 + i];
            }
            int64_t lo[3], hi[3];
            double w[3];
            for (int i = 0; i < nsp; i++) {
                int64_t in = id[2 + i];
                double c = src_coord(oc[i], in, od[2 + i]);
                if (alg == DLB_ALG_NEAREST) { /* round_prefer_floor */
                    int64_t k = (int64_t)ceil(c - 0.5);
                    lo[i] = hi[i] = k < 0 ? 0 : k >= in ? in - 1 : k;
                    w[i] = 0;
                } else {
                    if (c < 0) c = 0;
                    if (c > (double)(in - 1)) c = (double)(in - 1);
                    lo[i] = (int64_t)floor(c);
                    hi[i] = lo[i] + 1 < in ? lo[i] + 1 : in - 1;
                    w[i] = c - (double)lo[i];
                }
            }
            double acc = 0;
            for (int corner = 0; corner < (1 << nsp); corner++) {
                double wt = 1;
                int64_t off = 0;
                for (int i = 0; i < nsp; i++) {
                    bool up = (corner >> i) & 1;
                    wt *= up ? w[i] : 1 - w[i];
                    off = off * id[2 + i] + (up ? hi[i] : lo[i]);
                }
                if (wt != 0) acc += wt * x[nc * in_sp + off];
            }
            y[nc * out_sp + o] = acc;
        }
}
