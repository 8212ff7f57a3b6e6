/* zoo_walk.c — expansion of PATH arguments into a sorted, duplicate-free list of model files. */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dlbricks/diag.h"

#define MAX_DEPTH 256 /* directory nesting limit (symlink chains make deep trees cheap) */

typedef struct file_id {
    dev_t dev;
    ino_t ino;
    bool known; /* stat() succeeded */
} file_id;

typedef struct entry {
    char *path;
    file_id id;
    int pos; /* position before de-duplication */
} entry;

typedef struct walker {
    entry *files;
    int n_files, cap_files;
    file_id *dirs; /* directories already walked */
    int n_dirs, cap_dirs;
    int n_errors;
    dlb_status st; /* DLB_ENOMEM once memory ran out */
} walker;

static void report(const char *path, const char *what) {
    dlb_diag d = {.file = path};
    dlb_error(&d, NULL, "%s", what);
}

/* Take ownership of path (freed here on failure). */
static void add_file(walker *w, char *path, const struct stat *sb) {
    if (w->n_files == w->cap_files) {
        int cap = w->cap_files ? 2 * w->cap_files : 64;
        entry *p = realloc(w->files, (size_t)cap * sizeof *p);
        if (!p) {
            free(path);
            w->st = DLB_ENOMEM;
            return;
        }
        w->files = p;
        w->cap_files = cap;
    }
    file_id id = sb ? (file_id){sb->st_dev, sb->st_ino, true} : (file_id){0, 0, false};
    w->files[w->n_files] = (entry){path, id, w->n_files};
    w->n_files++;
}

/* Remember a directory; false if it was walked already (a symlink loop or a second link). */
static bool first_visit(walker *w, const struct stat *sb) {
    for (int i = 0; i < w->n_dirs; i++)
        if (w->dirs[i].dev == sb->st_dev && w->dirs[i].ino == sb->st_ino) return false;
    if (w->n_dirs == w->cap_dirs) {
        int cap = w->cap_dirs ? 2 * w->cap_dirs : 16;
        file_id *p = realloc(w->dirs, (size_t)cap * sizeof *p);
        if (!p) {
            w->st = DLB_ENOMEM;
            return false;
        }
        w->dirs = p;
        w->cap_dirs = cap;
    }
    w->dirs[w->n_dirs++] = (file_id){sb->st_dev, sb->st_ino, true};
    return true;
}

static bool is_model_name(const char *name) {
    size_t n = strlen(name);
    return n > 5 && strcmp(name + n - 5, ".onnx") == 0;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(const char *dir, const char *name) {
    size_t nd = strlen(dir), nn = strlen(name);
    bool slash = nd > 0 && dir[nd - 1] != '/';
    char *p = malloc(nd + slash + nn + 1);
    if (!p) return NULL;
    memcpy(p, dir, nd);
    if (slash) p[nd] = '/';
    memcpy(p + nd + slash, name, nn + 1);
    return p;
}

/* Read the entry names of a directory (hidden ones left out), sorted. */
static dlb_status read_names(DIR *dir, char ***names_out, int *n_out) {
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.') continue; /* ".", ".." and hidden entries */
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            char **p = realloc(names, (size_t)cap * sizeof *p);
            if (!p) goto nomem;
            names = p;
        }
        if (!(names[n] = strdup(e->d_name))) goto nomem;
        n++;
    }
    qsort(names, (size_t)n, sizeof *names, cmp_names);
    *names_out = names;
    *n_out = n;
    return DLB_OK;
nomem:
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    return DLB_ENOMEM;
}

static void walk_dir(walker *w, const char *path, int depth) {
    if (depth > MAX_DEPTH) {
        report(path, "directories nested too deeply (skipped)");
        w->n_errors++;
        return;
    }
    DIR *dir = opendir(path);
    if (!dir) {
        report(path, strerror(errno));
        w->n_errors++;
        return;
    }
    char **names;
    int n;
    dlb_status st = read_names(dir, &names, &n);
    closedir(dir);
    if (st != DLB_OK) {
        w->st = st;
        return;
    }
    for (int i = 0; i < n && w->st == DLB_OK; i++) {
        char *child = join(path, names[i]);
        if (!child) {
            w->st = DLB_ENOMEM;
            break;
        }
        struct stat sb;
        if (stat(child, &sb) != 0) {
            /* A dangling "x.onnx" link is still a model the user pointed at: loading it
             * fails and it is reported as skipped.  Other unreadable entries are ignored. */
            if (is_model_name(names[i])) {
                add_file(w, child, NULL);
                child = NULL;
            }
        } else if (S_ISDIR(sb.st_mode)) {
            if (first_visit(w, &sb)) walk_dir(w, child, depth + 1);
        } else if (S_ISREG(sb.st_mode) && is_model_name(names[i])) {
            add_file(w, child, &sb);
            child = NULL;
        }
        free(child);
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

static int cmp_path(const void *a, const void *b) {
    const entry *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

static int cmp_id(const void *a, const void *b) {
    const entry *x = a, *y = b;
    if (x->id.dev != y->id.dev) return x->id.dev < y->id.dev ? -1 : 1;
    if (x->id.ino != y->id.ino) return x->id.ino < y->id.ino ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static int cmp_pos(const void *a, const void *b) {
    const entry *x = a, *y = b;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/* Keep the first path of every file reached several times (links, repeated arguments):
 * sort by (dev, ino, position), drop repeats, restore the order. */
static void drop_duplicates(walker *w) {
    for (int i = 0; i < w->n_files; i++) w->files[i].pos = i;
    qsort(w->files, (size_t)w->n_files, sizeof *w->files, cmp_id);
    int m = 0;
    for (int i = 0; i < w->n_files; i++) {
        entry *e = &w->files[i];
        if (m > 0 && e->id.known && w->files[m - 1].id.known &&
            e->id.dev == w->files[m - 1].id.dev && e->id.ino == w->files[m - 1].id.ino) {
            free(e->path);
            continue;
        }
        w->files[m++] = *e;
    }
    w->n_files = m;
    qsort(w->files, (size_t)w->n_files, sizeof *w->files, cmp_pos);
}

dlb_status dlb_cli_collect_files(char *const *args, int n_args, dlb_cli_files *out) {
    memset(out, 0, sizeof *out);
    walker w = {.st = DLB_OK};
    dlb_status bad = DLB_OK;
    for (int a = 0; a < n_args && w.st == DLB_OK; a++) {
        const char *arg = args[a];
        struct stat sb;
        if (arg[0] == '\0' || stat(arg, &sb) != 0) {
            report(arg, arg[0] ? strerror(errno) : "empty path");
            bad = DLB_ENOTFOUND;
            continue;
        }
        int first = w.n_files;
        if (S_ISDIR(sb.st_mode)) {
            /* A directory already walked (given twice, or inside an earlier PATH) adds
             * nothing and is no error: its files are in the list already. */
            if (first_visit(&w, &sb)) {
                walk_dir(&w, arg, 0);
                if (w.st == DLB_OK && w.n_files == first) {
                    report(arg, "no .onnx files found");
                    bad = DLB_ENOTFOUND;
                }
            }
        } else if (S_ISREG(sb.st_mode)) {
            char *copy = strdup(arg);
            if (copy)
                add_file(&w, copy, &sb);
            else
                w.st = DLB_ENOMEM;
        } else {
            report(arg, "not a regular file or directory");
            bad = DLB_ENOTFOUND;
        }
        /* Within one argument, files are in byte order of their paths. */
        for (int i = first; i < w.n_files; i++) w.files[i].pos = i;
        qsort(w.files + first, (size_t)(w.n_files - first), sizeof *w.files, cmp_path);
    }
    if (w.st == DLB_OK) drop_duplicates(&w);
    dlb_status st = w.st != DLB_OK ? w.st : bad;
    if (st == DLB_OK) {
        out->paths = malloc((size_t)(w.n_files ? w.n_files : 1) * sizeof *out->paths);
        if (!out->paths) st = DLB_ENOMEM;
    }
    if (st == DLB_OK) {
        for (int i = 0; i < w.n_files; i++) out->paths[i] = w.files[i].path;
        out->n = out->cap = w.n_files;
        out->n_errors = w.n_errors;
    } else {
        for (int i = 0; i < w.n_files; i++) free(w.files[i].path);
    }
    free(w.files);
    free(w.dirs);
    return st;
}

void dlb_cli_files_free(dlb_cli_files *f) {
    for (int i = 0; i < f->n; i++) free(f->paths[i]);
    free(f->paths);
    f->paths = NULL;
    f->n = f->cap = 0;
}
