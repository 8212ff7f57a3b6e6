/* h5_read.c — dlb_results_load: a results file (format_version checked) into a new document. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "store_internal.h"

typedef struct reader {
    dlb_results *r;
    hid_t str;                   /* variable-length UTF-8 string */
    hid_t mem[DLB_TABLE_COUNT_]; /* compound types of the C row structs */
    dlb_diag *diag;
    char where[512]; /* the object being read, for error lines */
} reader;

/* Names of a group's links or attributes, in creation order where the file tracks it. */
typedef struct name_list {
    char **v;
    size_t n, cap;
    int oom;
} name_list;

static void names_free(name_list *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    *l = (name_list){0};
}

static void names_add(name_list *l, const char *s) {
    if (l->oom) return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = 1;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s)))
        l->oom = 1;
    else
        l->n++;
}

static herr_t attr_name_cb(hid_t loc, const char *name, const H5A_info_t *info, void *data) {
    (void)loc;
    (void)info;
    name_list *l = data;
    names_add(l, name);
    return l->oom ? 1 : 0; /* 1 stops the iteration; the caller checks oom */
}

/* The link names (\p attrs == 0) or attribute names (\p attrs == 1) of group \p g. */
static dlb_status list_names(reader *rd, hid_t g, int attrs, name_list *out) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = rd->diag;
    const char *where = rd->where;
    hid_t gcpl = H5I_INVALID_HID;
    unsigned flags = 0;
    char *buf = NULL;
    DLB_H5_CHECK_ID(gcpl, H5Gget_create_plist(g));
    if (attrs)
        DLB_H5_CHECK(H5Pget_attr_creation_order(gcpl, &flags));
    else
        DLB_H5_CHECK(H5Pget_link_creation_order(gcpl, &flags));
    H5_index_t index = (flags & H5P_CRT_ORDER_TRACKED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
    if (attrs) {
        DLB_H5_CHECK(H5Aiterate2(g, index, H5_ITER_INC, NULL, attr_name_cb, out));
    } else {
        H5G_info_t info;
        DLB_H5_CHECK(H5Gget_info(g, &info));
        for (hsize_t i = 0; i < info.nlinks && !out->oom; i++) {
            ssize_t len;
            DLB_H5_CHECK(
                len = H5Lget_name_by_idx(g, ".", index, H5_ITER_INC, i, NULL, 0, H5P_DEFAULT));
            DLB_CHECK_ALLOC(buf = malloc((size_t)len + 1));
            DLB_H5_CHECK(H5Lget_name_by_idx(g, ".", index, H5_ITER_INC, i, buf, (size_t)len + 1,
                                            H5P_DEFAULT));
            names_add(out, buf);
            free(buf);
            buf = NULL;
        }
    }
    if (out->oom) st = DLB_ENOMEM;
cleanup:
    free(buf);
    if (gcpl >= 0) H5Pclose(gcpl);
    return st;
}

/* A string attribute as a malloc'd copy in *out; *out = NULL if it is not a single string. */
static dlb_status read_str_attr(reader *rd, hid_t loc, const char *name, char **out) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = rd->diag;
    const char *where = rd->where;
    hid_t attr = H5I_INVALID_HID, type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hid_t fixed = H5I_INVALID_HID;
    char *vlen = NULL, *copy = NULL;
    H5T_class_t cls;
    htri_t is_vlen;
    hssize_t npoints;
    *out = NULL;
    DLB_H5_CHECK_ID(attr, H5Aopen(loc, name, H5P_DEFAULT));
    DLB_H5_CHECK_ID(type, H5Aget_type(attr));
    DLB_H5_CHECK_ID(space, H5Aget_space(attr));
    DLB_H5_CHECK(cls = H5Tget_class(type));
    DLB_H5_CHECK(npoints = H5Sget_simple_extent_npoints(space));
    if (cls != H5T_STRING || npoints != 1) goto cleanup;
    DLB_H5_CHECK(is_vlen = H5Tis_variable_str(type));
    if (is_vlen) {
        DLB_H5_CHECK(H5Aread(attr, rd->str, &vlen));
        DLB_CHECK_ALLOC(copy = strdup(vlen ? vlen : ""));
        char *p = vlen;
        vlen = NULL;
        DLB_H5_CHECK(H5free_memory(p));
    } else {
        size_t size = H5Tget_size(type);
        if (size == 0) DLB_H5_FAIL_("H5Tget_size(type)"); /* 0: its failure */
        DLB_CHECK_ALLOC(copy = calloc(size + 1, 1));
        DLB_H5_CHECK_ID(fixed, H5Tcopy(H5T_C_S1));
        DLB_H5_CHECK(H5Tset_size(fixed, size + 1));
        DLB_H5_CHECK(H5Tset_strpad(fixed, H5T_STR_NULLTERM));
        DLB_H5_CHECK(H5Aread(attr, fixed, copy));
    }
    *out = copy;
    copy = NULL;
cleanup:
    free(copy);
    if (vlen) H5free_memory(vlen);
    if (fixed >= 0) H5Tclose(fixed);
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    if (attr >= 0) H5Aclose(attr);
    return st;
}

/* A group's string attributes other than "name", as malloc'd pairs. */
typedef struct attr_buf {
    dlb_store_attr *v;
    int n;
} attr_buf;

static void attrs_free(attr_buf *a) {
    for (int i = 0; i < a->n; i++) {
        free((char *)a->v[i].name);
        free((char *)a->v[i].value);
    }
    free(a->v);
    *a = (attr_buf){0};
}

static dlb_status read_attrs(reader *rd, hid_t g, attr_buf *out) {
    dlb_status st = DLB_OK;
    name_list names = {0};
    DLB_TRY(list_names(rd, g, 1, &names));
    if (names.n && !(out->v = calloc(names.n, sizeof *out->v))) st = DLB_ENOMEM;
    for (size_t i = 0; i < names.n && st == DLB_OK; i++) {
        if (strcmp(names.v[i], DLB_STORE_NAME_ATTR) == 0) continue;
        char *value = NULL;
        DLB_TRY(read_str_attr(rd, g, names.v[i], &value));
        if (!value) continue; /* not a string: not ours */
        out->v[out->n].name = names.v[i];
        out->v[out->n++].value = value;
        names.v[i] = NULL;
    }
cleanup:
    names_free(&names);
    return st;
}

/* The entity name of a /runs, /systems or /models child: its "name" attribute, else the link. */
static dlb_status group_name(reader *rd, hid_t g, const char *link, char **out) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = rd->diag;
    const char *where = rd->where;
    htri_t has;
    *out = NULL;
    DLB_H5_CHECK(has = H5Aexists(g, DLB_STORE_NAME_ATTR));
    if (has) DLB_TRY(read_str_attr(rd, g, DLB_STORE_NAME_ATTR, out));
    if (!*out) DLB_CHECK_ALLOC(*out = strdup(link));
cleanup:
    return st;
}

/* One table or the samples: rows malloc'd, vlen strings owned by HDF5 until release. */
typedef struct table_buf {
    void *rows;
    size_t n;
    hid_t mem; /* borrowed */
} table_buf;

static dlb_status read_dataset(reader *rd, hid_t loc, const char *name, hid_t mem, size_t elem,
                               table_buf *out) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = rd->diag;
    char where[600];
    snprintf(where, sizeof where, "%s/%s", rd->where, name);
    hid_t ds = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hsize_t dims[1] = {0};
    htri_t exists;
    int rank;
    *out = (table_buf){.mem = mem};
    DLB_H5_CHECK(exists = H5Lexists(loc, name, H5P_DEFAULT));
    if (!exists) goto cleanup; /* optional: empty */
    DLB_H5_CHECK_ID(ds, H5Dopen2(loc, name, H5P_DEFAULT));
    DLB_H5_CHECK_ID(space, H5Dget_space(ds));
    DLB_H5_CHECK(rank = H5Sget_simple_extent_ndims(space));
    if (rank != 1) {
        dlb_error(diag, where, "expected a 1-D dataset, found rank %d", rank);
        st = DLB_EPARSE;
        goto cleanup;
    }
    DLB_H5_CHECK(H5Sget_simple_extent_dims(space, dims, NULL));
    if (!dims[0]) goto cleanup;
    if (dims[0] > SIZE_MAX / elem) DLB_CHECK_ALLOC(NULL);
    DLB_CHECK_ALLOC(out->rows = calloc((size_t)dims[0], elem));
    out->n = (size_t)dims[0];
    DLB_H5_CHECK(H5Dread(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->rows));
cleanup:
    if (space >= 0) H5Sclose(space);
    if (ds >= 0) H5Dclose(ds);
    return st;
}

static dlb_status read_table(reader *rd, hid_t loc, const char *name, dlb_store_table_id t,
                             table_buf *out) {
    return read_dataset(rd, loc, name, rd->mem[t], dlb__store_tables[t].row_size, out);
}

/* Free the rows and the strings HDF5 allocated in them (also after a failed read: the rows
 * were zeroed, and NULL strings are skipped). */
static dlb_status table_release(reader *rd, table_buf *b) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = rd->diag;
    const char *where = rd->where;
    hid_t space = H5I_INVALID_HID;
    htri_t strings = 0;
    if (b->rows && b->n) DLB_H5_CHECK(strings = H5Tdetect_class(b->mem, H5T_STRING));
    if (strings > 0) {
        hsize_t dims[1] = {b->n};
        DLB_H5_CHECK_ID(space, H5Screate_simple(1, dims, NULL));
        DLB_H5_CHECK(DLB_H5_RECLAIM(b->mem, space, H5P_DEFAULT, b->rows));
    }
cleanup:
    if (space >= 0) H5Sclose(space);
    free(b->rows);
    b->rows = NULL;
    b->n = 0;
    return st;
}

static dlb_status read_runs(reader *rd, hid_t f) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = rd->diag;
    const char *where = rd->where;
    hid_t runs = H5I_INVALID_HID, g = H5I_INVALID_HID;
    name_list links = {0};
    attr_buf attrs = {0};
    char *name = NULL;
    htri_t exists;
    snprintf(rd->where, sizeof rd->where, "/runs");
    DLB_H5_CHECK(exists = H5Lexists(f, "runs", H5P_DEFAULT));
    if (!exists) goto cleanup;
    DLB_H5_CHECK_ID(runs, H5Gopen2(f, "runs", H5P_DEFAULT));
    DLB_TRY(list_names(rd, runs, 0, &links));
    for (size_t i = 0; i < links.n; i++) {
        snprintf(rd->where, sizeof rd->where, "/runs/%s", links.v[i]);
        DLB_H5_CHECK_ID(g, H5Gopen2(runs, links.v[i], H5P_DEFAULT));
        DLB_TRY(group_name(rd, g, links.v[i], &name));
        DLB_TRY(dlb_results_add_run(rd->r, name));
        DLB_TRY(read_attrs(rd, g, &attrs));
        for (int a = 0; a < attrs.n; a++)
            DLB_TRY(dlb_results_run_attr(rd->r, name, attrs.v[a].name, attrs.v[a].value));
        attrs_free(&attrs);
        free(name);
        name = NULL;
        H5Gclose(g);
        g = H5I_INVALID_HID;
    }
cleanup:
    attrs_free(&attrs);
    free(name);
    names_free(&links);
    if (g >= 0) H5Gclose(g);
    if (runs >= 0) H5Gclose(runs);
    return st;
}

/* The bricks, samples and estimates of one system group. */
static dlb_status read_system_tables(reader *rd, hid_t g, int sys) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = rd->diag;
    const char *where = rd->where;
    table_buf bricks = {0}, samples = {0}, est = {0};
    DLB_TRY(read_table(rd, g, "bricks", DLB_TABLE_BRICKS, &bricks));
    DLB_TRY(read_dataset(rd, g, "samples", H5T_NATIVE_DOUBLE, sizeof(double), &samples));
    const dlb_brick_row *rows = bricks.rows;
    const double *x = samples.rows;
    for (size_t i = 0; i < bricks.n; i++) {
        int64_t start = rows[i].sample_start;
        int32_t n = rows[i].n_samples;
        if (start < 0 || n < 0 || (uint64_t)start > samples.n ||
            (uint64_t)n > samples.n - (uint64_t)start) {
            dlb_error(diag, where, "bricks row %zu: samples [%lld, +%d) outside the %zu samples", i,
                      (long long)start, (int)n, samples.n);
            st = DLB_EPARSE;
            goto cleanup;
        }
        DLB_TRY(dlb_results_add_brick(rd->r, sys, &rows[i], n ? x + start : NULL, n));
    }
    DLB_TRY(table_release(rd, &bricks));
    DLB_TRY(read_table(rd, g, "estimates", DLB_TABLE_ESTIMATES, &est));
    const dlb_estimate_row *e = est.rows;
    for (size_t i = 0; i < est.n; i++) DLB_TRY(dlb_results_put_estimate(rd->r, sys, &e[i]));
    DLB_TRY(table_release(rd, &est));
cleanup:
    table_release(rd, &bricks);
    table_release(rd, &est);
    free(samples.rows);
    return st;
}

static dlb_status read_systems(reader *rd, hid_t f) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = rd->diag;
    const char *where = rd->where;
    hid_t systems = H5I_INVALID_HID, g = H5I_INVALID_HID;
    name_list links = {0};
    attr_buf attrs = {0};
    char *name = NULL;
    htri_t exists;
    snprintf(rd->where, sizeof rd->where, "/systems");
    DLB_H5_CHECK(exists = H5Lexists(f, "systems", H5P_DEFAULT));
    if (!exists) goto cleanup;
    DLB_H5_CHECK_ID(systems, H5Gopen2(f, "systems", H5P_DEFAULT));
    DLB_TRY(list_names(rd, systems, 0, &links));
    for (size_t i = 0; i < links.n; i++) {
        snprintf(rd->where, sizeof rd->where, "/systems/%s", links.v[i]);
        DLB_H5_CHECK_ID(g, H5Gopen2(systems, links.v[i], H5P_DEFAULT));
        DLB_TRY(group_name(rd, g, links.v[i], &name));
        int sys = dlb_results_system(rd->r, name, true);
        if (sys < 0) DLB_CHECK_ALLOC(NULL);
        DLB_TRY(read_attrs(rd, g, &attrs));
        for (int a = 0; a < attrs.n; a++)
            DLB_TRY(dlb_results_system_attr(rd->r, sys, attrs.v[a].name, attrs.v[a].value));
        attrs_free(&attrs);
        DLB_TRY(read_system_tables(rd, g, sys));
        free(name);
        name = NULL;
        H5Gclose(g);
        g = H5I_INVALID_HID;
    }
cleanup:
    attrs_free(&attrs);
    free(name);
    names_free(&links);
    if (g >= 0) H5Gclose(g);
    if (systems >= 0) H5Gclose(systems);
    return st;
}

/* /models/<model>/b<batch>: attributes, layers and bricks into dlb_results_put_model. */
static dlb_status read_batch(reader *rd, hid_t mg, const char *model, const char *link) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = rd->diag;
    const char *where = rd->where;
    hid_t bg = H5I_INVALID_HID;
    attr_buf attrs = {0};
    table_buf layers = {0}, bricks = {0};
    char *end = NULL;
    errno = 0;
    long long batch = link[0] == 'b' ? strtoll(link + 1, &end, 10) : 0;
    if (!end || end == link + 1 || *end || errno) {
        dlb_error(diag, where, "model group %s: expected b<batch>", link);
        st = DLB_EPARSE;
        goto cleanup;
    }
    DLB_H5_CHECK_ID(bg, H5Gopen2(mg, link, H5P_DEFAULT));
    DLB_TRY(read_attrs(rd, bg, &attrs));
    DLB_TRY(read_table(rd, bg, "layers", DLB_TABLE_LAYERS, &layers));
    DLB_TRY(read_table(rd, bg, "bricks", DLB_TABLE_MODEL_BRICKS, &bricks));
    if (layers.n > INT32_MAX || bricks.n > INT32_MAX) {
        dlb_error(diag, where, "too many rows");
        st = DLB_EPARSE;
        goto cleanup;
    }
    DLB_TRY(dlb_results_put_model(rd->r, model, (int64_t)batch, attrs.v, attrs.n, layers.rows,
                                  (int)layers.n, bricks.rows, (int)bricks.n));
    DLB_TRY(table_release(rd, &layers));
    DLB_TRY(table_release(rd, &bricks));
cleanup:
    table_release(rd, &layers);
    table_release(rd, &bricks);
    attrs_free(&attrs);
    if (bg >= 0) H5Gclose(bg);
    return st;
}

static dlb_status read_models(reader *rd, hid_t f) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = rd->diag;
    const char *where = rd->where;
    hid_t models = H5I_INVALID_HID, mg = H5I_INVALID_HID;
    name_list links = {0}, batches = {0};
    char *name = NULL;
    htri_t exists;
    snprintf(rd->where, sizeof rd->where, "/models");
    DLB_H5_CHECK(exists = H5Lexists(f, "models", H5P_DEFAULT));
    if (!exists) goto cleanup;
    DLB_H5_CHECK_ID(models, H5Gopen2(f, "models", H5P_DEFAULT));
    DLB_TRY(list_names(rd, models, 0, &links));
    for (size_t i = 0; i < links.n; i++) {
        snprintf(rd->where, sizeof rd->where, "/models/%s", links.v[i]);
        DLB_H5_CHECK_ID(mg, H5Gopen2(models, links.v[i], H5P_DEFAULT));
        DLB_TRY(group_name(rd, mg, links.v[i], &name));
        DLB_TRY(list_names(rd, mg, 0, &batches));
        for (size_t b = 0; b < batches.n; b++) {
            snprintf(rd->where, sizeof rd->where, "/models/%s/%s", links.v[i], batches.v[b]);
            DLB_TRY(read_batch(rd, mg, name, batches.v[b]));
        }
        names_free(&batches);
        free(name);
        name = NULL;
        H5Gclose(mg);
        mg = H5I_INVALID_HID;
    }
cleanup:
    free(name);
    names_free(&batches);
    names_free(&links);
    if (mg >= 0) H5Gclose(mg);
    if (models >= 0) H5Gclose(models);
    return st;
}

/* The root attribute format_version must be this build's. */
static dlb_status check_version(reader *rd, hid_t f) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = rd->diag;
    const char *where = NULL;
    hid_t attr = H5I_INVALID_HID, type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    htri_t has;
    H5T_class_t cls;
    hssize_t npoints;
    int version = 0;
    DLB_H5_CHECK(has = H5Aexists(f, "format_version"));
    if (!has) {
        dlb_error(diag, where, "not a dlbricks results file: no format_version attribute");
        st = DLB_EPARSE;
        goto cleanup;
    }
    DLB_H5_CHECK_ID(attr, H5Aopen(f, "format_version", H5P_DEFAULT));
    DLB_H5_CHECK_ID(type, H5Aget_type(attr));
    DLB_H5_CHECK_ID(space, H5Aget_space(attr));
    DLB_H5_CHECK(cls = H5Tget_class(type));
    DLB_H5_CHECK(npoints = H5Sget_simple_extent_npoints(space));
    if (cls != H5T_INTEGER || npoints != 1) {
        dlb_error(diag, where, "not a dlbricks results file: format_version is not an integer");
        st = DLB_EPARSE;
        goto cleanup;
    }
    DLB_H5_CHECK(H5Aread(attr, H5T_NATIVE_INT, &version));
    if (version != DLB_STORE_FORMAT_VERSION) {
        dlb_error(diag, where, "format_version %d, but this build reads format_version %d", version,
                  DLB_STORE_FORMAT_VERSION);
        st = DLB_EPARSE;
    }
cleanup:
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    if (attr >= 0) H5Aclose(attr);
    return st;
}

static dlb_status read_file(reader *rd, const char *path) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = rd->diag;
    const char *where = NULL;
    hid_t fapl = H5I_INVALID_HID, f = H5I_INVALID_HID;
    htri_t is_h5;
    for (int t = 0; t < DLB_TABLE_COUNT_; t++) rd->mem[t] = H5I_INVALID_HID;
    rd->str = H5I_INVALID_HID;
    DLB_H5_CHECK(is_h5 = H5Fis_hdf5(path));
    if (!is_h5) {
        dlb_error(diag, where, "not an HDF5 file");
        st = DLB_EPARSE;
        goto cleanup;
    }
    DLB_H5_CHECK_ID(fapl, H5Pcreate(H5P_FILE_ACCESS));
    DLB_H5_CHECK(H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG));
#if H5_VERSION_GE(1, 10, 7)
    DLB_H5_CHECK(H5Pset_file_locking(fapl, 1, 1));
#endif
    DLB_H5_CHECK_ID(f, H5Fopen(path, H5F_ACC_RDONLY, fapl));
    DLB_TRY(check_version(rd, f));
    DLB_TRY(dlb__store_h5_str_type(&rd->str, diag, where));
    for (int t = 0; t < DLB_TABLE_COUNT_; t++)
        DLB_TRY(dlb__store_h5_row_type((dlb_store_table_id)t, &rd->mem[t], diag, where));
    DLB_TRY(read_runs(rd, f));
    DLB_TRY(read_systems(rd, f));
    DLB_TRY(read_models(rd, f));
cleanup:
    for (int t = 0; t < DLB_TABLE_COUNT_; t++)
        if (rd->mem[t] >= 0) H5Tclose(rd->mem[t]);
    if (rd->str >= 0) H5Tclose(rd->str);
    if (f >= 0) H5Fclose(f);
    if (fapl >= 0) H5Pclose(fapl);
    return st;
}

dlb_status dlb_results_load(const char *path, dlb_diag *user_diag, dlb_results **out) {
    if (!out) return DLB_EINVAL;
    *out = NULL;
    if (!path || !*path) return DLB_EINVAL;
    dlb_diag local = user_diag ? *user_diag : (dlb_diag){0};
    local.file = path;
    dlb_diag *diag = &local;
    dlb_status st = DLB_OK;
    const char *where = NULL;
    H5E_auto2_t old_func = NULL;
    void *old_data = NULL;
    int quiet = 0;
    reader rd = {.diag = diag};
    const int errors0 = local.n_errors;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        dlb_error(diag, where, "cannot open: %s", strerror(errno));
        st = DLB_EIO;
        goto cleanup;
    }
    close(fd);
    DLB_CHECK_ALLOC(rd.r = dlb_results_new());
    DLB_H5_CHECK(H5Eget_auto2(H5E_DEFAULT, &old_func, &old_data));
    DLB_H5_CHECK(H5Eset_auto2(H5E_DEFAULT, NULL, NULL));
    quiet = 1;
    DLB_TRY(read_file(&rd, path));
    *out = rd.r;
    rd.r = NULL;
cleanup:
    if (st != DLB_OK && local.n_errors == errors0) dlb_error(diag, where, "%s", dlb_strerror(st));
    if (quiet) H5Eset_auto2(H5E_DEFAULT, old_func, old_data);
    dlb_results_free(rd.r);
    if (user_diag) {
        user_diag->n_errors = local.n_errors;
        user_diag->n_warnings = local.n_warnings;
    }
    return st;
}
