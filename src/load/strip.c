/* strip.c — copy an ONNX model without its large tensor payloads (protobuf wire level). */
#include "dlbricks/graph.h"

#include <stdlib.h>
#include <string.h>

#include "wire.h"

/* Messages that can (transitively) hold tensors; every other field is copied verbatim. */
typedef enum msg_kind {
    K_NONE = -1,
    K_MODEL,
    K_GRAPH,
    K_NODE,
    K_ATTR,
    K_FUNCTION,
    K_TRAINING,
    K_SPARSE,
    K_TENSOR,
} msg_kind;

enum { MAX_DEPTH = 64 };

/* Field numbers from onnx.proto: which child message a field of a given message holds. */
static msg_kind child_kind(msg_kind parent, uint32_t number) {
    switch (parent) {
    case K_MODEL: /* graph = 7, training_info = 20, functions = 25 */
        return number == 7    ? K_GRAPH
               : number == 20 ? K_TRAINING
               : number == 25 ? K_FUNCTION
                              : K_NONE;
    case K_TRAINING: /* initialization = 1, algorithm = 2 */
        return number == 1 || number == 2 ? K_GRAPH : K_NONE;
    case K_FUNCTION: /* node = 7 */
        return number == 7 ? K_NODE : K_NONE;
    case K_GRAPH: /* node = 1, initializer = 5, sparse_initializer = 15 */
        return number == 1 ? K_NODE : number == 5 ? K_TENSOR : number == 15 ? K_SPARSE : K_NONE;
    case K_NODE: /* attribute = 5 */
        return number == 5 ? K_ATTR : K_NONE;
    case K_ATTR: /* t 5, g 6, tensors 10, graphs 11, sparse_tensor 22, sparse_tensors 23 */
        if (number == 5 || number == 10) return K_TENSOR;
        if (number == 6 || number == 11) return K_GRAPH;
        return number == 22 || number == 23 ? K_SPARSE : K_NONE;
    case K_SPARSE: /* values = 1, indices = 2 */
        return number == 1 || number == 2 ? K_TENSOR : K_NONE;
    default:
        return K_NONE;
    }
}

/* TensorProto data fields: float_data 4, int32_data 5, string_data 6, int64_data 7,
 * raw_data 9, double_data 10, uint64_data 11.  external_data 13, data_location 14 stay. */
static bool is_data_field(uint32_t number) {
    return (number >= 4 && number <= 7) || number == 9 || number == 10 || number == 11;
}

typedef struct out_buf {
    uint8_t *p;
    size_t n, cap;
} out_buf;

static int reserve(out_buf *b, size_t extra) {
    if (extra <= b->cap - b->n) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->n < extra) {
        if (cap > SIZE_MAX / 2) return -1;
        cap *= 2;
    }
    uint8_t *q = realloc(b->p, cap);
    if (!q) return -1;
    b->p = q;
    b->cap = cap;
    return 0;
}

static int append(out_buf *b, const uint8_t *src, size_t n) {
    if (reserve(b, n) != 0) return -1;
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
    return 0;
}

static size_t varint_len(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static size_t varint_put(uint8_t *p, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Bytes of a field's value, without its tag (and length prefix for wire type 2). */
static size_t payload_size(const dlb_wire_field *f) {
    if (f->wire_type == 2) return f->payload_len;
    size_t all = (size_t)(f->end - f->start),
           tag = varint_len(((uint64_t)f->number << 3) | (uint64_t)f->wire_type);
    return all > tag ? all - tag : 0;
}

static dlb_status strip_msg(msg_kind kind, const uint8_t *msg, size_t len, size_t max_keep,
                            int depth, out_buf *out);

/* A TensorProto: verbatim if its data is at most max_keep bytes, else without data fields. */
static dlb_status strip_tensor(const uint8_t *msg, size_t len, size_t max_keep, out_buf *out) {
    const uint8_t *pos = msg, *end = msg + len;
    dlb_wire_field f;
    size_t data = 0;
    int r;
    while ((r = dlb__wire_next(&pos, end, &f)) == 1)
        if (is_data_field(f.number)) data += payload_size(&f);
    if (r < 0) return DLB_EPARSE;
    if (data <= max_keep) return append(out, msg, len) == 0 ? DLB_OK : DLB_ENOMEM;
    for (pos = msg; dlb__wire_next(&pos, end, &f) == 1;)
        if (!is_data_field(f.number) && append(out, f.start, (size_t)(f.end - f.start)) != 0)
            return DLB_ENOMEM;
    return DLB_OK;
}

/* One length-delimited child message: tag, re-encoded length, stripped payload. */
static dlb_status strip_child(msg_kind kind, const dlb_wire_field *f, size_t max_keep, int depth,
                              out_buf *out) {
    uint8_t tag[10];
    size_t tag_len = varint_put(tag, ((uint64_t)f->number << 3) | 2);
    size_t room = varint_len(f->payload_len); /* the stripped payload is never longer */
    if (append(out, tag, tag_len) != 0 || reserve(out, room) != 0) return DLB_ENOMEM;
    size_t len_at = out->n;
    out->n += room;
    dlb_status st = strip_msg(kind, f->payload, f->payload_len, max_keep, depth + 1, out);
    if (st != DLB_OK) return st;
    size_t body = out->n - len_at - room;
    uint8_t len_bytes[10];
    size_t k = varint_put(len_bytes, body);
    if (k > room) return DLB_EPARSE; /* cannot happen: body <= payload_len */
    if (k < room) memmove(out->p + len_at + k, out->p + len_at + room, body);
    memcpy(out->p + len_at, len_bytes, k);
    out->n = len_at + k + body;
    return DLB_OK;
}

static dlb_status strip_msg(msg_kind kind, const uint8_t *msg, size_t len, size_t max_keep,
                            int depth, out_buf *out) {
    if (depth > MAX_DEPTH) return DLB_EPARSE;
    if (kind == K_TENSOR) return strip_tensor(msg, len, max_keep, out);
    const uint8_t *pos = msg, *end = msg + len;
    dlb_wire_field f;
    int r;
    while ((r = dlb__wire_next(&pos, end, &f)) == 1) {
        msg_kind child = child_kind(kind, f.number);
        if (child == K_NONE) {
            if (append(out, f.start, (size_t)(f.end - f.start)) != 0) return DLB_ENOMEM;
            continue;
        }
        if (f.wire_type != 2) return DLB_EPARSE; /* a message field must be length-delimited */
        dlb_status st = strip_child(child, &f, max_keep, depth, out);
        if (st != DLB_OK) return st;
    }
    return r < 0 ? DLB_EPARSE : DLB_OK;
}

dlb_status dlb_onnx_strip_weights(const void *data, size_t size, size_t max_keep, void **out,
                                  size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    if (!data || size == 0) return DLB_EPARSE;
    out_buf b = {0};
    if (reserve(&b, size < 4096 ? size : 4096) != 0) return DLB_ENOMEM;
    dlb_status st = strip_msg(K_MODEL, data, size, max_keep, 0, &b);
    if (st != DLB_OK) {
        free(b.p);
        return st;
    }
    *out = b.p;
    *out_len = b.n;
    return DLB_OK;
}
