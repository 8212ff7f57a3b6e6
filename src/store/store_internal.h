/* store_internal.h — column tables made from the schema X-macros, shared by the HDF5 reader/writer.
 */
#ifndef DLB_STORE_INTERNAL_H
#define DLB_STORE_INTERNAL_H

#include <hdf5.h>
#include <stddef.h>

#include "dlbricks/store.h"

typedef enum dlb_store_coltype {
    DLB_COL_u64,
    DLB_COL_i64,
    DLB_COL_i32,
    DLB_COL_f64,
    DLB_COL_str
} dlb_store_coltype;

/* One column: X(type, name, unit, doc) of a row X-macro plus the member's offset in the C row. */
typedef struct dlb_store_col {
    const char *name;
    dlb_store_coltype type;
    size_t offset;
    const char *unit, *doc;
} dlb_store_col;

typedef struct dlb_store_table {
    const char *name; /* key in the schema JSON */
    const dlb_store_col *cols;
    int n_cols;
    size_t row_size; /* sizeof the C row struct */
} dlb_store_table;

typedef enum dlb_store_table_id {
    DLB_TABLE_BRICKS,
    DLB_TABLE_ESTIMATES,
    DLB_TABLE_LAYERS,
    DLB_TABLE_MODEL_BRICKS,
    DLB_TABLE_COUNT_
} dlb_store_table_id;

extern const dlb_store_table dlb__store_tables[DLB_TABLE_COUNT_];

/* The variable-length UTF-8 string type (close with H5Tclose). */
dlb_status dlb__store_h5_str_type(hid_t *out, dlb_diag *diag, const char *where);
/** \brief The HDF5 compound memory type of a table's C row struct, built from its column table
 *  (one H5Tinsert per X-macro entry, at the member's offset).  Close with H5Tclose. */
dlb_status dlb__store_h5_row_type(dlb_store_table_id t, hid_t *out, dlb_diag *diag,
                                  const char *where);

/* Freeing of HDF5-allocated variable-length data after a read (H5Treclaim is 1.12+). */
#if H5_VERSION_GE(1, 12, 0)
#define DLB_H5_RECLAIM H5Treclaim
#else
#define DLB_H5_RECLAIM H5Dvlen_reclaim
#endif

/* Link names of /runs, /systems and /models children: '/' -> '_' (the original name is kept in
 * the group attribute "name"). */
#define DLB_STORE_NAME_ATTR "name"

/* Read-only views of the document for the writer (results.c). */
typedef struct dlb__results_sys_view {
    const dlb_store_attr *attrs;
    int n_attrs;
    const dlb_brick_row *bricks;
    size_t n_bricks;
    const double *samples;
    size_t n_samples;
    const dlb_estimate_row *estimates;
    size_t n_estimates;
} dlb__results_sys_view;

/** \brief The attributes of run i (in the order they were first set); returns their number. */
int dlb__results_run_attrs(const dlb_results *r, int i, const dlb_store_attr **attrs);
void dlb__results_system_view(const dlb_results *r, int sys, dlb__results_sys_view *v);

#endif
