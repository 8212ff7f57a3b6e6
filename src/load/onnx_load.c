/* onnx_load.c — read an ONNX file (mmap + protobuf-c) into the graph IR without reading weights. */
#include "dlbricks/graph.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "graph_build.h"
#include "onnx.pb-c.h"
#include "wire.h"

enum {
    MODEL_GRAPH = 7,
    GRAPH_INITIALIZER = 5,
    GRAPH_SPARSE_INITIALIZER = 15,
    TENSOR_DATA_TYPE = 2,
    DLB_MIN_OPSET = 11,
    DLB_MAX_OPSET = 17,
    FLOAT_CONST_MAX_ELEMS = 64, /* float initializers up to this size act as attributes */
};

/* Fields of TensorProto that carry data (float_data .. uint64_data, raw_data). */
static bool is_tensor_data_field(uint32_t number) {
    return (number >= 4 && number <= 7) || number == 9 || number == 10 || number == 11;
}

/* A growable byte buffer for re-assembled (filtered) messages. */
typedef struct bytes {
    uint8_t *p;
    size_t n, cap;
} bytes;

static int bytes_append(bytes *b, const uint8_t *src, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->n + n) cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q) return -1;
        b->p = q;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
    return 0;
}

/* Copy every field of [msg, msg+len) except those for which drop() is true. */
static int filter_fields(const uint8_t *msg, size_t len, bool (*drop)(uint32_t, void *), void *ctx,
                         bytes *out) {
    const uint8_t *pos = msg, *end = msg + len;
    dlb_wire_field f;
    int r;
    while ((r = dlb__wire_next(&pos, end, &f)) == 1)
        if (!drop(f.number, ctx) && bytes_append(out, f.start, (size_t)(f.end - f.start)) != 0)
            return -2;
    return r;
}

static bool drop_graph_field(uint32_t number, void *ctx) {
    (void)ctx;
    return number == MODEL_GRAPH;
}

static bool drop_initializers(uint32_t number, void *ctx) {
    (void)ctx;
    return number == GRAPH_INITIALIZER || number == GRAPH_SPARSE_INITIALIZER;
}

static bool drop_tensor_data(uint32_t number, void *ctx) {
    return *(bool *)ctx && is_tensor_data_field(number);
}

/* Decide whether an initializer's contents are small enough to read (attributes in disguise). */
static bool keep_tensor_data(int dtype, size_t data_bytes) {
    dlb_dtype dt = (dlb_dtype)dtype;
    if (dlb_dtype_is_integer(dt)) return data_bytes <= 8u * DLB_MAX_CONST_ELEMS + 16;
    if (dlb_dtype_is_float(dt)) return data_bytes <= 8u * FLOAT_CONST_MAX_ELEMS + 16;
    return false;
}

/* Unpack one initializer, dropping large data fields before protobuf-c sees them. */
static Onnx__TensorProto *unpack_initializer(const uint8_t *msg, size_t len, bool read_weights,
                                             bool *has_data) {
    const uint8_t *pos = msg, *end = msg + len;
    dlb_wire_field f;
    int dtype = 0, r;
    size_t data_bytes = 0;
    while ((r = dlb__wire_next(&pos, end, &f)) == 1) {
        if (f.number == TENSOR_DATA_TYPE && f.wire_type == 0) dtype = (int)f.varint;
        if (is_tensor_data_field(f.number)) data_bytes += (size_t)(f.end - f.start);
    }
    if (r < 0) return NULL;
    *has_data = data_bytes > 0;
    bool drop = !read_weights && !keep_tensor_data(dtype, data_bytes);
    if (!drop) return onnx__tensor_proto__unpack(NULL, len, msg);
    bytes b = {0};
    Onnx__TensorProto *t = NULL;
    if (filter_fields(msg, len, drop_tensor_data, &drop, &b) == 0)
        t = onnx__tensor_proto__unpack(NULL, b.n, b.p);
    free(b.p);
    return t;
}

typedef struct load_state {
    bool read_weights;
    const char *path;
    dlb_diag *diag;
    Onnx__ModelProto *model;
    Onnx__GraphProto *graph;
    Onnx__TensorProto **inits;
    bool *init_has_data;
    size_t n_inits;
} load_state;

static void free_state(load_state *s) {
    if (s->model) onnx__model_proto__free_unpacked(s->model, NULL);
    if (s->graph) onnx__graph_proto__free_unpacked(s->graph, NULL);
    for (size_t i = 0; i < s->n_inits; i++)
        if (s->inits[i]) onnx__tensor_proto__free_unpacked(s->inits[i], NULL);
    free(s->inits);
    free(s->init_has_data);
}

/* Split the file into model header, graph (without initializers) and initializers. */
static dlb_status unpack_model(load_state *s, const uint8_t *data, size_t size) {
    const uint8_t *pos = data, *end = data + size, *graph = NULL;
    size_t graph_len = 0;
    dlb_wire_field f;
    int r;
    while ((r = dlb__wire_next(&pos, end, &f)) == 1)
        if (f.number == MODEL_GRAPH && f.wire_type == 2) {
            graph = f.payload;
            graph_len = f.payload_len;
        }
    if (r < 0) {
        dlb_error(s->diag, NULL, "not a valid ONNX protobuf (malformed wire format)");
        return DLB_EPARSE;
    }
    bytes b = {0};
    if (filter_fields(data, size, drop_graph_field, NULL, &b) != 0) {
        free(b.p);
        return DLB_ENOMEM;
    }
    s->model = onnx__model_proto__unpack(NULL, b.n, b.p);
    free(b.p);
    if (!s->model) {
        dlb_error(s->diag, NULL, "not a valid ONNX protobuf (ModelProto does not decode)");
        return DLB_EPARSE;
    }
    if (!graph) {
        dlb_error(s->diag, NULL, "model has no graph");
        return DLB_EMODEL;
    }
    /* Count and unpack initializers one by one. */
    size_t n = 0;
    for (pos = graph; (r = dlb__wire_next(&pos, graph + graph_len, &f)) == 1;)
        n += f.number == GRAPH_INITIALIZER;
    if (r < 0) {
        dlb_error(s->diag, NULL, "not a valid ONNX protobuf (malformed GraphProto)");
        return DLB_EPARSE;
    }
    s->inits = calloc(n ? n : 1, sizeof *s->inits);
    s->init_has_data = calloc(n ? n : 1, sizeof *s->init_has_data);
    if (!s->inits || !s->init_has_data) return DLB_ENOMEM;
    for (pos = graph; dlb__wire_next(&pos, graph + graph_len, &f) == 1;) {
        if (f.number != GRAPH_INITIALIZER) continue;
        Onnx__TensorProto *t = NULL;
        if (f.wire_type == 2)
            t = unpack_initializer(f.payload, f.payload_len, s->read_weights,
                                   &s->init_has_data[s->n_inits]);
        if (!t) {
            dlb_error(s->diag, NULL, "not a valid ONNX protobuf (initializer %zu does not decode)",
                      s->n_inits);
            return DLB_EPARSE;
        }
        s->inits[s->n_inits++] = t;
    }
    b = (bytes){0};
    if (filter_fields(graph, graph_len, drop_initializers, NULL, &b) != 0) {
        free(b.p);
        return DLB_ENOMEM;
    }
    s->graph = onnx__graph_proto__unpack(NULL, b.n, b.p);
    free(b.p);
    if (!s->graph) {
        dlb_error(s->diag, NULL, "not a valid ONNX protobuf (GraphProto does not decode)");
        return DLB_EPARSE;
    }
    return DLB_OK;
}

static dlb_status check_opset(load_state *s, int64_t *opset) {
    *opset = -1;
    for (size_t i = 0; i < s->model->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = s->model->opset_import[i];
        if ((!o->domain || !o->domain[0] || !strcmp(o->domain, "ai.onnx")) && o->has_version)
            *opset = o->version;
    }
    if (*opset < 0) {
        dlb_error(s->diag, NULL, "model declares no opset for the default ONNX domain");
        return DLB_EMODEL;
    }
    if (*opset < DLB_MIN_OPSET) {
        dlb_error(s->diag, NULL, "opset %lld is older than the supported range %d-%d",
                  (long long)*opset, DLB_MIN_OPSET, DLB_MAX_OPSET);
        return DLB_EUNSUPPORTED;
    }
    if (*opset > DLB_MAX_OPSET)
        dlb_warning(s->diag, NULL, "opset %lld is newer than the tested range %d-%d",
                    (long long)*opset, DLB_MIN_OPSET, DLB_MAX_OPSET);
    return DLB_OK;
}

static dlb_status load_buffer(const void *data, size_t size, const char *path, bool read_weights,
                              dlb_diag *diag, dlb_graph **out) {
    *out = NULL;
    load_state s = {.path = path, .diag = diag, .read_weights = read_weights};
    if (size == 0) {
        dlb_error(diag, NULL, "not a valid ONNX protobuf (empty file)");
        return DLB_EPARSE;
    }
    dlb_status st = unpack_model(&s, data, size);
    int64_t opset = -1;
    if (st == DLB_OK) st = check_opset(&s, &opset);
    if (st == DLB_OK) {
        dlb__graph_source src = {
            .graph = s.graph,
            .inits = s.inits,
            .init_has_data = s.init_has_data,
            .n_inits = s.n_inits,
            .opset = opset,
            .ir_version = s.model->has_ir_version ? s.model->ir_version : 0,
            .read_weights = read_weights,
        };
        st = dlb__graph_build(&src, path, diag, out);
    }
    free_state(&s);
    return st;
}

dlb_status dlb_graph_load_buffer(const void *data, size_t size, const char *path, dlb_diag *diag,
                                 dlb_graph **out) {
    return load_buffer(data, size, path, false, diag, out);
}

dlb_status dlb_graph_load(const char *path, dlb_diag *diag, dlb_graph **out) {
    return dlb_graph_load_ex(path, NULL, diag, out);
}

dlb_status dlb_graph_load_ex(const char *path, const dlb_load_options *opt, dlb_diag *diag,
                             dlb_graph **out) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        dlb_error(diag, NULL, "cannot open: %s", strerror(errno));
        return DLB_EIO;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        dlb_error(diag, NULL, "not a regular file");
        close(fd);
        return DLB_EIO;
    }
    size_t size = (size_t)sb.st_size;
    void *map = NULL;
    if (size > 0) {
        map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            dlb_error(diag, NULL, "cannot mmap: %s", strerror(errno));
            close(fd);
            return DLB_EIO;
        }
    }
    close(fd);
    dlb_status st = load_buffer(map, size, path, opt && opt->read_weights, diag, out);
    if (map) munmap(map, size);
    return st;
}
