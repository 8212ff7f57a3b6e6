/* h5_write.c — dlb_results_save: the whole document to PATH.tmp.<pid>, fsync, rename over PATH. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "store_internal.h"

enum { TABLE_CHUNK_ROWS = 4096, SAMPLE_CHUNK = 65536, GZIP_LEVEL = 4 };

/* Ids shared by the writers below. */
typedef struct writer {
    hid_t str;                    /* variable-length UTF-8 string */
    hid_t mem[DLB_TABLE_COUNT_];  /* compound types of the C row structs */
    hid_t file[DLB_TABLE_COUNT_]; /* the same, packed (no padding in the file) */
    hid_t gcpl;                   /* groups: links and attributes in creation order */
    dlb_diag *diag;
    bool compress;   /* shuffle + gzip (final saves); checkpoints are written plain */
    char where[512]; /* the object being written, for error lines */
} writer;

static dlb_status write_str_attr(writer *w, hid_t loc, const char *name, const char *value) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = w->diag;
    const char *where = w->where;
    hid_t space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
    const char *v = value ? value : "";
    DLB_H5_CHECK_ID(space, H5Screate(H5S_SCALAR));
    DLB_H5_CHECK_ID(attr, H5Acreate2(loc, name, w->str, space, H5P_DEFAULT, H5P_DEFAULT));
    DLB_H5_CHECK(H5Awrite(attr, w->str, &v));
cleanup:
    if (attr >= 0) H5Aclose(attr);
    if (space >= 0) H5Sclose(space);
    return st;
}

static dlb_status write_attrs(writer *w, hid_t loc, const dlb_store_attr *a, int n) {
    dlb_status st = DLB_OK;
    for (int i = 0; i < n && st == DLB_OK; i++) st = write_str_attr(w, loc, a[i].name, a[i].value);
    return st;
}

/* A 1-D chunked (shuffled, gzip'd when compressing) dataset of n elements of \p mem (stored
 * as \p file). */
static dlb_status write_dataset(writer *w, hid_t loc, const char *name, hid_t mem, hid_t file,
                                size_t n, size_t chunk_cap, const void *buf) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = w->diag;
    char where[600];
    snprintf(where, sizeof where, "%s/%s", w->where, name);
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, ds = H5I_INVALID_HID;
    hsize_t dims[1] = {n}, maxdims[1] = {H5S_UNLIMITED};
    hsize_t chunk[1] = {n < chunk_cap ? (n ? n : 1) : chunk_cap};
    DLB_H5_CHECK_ID(space, H5Screate_simple(1, dims, maxdims));
    DLB_H5_CHECK_ID(dcpl, H5Pcreate(H5P_DATASET_CREATE));
    DLB_H5_CHECK(H5Pset_chunk(dcpl, 1, chunk));
    if (w->compress) {
        DLB_H5_CHECK(H5Pset_shuffle(dcpl));
        DLB_H5_CHECK(H5Pset_deflate(dcpl, GZIP_LEVEL));
    }
    DLB_H5_CHECK_ID(ds, H5Dcreate2(loc, name, file, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    if (n) DLB_H5_CHECK(H5Dwrite(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf));
cleanup:
    if (ds >= 0) H5Dclose(ds);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (space >= 0) H5Sclose(space);
    return st;
}

static dlb_status write_table(writer *w, hid_t loc, const char *name, dlb_store_table_id t,
                              size_t n, const void *rows) {
    return write_dataset(w, loc, name, w->mem[t], w->file[t], n, TABLE_CHUNK_ROWS, rows);
}

/* A free link name under \p parent for \p name: '/' -> '_', "", "." and ".." prefixed with
 * '_', and "~2", "~3", ... appended on a clash.  malloc'd into *out. */
static dlb_status link_name(writer *w, hid_t parent, const char *name, char **out) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = w->diag;
    const char *where = w->where;
    size_t len = strlen(name);
    char *s = malloc(len + 24);
    DLB_CHECK_ALLOC(s);
    int dots = strspn(name, ".") == len && len <= 2;
    snprintf(s, len + 24, "%s%s", dots ? "_" : "", name);
    for (char *c = s; *c; c++)
        if (*c == '/') *c = '_';
    size_t base = strlen(s);
    for (int k = 2;; k++) {
        htri_t e;
        DLB_H5_CHECK(e = H5Lexists(parent, s, H5P_DEFAULT));
        if (!e) break;
        snprintf(s + base, 24, "~%d", k);
    }
    *out = s;
    return DLB_OK;
cleanup:
    free(s);
    return st;
}

/* A new group for an entity called \p name under \p parent, with attribute "name" = name. */
static dlb_status named_group(writer *w, hid_t parent, const char *name, hid_t *g, char **link) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = w->diag;
    const char *where = w->where;
    DLB_TRY(link_name(w, parent, name, link));
    size_t at = strlen(w->where);
    snprintf(w->where + at, sizeof w->where - at, "/%s", *link);
    where = w->where;
    DLB_H5_CHECK_ID(*g, H5Gcreate2(parent, *link, H5P_DEFAULT, w->gcpl, H5P_DEFAULT));
    DLB_TRY(write_str_attr(w, *g, DLB_STORE_NAME_ATTR, name));
cleanup:
    return st;
}

static dlb_status write_runs(writer *w, const dlb_results *r, hid_t root) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = w->diag;
    const char *where = w->where;
    hid_t runs = H5I_INVALID_HID, g = H5I_INVALID_HID;
    char *link = NULL;
    snprintf(w->where, sizeof w->where, "/runs");
    DLB_H5_CHECK_ID(runs, H5Gcreate2(root, "runs", H5P_DEFAULT, w->gcpl, H5P_DEFAULT));
    for (int i = 0; i < dlb_results_n_runs(r); i++) {
        const char *id = dlb_results_run_id(r, i);
        snprintf(w->where, sizeof w->where, "/runs");
        DLB_TRY(named_group(w, runs, id, &g, &link));
        /* The public API reads attributes by name only; the writer walks the list. */
        const dlb_store_attr *a = NULL;
        int n = dlb__results_run_attrs(r, i, &a);
        DLB_TRY(write_attrs(w, g, a, n));
        H5Gclose(g);
        g = H5I_INVALID_HID;
        free(link);
        link = NULL;
    }
cleanup:
    free(link);
    if (g >= 0) H5Gclose(g);
    if (runs >= 0) H5Gclose(runs);
    return st;
}

static dlb_status write_systems(writer *w, const dlb_results *r, hid_t root) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = w->diag;
    const char *where = w->where;
    hid_t systems = H5I_INVALID_HID, g = H5I_INVALID_HID;
    char *link = NULL;
    snprintf(w->where, sizeof w->where, "/systems");
    DLB_H5_CHECK_ID(systems, H5Gcreate2(root, "systems", H5P_DEFAULT, w->gcpl, H5P_DEFAULT));
    for (int s = 0; s < dlb_results_n_systems(r); s++) {
        snprintf(w->where, sizeof w->where, "/systems");
        DLB_TRY(named_group(w, systems, dlb_results_system_name(r, s), &g, &link));
        dlb__results_sys_view v;
        dlb__results_system_view(r, s, &v);
        DLB_TRY(write_attrs(w, g, v.attrs, v.n_attrs));
        DLB_TRY(write_table(w, g, "bricks", DLB_TABLE_BRICKS, v.n_bricks, v.bricks));
        DLB_TRY(write_dataset(w, g, "samples", H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE, v.n_samples,
                              SAMPLE_CHUNK, v.samples));
        DLB_TRY(write_table(w, g, "estimates", DLB_TABLE_ESTIMATES, v.n_estimates, v.estimates));
        H5Gclose(g);
        g = H5I_INVALID_HID;
        free(link);
        link = NULL;
    }
cleanup:
    free(link);
    if (g >= 0) H5Gclose(g);
    if (systems >= 0) H5Gclose(systems);
    return st;
}

static dlb_status write_models(writer *w, const dlb_results *r, hid_t root) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = w->diag;
    const char *where = w->where;
    hid_t models = H5I_INVALID_HID, mg = H5I_INVALID_HID, bg = H5I_INVALID_HID;
    int n = dlb_results_n_models(r);
    char **links = calloc(n ? (size_t)n : 1, sizeof *links);
    DLB_CHECK_ALLOC(links);
    snprintf(w->where, sizeof w->where, "/models");
    DLB_H5_CHECK_ID(models, H5Gcreate2(root, "models", H5P_DEFAULT, w->gcpl, H5P_DEFAULT));
    for (int i = 0; i < n; i++) {
        const char *name;
        int64_t batch;
        const dlb_store_attr *attrs;
        const dlb_layer_row *layers;
        const dlb_model_brick_row *bricks;
        int n_attrs, n_layers, n_bricks, first = i;
        dlb_results_model(r, i, &name, &batch, &attrs, &n_attrs, &layers, &n_layers, &bricks,
                          &n_bricks);
        for (int j = 0; j < i && first == i; j++) {
            const char *other;
            dlb_results_model(r, j, &other, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
            if (strcmp(other, name) == 0) first = j;
        }
        snprintf(w->where, sizeof w->where, "/models");
        if (first == i) { /* the first entry of this model makes its group */
            DLB_TRY(named_group(w, models, name, &mg, &links[i]));
        } else {
            DLB_CHECK_ALLOC(links[i] = strdup(links[first]));
            snprintf(w->where, sizeof w->where, "/models/%s", links[i]);
            DLB_H5_CHECK_ID(mg, H5Gopen2(models, links[i], H5P_DEFAULT));
        }
        char bname[32];
        snprintf(bname, sizeof bname, "b%lld", (long long)batch);
        size_t at = strlen(w->where);
        snprintf(w->where + at, sizeof w->where - at, "/%s", bname);
        DLB_H5_CHECK_ID(bg, H5Gcreate2(mg, bname, H5P_DEFAULT, w->gcpl, H5P_DEFAULT));
        DLB_TRY(write_attrs(w, bg, attrs, n_attrs));
        DLB_TRY(write_table(w, bg, "layers", DLB_TABLE_LAYERS, (size_t)n_layers, layers));
        DLB_TRY(write_table(w, bg, "bricks", DLB_TABLE_MODEL_BRICKS, (size_t)n_bricks, bricks));
        H5Gclose(bg);
        bg = H5I_INVALID_HID;
        H5Gclose(mg);
        mg = H5I_INVALID_HID;
    }
cleanup:
    for (int i = 0; links && i < n; i++) free(links[i]);
    free(links);
    if (bg >= 0) H5Gclose(bg);
    if (mg >= 0) H5Gclose(mg);
    if (models >= 0) H5Gclose(models);
    return st;
}

static dlb_status write_file(const dlb_results *r, const char *tmp, bool compress, dlb_diag *diag) {
    dlb_status st = DLB_OK;
    const char *where = NULL;
    writer w = {
        .str = H5I_INVALID_HID, .gcpl = H5I_INVALID_HID, .diag = diag, .compress = compress};
    hid_t fapl = H5I_INVALID_HID, f = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hid_t attr = H5I_INVALID_HID;
    char *schema = NULL;
    for (int t = 0; t < DLB_TABLE_COUNT_; t++) w.mem[t] = w.file[t] = H5I_INVALID_HID;
    DLB_TRY(dlb__store_h5_str_type(&w.str, diag, where));
    for (int t = 0; t < DLB_TABLE_COUNT_; t++) {
        DLB_TRY(dlb__store_h5_row_type((dlb_store_table_id)t, &w.mem[t], diag, where));
        DLB_H5_CHECK_ID(w.file[t], H5Tcopy(w.mem[t]));
        DLB_H5_CHECK(H5Tpack(w.file[t]));
    }
    unsigned order = H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED;
    DLB_H5_CHECK_ID(w.gcpl, H5Pcreate(H5P_GROUP_CREATE));
    DLB_H5_CHECK(H5Pset_link_creation_order(w.gcpl, order));
    DLB_H5_CHECK(H5Pset_attr_creation_order(w.gcpl, order));
    DLB_H5_CHECK_ID(fapl, H5Pcreate(H5P_FILE_ACCESS));
    DLB_H5_CHECK(H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG));
#if H5_VERSION_GE(1, 10, 7)
    /* Keep HDF5's file locks, but do not fail on file systems without them (Lustre, NFS). */
    DLB_H5_CHECK(H5Pset_file_locking(fapl, 1, 1));
#endif
    DLB_H5_CHECK_ID(f, H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl));

    snprintf(w.where, sizeof w.where, "/");
    int version = DLB_STORE_FORMAT_VERSION;
    DLB_H5_CHECK_ID(space, H5Screate(H5S_SCALAR));
    DLB_H5_CHECK_ID(
        attr, H5Acreate2(f, "format_version", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT));
    DLB_H5_CHECK(H5Awrite(attr, H5T_NATIVE_INT, &version));
    DLB_CHECK_ALLOC(schema = dlb_store_schema_json());
    DLB_TRY(write_str_attr(&w, f, "schema", schema));
    DLB_TRY(write_str_attr(&w, f, "creator", "dlbricks-mpi"));

    DLB_TRY(write_runs(&w, r, f));
    DLB_TRY(write_systems(&w, r, f));
    DLB_TRY(write_models(&w, r, f));
    where = NULL;
    hid_t closing = f;
    f = H5I_INVALID_HID;
    DLB_H5_CHECK(H5Fclose(closing));
cleanup:
    free(schema);
    if (attr >= 0) H5Aclose(attr);
    if (space >= 0) H5Sclose(space);
    if (f >= 0) H5Fclose(f);
    if (fapl >= 0) H5Pclose(fapl);
    if (w.gcpl >= 0) H5Pclose(w.gcpl);
    for (int t = 0; t < DLB_TABLE_COUNT_; t++) {
        if (w.mem[t] >= 0) H5Tclose(w.mem[t]);
        if (w.file[t] >= 0) H5Tclose(w.file[t]);
    }
    if (w.str >= 0) H5Tclose(w.str);
    return st;
}

/* fsync of a file or directory by name. */
static int sync_path(const char *path, int flags) {
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

static dlb_status save(const dlb_results *r, const char *path, bool compress, dlb_diag *user_diag) {
    if (!r || !path || !*path) return DLB_EINVAL;
    dlb_diag local = user_diag ? *user_diag : (dlb_diag){0};
    local.file = path;
    dlb_diag *diag = &local;
    dlb_status st = DLB_OK;
    const char *where = NULL;
    H5E_auto2_t old_func = NULL;
    void *old_data = NULL;
    int quiet = 0, tmp_made = 0;
    const int errors0 = local.n_errors;
    size_t len = strlen(path);
    char *tmp = malloc(len + 32), *dir = malloc(len + 2);
    DLB_CHECK_ALLOC(tmp);
    DLB_CHECK_ALLOC(dir);
    snprintf(tmp, len + 32, "%s.tmp.%ld", path, (long)getpid());
    const char *slash = strrchr(path, '/');
    if (slash == path)
        strcpy(dir, "/");
    else if (slash)
        snprintf(dir, len + 2, "%.*s", (int)(slash - path), path);
    else
        strcpy(dir, ".");

    DLB_H5_CHECK(H5Eget_auto2(H5E_DEFAULT, &old_func, &old_data));
    DLB_H5_CHECK(H5Eset_auto2(H5E_DEFAULT, NULL, NULL));
    quiet = 1;
    tmp_made = 1;
    DLB_TRY(write_file(r, tmp, compress, diag));
    if (sync_path(tmp, O_RDONLY) != 0) {
        dlb_error(diag, NULL, "fsync %s: %s", tmp, strerror(errno));
        st = DLB_EIO;
        goto cleanup;
    }
    if (rename(tmp, path) != 0) {
        dlb_error(diag, NULL, "rename %s over it: %s", tmp, strerror(errno));
        st = DLB_EIO;
        goto cleanup;
    }
    tmp_made = 0;
    if (sync_path(dir, O_RDONLY | O_DIRECTORY) != 0) {
        dlb_error(diag, NULL, "fsync of directory %s: %s", dir, strerror(errno));
        st = DLB_EIO;
    }
cleanup:
    if (st != DLB_OK && local.n_errors == errors0) dlb_error(diag, where, "%s", dlb_strerror(st));
    if (tmp_made) unlink(tmp);
    if (quiet) H5Eset_auto2(H5E_DEFAULT, old_func, old_data);
    free(tmp);
    free(dir);
    if (user_diag) {
        user_diag->n_errors = local.n_errors;
        user_diag->n_warnings = local.n_warnings;
    }
    return st;
}

dlb_status dlb_results_save(const dlb_results *r, const char *path, dlb_diag *diag) {
    return save(r, path, true, diag);
}

dlb_status dlb_results_checkpoint(const dlb_results *r, const char *path, dlb_diag *diag) {
    return save(r, path, false, diag);
}
