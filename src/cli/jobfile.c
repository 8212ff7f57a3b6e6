/* jobfile.c — --job FILE: a declarative INI job file (libinih) turned into command-line options,
 * which the real command line then overrides. */
#include "cli.h"

#include <ini.h>
#include <stdlib.h>
#include <string.h>

typedef enum { KEY_VALUE, KEY_FLAG, KEY_NEG_FLAG, KEY_PATHS } key_kind;

/* What the options point into, kept (reachable) until the process exits. */
static char **kept_argv, *kept_text;

/* The one table of job-file keys: section, key, the option it stands for. */
static const struct job_key {
    const char *section, *key, *option;
    key_kind kind;
} KEYS[] = {
    {"zoo", "paths", NULL, KEY_PATHS},
    {"zoo", "batch", "--batch", KEY_VALUE},
    {"bricks", "granularity", "--granularity", KEY_VALUE},
    {"bricks", "fuse", "--no-fuse", KEY_NEG_FLAG},
    {"bricks", "dtype", "--dtype", KEY_VALUE},
    {"timing", "min_time_ms", "--min-time-ms", KEY_VALUE},
    {"timing", "min_reps", "--min-reps", KEY_VALUE},
    {"timing", "cold_cache", "--cold-cache", KEY_FLAG},
    {"timing", "weights", "--weights", KEY_VALUE},
    {"timing", "cold_inputs", "--cold-inputs", KEY_VALUE},
    {"timing", "evict_mib", "--evict-mib", KEY_VALUE},
    {"timing", "denormals", "--denormals", KEY_VALUE},
    {"timing", "stat", "--stat", KEY_VALUE},
    {"timing", "host_probe", "--no-host-probe", KEY_NEG_FLAG},
    {"ranks", "threads", "--threads", KEY_VALUE},
    {"ranks", "bind", "--bind", KEY_VALUE},
    {"ranks", "allow_oversubscribe", "--allow-oversubscribe", KEY_FLAG},
    {"ranks", "dedicated_coordinator", "--dedicated-coordinator", KEY_FLAG},
    {"ranks", "system_name", "--system-name", KEY_VALUE},
    {"ranks", "max_brick_mem", "--max-brick-mem", KEY_VALUE},
    {"output", "file", "--output", KEY_VALUE},
    {"output", "resume", "--resume", KEY_FLAG},
    {"output", "force", "--force", KEY_FLAG},
    {"output", "validate", "--validate", KEY_FLAG},
    {"output", "validate_rounds", "--validate-rounds", KEY_VALUE},
    {"output", "validate_passes", "--validate-passes", KEY_VALUE},
    {"output", "validate_recheck", "--validate-recheck", KEY_VALUE},
    {"output", "validate_se", "--validate-se", KEY_VALUE},
    {"output", "bricks_csv", "--bricks-out", KEY_VALUE},
    {"output", "checkpoint_s", "--checkpoint-s", KEY_VALUE},
    {"output", "progress_s", "--progress-s", KEY_VALUE},
};

typedef struct job_state {
    const char *file;
    char **args; /* options made from the file */
    int n_args, cap_args;
    char **paths;
    int n_paths, cap_paths;
    char error[512]; /* the first error (ini_parse gives its line) */
    bool oom;
} job_state;

static bool push(char ***v, int *n, int *cap, const char *s) {
    if (*n == *cap) {
        int c = *cap ? 2 * *cap : 16;
        char **w = realloc(*v, sizeof *w * (size_t)c);
        if (!w) return false;
        *v = w;
        *cap = c;
    }
    return ((*v)[*n] = strdup(s)) != NULL && ++*n;
}

static int set_error(job_state *js, const char *fmt, const char *a, const char *b) {
    if (!js->error[0]) snprintf(js->error, sizeof js->error, fmt, a, b);
    return 0; /* ini_parse records the line of the first handler failure */
}

/* yes/no, true/false, on/off, 1/0 (any case). */
static int parse_bool(const char *v) {
    static const char *yes[] = {"yes", "true", "on", "1"}, *no[] = {"no", "false", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(v, yes[i])) return 1;
        if (!strcasecmp(v, no[i])) return 0;
    }
    return -1;
}

/* Check one option with the real parser, so job files and command lines accept the same
 * values; the parser's message, without its "error: " and hint line, becomes ours. */
static bool option_ok(const char *option, const char *value, char *msg, size_t size) {
    char *argv[] = {"dlbricks-mpi", (char *)option, (char *)value, "PATH", NULL};
    int argc = value ? 4 : 3;
    if (!value) argv[2] = "PATH";
    char *text = NULL;
    size_t len = 0;
    FILE *err = open_memstream(&text, &len);
    if (!err) return true; /* cannot check here; the final parse will */
    dlb_cli_options o;
    dlb_parse_result r = dlb_cli_parse(argc, argv, &o, err);
    fclose(err);
    bool ok = r == DLB_PARSE_OK;
    if (!ok) {
        const char *m = text && !strncmp(text, "error: ", 7) ? text + 7 : text ? text : "?";
        snprintf(msg, size, "%.*s", (int)strcspn(m, "\n"), m);
    }
    free(text);
    return ok;
}

static int on_key(void *user, const char *section, const char *key, const char *value) {
    job_state *js = user;
    const struct job_key *k = NULL;
    for (size_t i = 0; i < sizeof KEYS / sizeof *KEYS && !k; i++)
        if (!strcmp(KEYS[i].section, section) && !strcmp(KEYS[i].key, key)) k = &KEYS[i];
    if (!k) return set_error(js, "unknown key '%s' in section [%s]", key, section);
    bool ok = true;
    if (k->kind == KEY_PATHS) {
        char *copy = strdup(value), *save = NULL;
        if (!copy) return js->oom = true, 0;
        for (char *p = strtok_r(copy, " \t", &save); p && ok; p = strtok_r(NULL, " \t", &save))
            ok = push(&js->paths, &js->n_paths, &js->cap_paths, p);
        free(copy);
        if (!ok) return js->oom = true, 0;
        if (js->n_paths == 0) return set_error(js, "key '%s': no path given%s", key, "");
        return 1;
    }
    if (k->kind != KEY_VALUE) {
        int b = parse_bool(value);
        if (b < 0) return set_error(js, "key '%s': '%s' is not yes or no", key, value);
        if (b == (k->kind == KEY_FLAG)) ok = push(&js->args, &js->n_args, &js->cap_args, k->option);
        return ok ? 1 : (js->oom = true, 0);
    }
    char msg[256];
    if (!option_ok(k->option, value, msg, sizeof msg))
        return set_error(js, "key '%s': %s", key, msg);
    ok = push(&js->args, &js->n_args, &js->cap_args, k->option) &&
         push(&js->args, &js->n_args, &js->cap_args, value);
    return ok ? 1 : (js->oom = true, 0);
}

/* The value of --job in argv (NULL if none); both "--job F" and "--job=F". */
static const char *job_arg(int argc, char **argv) {
    const char *job = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "--job") && i + 1 < argc)
            job = argv[++i];
        else if (!strncmp(argv[i], "--job=", 6))
            job = argv[i] + 6;
    }
    return job;
}

dlb_parse_result dlb_cli_parse_job(int argc, char **argv, dlb_cli_options *opt, FILE *err) {
    const char *file = job_arg(argc, argv);
    if (!file) return dlb_cli_parse(argc, argv, opt, err);
    job_state js = {.file = file};
    FILE *f = fopen(file, "r");
    if (!f) {
        fprintf(err, "error: %s: cannot open the job file\n", file);
        return DLB_PARSE_BAD;
    }
    char *text = NULL;
    size_t cap = 0, n = 0;
    for (char buf[4096]; (cap = fread(buf, 1, sizeof buf, f)) > 0;) {
        char *t = realloc(text, n + cap + 1);
        if (!t) break;
        text = t;
        memcpy(text + n, buf, cap);
        n += cap;
    }
    fclose(f);
    if (!text) text = calloc(1, 1);
    if (!text) return DLB_PARSE_BAD;
    text[n] = 0;
    int line = ini_parse_string(text, on_key, &js);
    dlb_parse_result out = DLB_PARSE_OK;
    if (line != 0 || js.oom) {
        if (js.oom)
            fprintf(err, "error: %s: out of memory\n", file);
        else if (js.error[0])
            fprintf(err, "error: %s:%d: %s\n", file, line, js.error);
        else
            fprintf(err, "error: %s:%d: not an INI line\n", file, line);
        out = DLB_PARSE_BAD;
    }
    /* argv' = program, the file's options, its paths (unless the command line names some),
     * then the command line: the last occurrence of an option wins.  Whether the command line
     * names PATHs: parse it (quietly) without the file's paths first. */
    bool cmd_paths = false;
    int total = 1 + js.n_args + js.n_paths + (argc - 1);
    char **all = out == DLB_PARSE_OK ? calloc((size_t)total + 1, sizeof *all) : NULL;
    if (out == DLB_PARSE_OK && !all) out = DLB_PARSE_BAD;
    if (all) {
        int k = 0;
        all[k++] = argv[0];
        for (int i = 0; i < js.n_args; i++) all[k++] = js.args[i];
        int mark = k;
        for (int i = 1; i < argc; i++) all[k++] = argv[i];
        FILE *null = fopen("/dev/null", "w");
        dlb_parse_result r = dlb_cli_parse(k, all, opt, null ? null : err);
        if (null) fclose(null);
        cmd_paths = r == DLB_PARSE_OK && opt->n_paths > 0;
        if (!cmd_paths && r != DLB_PARSE_HELP && r != DLB_PARSE_VERSION) {
            memmove(all + mark + js.n_paths, all + mark, sizeof *all * (size_t)(argc - 1));
            for (int i = 0; i < js.n_paths; i++) all[mark + i] = js.paths[i];
            k += js.n_paths;
        }
        out = dlb_cli_parse(k, all, opt, err);
        opt->job_file = file;
        opt->job_text = text;
        kept_text = text; /* options and paths point into these: kept until exit */
        kept_argv = all;
        text = NULL;
        all = NULL;
    } else {
        for (int i = 0; i < js.n_args; i++) free(js.args[i]);
    }
    for (int i = 0; (cmd_paths || out != DLB_PARSE_OK) && i < js.n_paths; i++) free(js.paths[i]);
    free(text);
    free(js.args); /* the strings themselves live on in kept_argv */
    free(js.paths);
    return out;
}
