/* brick.h — bricks (unique runnable pieces of ≤ G layers), their ids, and the cross-model registry.
 */
#ifndef DLBRICKS_BRICK_H
#define DLBRICKS_BRICK_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "dlbricks/layer.h"

#define DLB_SPEC_VERSION 1 /* proto/dlbricks.proto BrickSpec.spec_version */

/* Where input `to_src` of op `to_op` of a brick comes from: an earlier op's output, or (from_op
 * < 0) the brick's external input `from_out`. */
typedef struct dlb_brick_edge {
    int to_op, to_src, from_op, from_out;
} dlb_brick_edge;

typedef struct dlb_brick {
    uint64_t id;     /* XXH3-64 of key */
    const char *key; /* canonical, human readable */
    int n_ops;
    dlb_op_spec *ops; /* self-contained copies */
    int n_edges;
    dlb_brick_edge *edges;
    int64_t flops, bytes;
    int64_t uses;    /* occurrences over all models */
    int n_models;    /* models that use it */
    int first_model; /* index of the model that introduced it */
} dlb_brick;

/* One layer occurrence of a model in the registry. */
typedef struct dlb_model_layer {
    const char *name;    /* layer name (anchor node name) */
    const char *op_type; /* ONNX op type of the first node */
    int brick;           /* registry brick index; -1 for uncovered layers */
    bool piece_start;    /* first layer of a brick occurrence (G > 1 pieces span layers) */
    int64_t flops;
    int n_deps;      /* earlier layers whose outputs it reads (through views), for the */
    const int *deps; /* critical path of models with parallel branches */
} dlb_model_layer;

typedef struct dlb_model_entry {
    const char *name;
    const char *path;
    int64_t batch;
    int n_layers;
    dlb_model_layer *layers;
    int n_covered;   /* covered layers */
    int bricks_used; /* distinct bricks this model uses */
    int new_bricks;  /* bricks first introduced by this model */
    int64_t flops, flops_covered;
} dlb_model_entry;

typedef struct dlb_registry dlb_registry;

typedef struct dlb_registry_stats {
    int models;
    int64_t layers; /* layers over all models (covered and uncovered) */
    int64_t covered_layers;
    int unique;                  /* unique bricks */
    int shared;                  /* bricks used by >= 2 models */
    int64_t layers_shared;       /* covered layers whose brick is shared by >= 2 models */
    int64_t flops, flops_unique; /* all layers; one run of each unique brick */
} dlb_registry_stats;

dlb_registry *dlb_registry_new(int granularity);
void dlb_registry_free(dlb_registry *r);

/** \brief Partition a lowered model into bricks of <= G layers (see docs/bricks.md for the
 *  rule), deduplicate against everything registered so far and record the model.
 *  \return DLB_OK, DLB_ENOMEM, DLB_EOVERFLOW */
dlb_status dlb_registry_add(dlb_registry *r, const dlb_lowered *l, int64_t batch);

int dlb_registry_n_bricks(const dlb_registry *r);
const dlb_brick *dlb_registry_brick(const dlb_registry *r, int i);
int dlb_registry_n_models(const dlb_registry *r);
const dlb_model_entry *dlb_registry_model(const dlb_registry *r, int i);
void dlb_registry_get_stats(const dlb_registry *r, dlb_registry_stats *s);

/* Bricks on the wire (proto/dlbricks.proto BrickSpec, versioned): self-contained, so a rank
 * that never saw the model can build and time it. */
/** \brief Serialise a brick; *buf is malloc'd.  \return DLB_OK or DLB_ENOMEM */
dlb_status dlb_brick_encode(const dlb_brick *b, void **buf, size_t *len);
typedef struct dlb_brick_decoded dlb_brick_decoded; /* owns a decoded brick */
/** \brief Parse a BrickSpec.  \return DLB_OK; DLB_EPARSE for a malformed message, another
 *  spec_version or an id that does not match the key; DLB_ENOMEM */
dlb_status dlb_brick_decode(const void *buf, size_t len, dlb_brick_decoded **out);
const dlb_brick *dlb_brick_decoded_brick(const dlb_brick_decoded *d);
void dlb_brick_decoded_free(dlb_brick_decoded *d);

/** \brief Brick id of a key (XXH3-64 of the key bytes). */
uint64_t dlb_brick_id_of_key(const char *key, size_t len);

#endif
