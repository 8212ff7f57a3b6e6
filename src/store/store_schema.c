/* store_schema.c — the schema X-macros as column tables, JSON and HDF5 compound types. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "store_internal.h"

#define DLB_COL_(row_t, type, name, unit, doc)                                                     \
    {#name, DLB_COL_##type, offsetof(row_t, name), unit, doc},
#define DLB_COL_BRICK_(type, name, unit, doc) DLB_COL_(dlb_brick_row, type, name, unit, doc)
#define DLB_COL_ESTIMATE_(type, name, unit, doc) DLB_COL_(dlb_estimate_row, type, name, unit, doc)
#define DLB_COL_LAYER_(type, name, unit, doc) DLB_COL_(dlb_layer_row, type, name, unit, doc)
#define DLB_COL_MBRICK_(type, name, unit, doc) DLB_COL_(dlb_model_brick_row, type, name, unit, doc)

static const dlb_store_col brick_cols[] = {DLB_BRICK_ROW(DLB_COL_BRICK_)};
static const dlb_store_col estimate_cols[] = {DLB_ESTIMATE_ROW(DLB_COL_ESTIMATE_)};
static const dlb_store_col layer_cols[] = {DLB_LAYER_ROW(DLB_COL_LAYER_)};
static const dlb_store_col mbrick_cols[] = {DLB_MODEL_BRICK_ROW(DLB_COL_MBRICK_)};

#define DLB_N_(a) ((int)(sizeof(a) / sizeof((a)[0])))

const dlb_store_table dlb__store_tables[DLB_TABLE_COUNT_] = {
    [DLB_TABLE_BRICKS] = {"bricks", brick_cols, DLB_N_(brick_cols), sizeof(dlb_brick_row)},
    [DLB_TABLE_ESTIMATES] = {"estimates", estimate_cols, DLB_N_(estimate_cols),
                             sizeof(dlb_estimate_row)},
    [DLB_TABLE_LAYERS] = {"layers", layer_cols, DLB_N_(layer_cols), sizeof(dlb_layer_row)},
    [DLB_TABLE_MODEL_BRICKS] = {"model_bricks", mbrick_cols, DLB_N_(mbrick_cols),
                                sizeof(dlb_model_brick_row)},
};

static const char *const coltype_names[] = {"u64", "i64", "i32", "f64", "str"};

/* A growable string for the JSON text. */
typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t len) {
    if (b->oom) return;
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + len + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static void sb_str(sbuf *b, const char *s) {
    sb_put(b, s, strlen(s));
}

/* A JSON string literal: quotes, backslashes and control characters escaped; UTF-8 kept. */
static void sb_json(sbuf *b, const char *s) {
    sb_put(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        char esc[8];
        switch (*c) {
        case '"':
            sb_put(b, "\\\"", 2);
            break;
        case '\\':
            sb_put(b, "\\\\", 2);
            break;
        case '\n':
            sb_put(b, "\\n", 2);
            break;
        case '\t':
            sb_put(b, "\\t", 2);
            break;
        case '\r':
            sb_put(b, "\\r", 2);
            break;
        default:
            if (*c < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *c);
                sb_str(b, esc);
            } else {
                sb_put(b, (const char *)c, 1);
            }
        }
    }
    sb_put(b, "\"", 1);
}

char *dlb_store_schema_json(void) {
    sbuf b = {0};
    char num[32];
    snprintf(num, sizeof num, "%d", DLB_STORE_FORMAT_VERSION);
    sb_str(&b, "{\"format_version\": ");
    sb_str(&b, num);
    sb_str(&b, ", \"tables\": {");
    for (int t = 0; t < DLB_TABLE_COUNT_; t++) {
        const dlb_store_table *tab = &dlb__store_tables[t];
        sb_str(&b, t ? ", " : "");
        sb_json(&b, tab->name);
        sb_str(&b, ": [");
        for (int i = 0; i < tab->n_cols; i++) {
            const dlb_store_col *c = &tab->cols[i];
            sb_str(&b, i ? ", {\"name\": " : "{\"name\": ");
            sb_json(&b, c->name);
            sb_str(&b, ", \"type\": ");
            sb_json(&b, coltype_names[c->type]);
            sb_str(&b, ", \"unit\": ");
            sb_json(&b, c->unit);
            sb_str(&b, ", \"doc\": ");
            sb_json(&b, c->doc);
            sb_str(&b, "}");
        }
        sb_str(&b, "]");
    }
    sb_str(&b, "}}");
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

dlb_status dlb__store_h5_str_type(hid_t *out, dlb_diag *diag, const char *where) {
    dlb_status st = DLB_OK;
    hid_t t = H5I_INVALID_HID;
    DLB_H5_CHECK_ID(t, H5Tcopy(H5T_C_S1));
    DLB_H5_CHECK(H5Tset_size(t, H5T_VARIABLE));
    DLB_H5_CHECK(H5Tset_cset(t, H5T_CSET_UTF8));
    *out = t;
    return DLB_OK;
cleanup:
    if (t >= 0) H5Tclose(t);
    *out = H5I_INVALID_HID;
    return st;
}

dlb_status dlb__store_h5_row_type(dlb_store_table_id id, hid_t *out, dlb_diag *diag,
                                  const char *where) {
    dlb_status st = DLB_OK;
    hid_t str = H5I_INVALID_HID, t = H5I_INVALID_HID;
    const dlb_store_table *tab = &dlb__store_tables[id];
    DLB_TRY(dlb__store_h5_str_type(&str, diag, where));
    DLB_H5_CHECK_ID(t, H5Tcreate(H5T_COMPOUND, tab->row_size));
    for (int i = 0; i < tab->n_cols; i++) {
        const dlb_store_col *c = &tab->cols[i];
        hid_t member = c->type == DLB_COL_u64   ? H5T_NATIVE_UINT64
                       : c->type == DLB_COL_i64 ? H5T_NATIVE_INT64
                       : c->type == DLB_COL_i32 ? H5T_NATIVE_INT32
                       : c->type == DLB_COL_f64 ? H5T_NATIVE_DOUBLE
                                                : str;
        DLB_H5_CHECK(H5Tinsert(t, c->name, c->offset, member));
    }
    H5Tclose(str);
    *out = t;
    return DLB_OK;
cleanup:
    if (str >= 0) H5Tclose(str);
    if (t >= 0) H5Tclose(t);
    *out = H5I_INVALID_HID;
    return st;
}
