/* sweep.c — netc sweep: a grid of training runs of one model, N at a time, resumable.
 *
 * `netc sweep FILE.net --grid KEY=VALUES ... [-o DIR] [TRAIN OPTIONS]` trains every cell
 * of the grid (the product of the axes, the last axis varying fastest).  An axis is a
 * model parameter (its values are -D overrides) or a train setting (its values are the
 * trainer's option), decided by name; the values are checked before anything runs: a
 * setting's by the trainer's own parser (rt_config_set), a parameter's by elaborating
 * the model with it.  Each distinct model is built once, by `netc build`'s own code
 * (build_trainer), into DIR/bin/.  Cells run as child processes, `jobs` at a time, each
 * trainer with `threads` threads, in a directory of its own, DIR/cell-NAME/, NAME being
 * its grid values (n_conv=2,mixup=0.2):
 *   cell      its grid values, parameter count and trainer, written when it is made
 *   cmd       every command the sweep ran for it, one a line, shell-quoted
 *   log       their standard output and error, appended
 *   ckpt, ckpt.csv, ckpt.best   the trainer's checkpoint, CSV log and best checkpoint
 *   eval.log  the output of `eval` of the checkpoint, after training
 *   done      test_acc=X, written atomically once eval has succeeded: the cell is finished
 *   seconds   the wall time of its attempts (training and eval), summed
 *   failed    why its last attempt failed (removed when it is tried again)
 * So a sweep is resumable by looking at the directory: a cell with `done` is skipped, one
 * with a checkpoint is resumed (`train --resume`), any other starts afresh.  The sweep
 * keeps SIGINT, SIGTERM and SIGCHLD blocked and waits for them with sigwaitinfo, so no
 * handler and no global is needed: a signal is forwarded to every running child (each
 * in a process group of its own, so a terminal's Ctrl-C reaches them only through the
 * sweep, once), whose trainer saves a checkpoint; a child also gets SIGTERM if the sweep
 * dies (PR_SET_PDEATHSIG), so even a kill -9 of the sweep leaves resumable cells.
 * DIR/sweep records the grid (its axes and cells) and the spec of the command; a second
 * run must repeat the spec, and `--report DIR` needs nothing else: the results table is
 * made from the files alone, printed sorted by --sort and written as DIR/results.csv.
 * Under mpirun, rank r of R runs cells r, r + R, ... (Open MPI's environment says which;
 * no MPI library is linked), and rank 0 waits for the others' DIR/.rank-R markers before
 * the table.  docs/sweep.md is the manual. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "netc.h"
#include "../runtime/trainer/rt_trainer.h"

extern char **environ;

#define MAX_AXES 16
#define MAX_VALUES 1000
#define MAX_CELLS 100000
#define MAX_FIXED 64
#define MAX_TRAIN_ARGS 256
#define NAME_MAX_LEN 400   /* the buffers of a cell's values; a cell's name is at most 200 bytes */
#define CELL_NAME_MAX 200

typedef enum { AXIS_PARAMETER, AXIS_SETTING } AxisKind;

typedef struct {
    const char *arg;             /* the --grid argument, as given */
    char *name;                  /* as given: n_conv, mixup, eval-mixup */
    AxisKind kind;
    char option[96];             /* a setting's trainer option: --mixup */
    char **values;
    int nvalues;
} Axis;

/* A distinct model of the grid: the -D values of its cells, built once. */
typedef struct {
    char key[NAME_MAX_LEN];      /* its parameter axes' values: "n_conv=2,n_dense=0" ("" for none) */
    char path[PATH_MAX];         /* DIR/bin/trainer[-KEY] */
    long long params;
    bool needed;                 /* some cell of it is still to run */
} Trainer;

typedef enum { CELL_WAITING, CELL_TRAINING, CELL_EVALUATING, CELL_FINISHED } CellState;

typedef struct {
    char name[NAME_MAX_LEN + 8];  /* cell-n_conv=2,mixup=0.2 */
    int *value;                  /* the value index on each axis */
    int trainer;
    bool mine;                   /* this rank runs it (all, without MPI) */
    CellState state;
    pid_t pid;
    double started;
} Cell;

typedef struct {
    const char *file, *dir, *sort;
    int jobs, threads;
    bool test_best;              /* --test-ckpt best: eval CKPT.best */
    const char *grid_args[MAX_AXES];
    int ngrid;
    Axis axis[MAX_AXES];
    int naxes;
    Define fixed[MAX_FIXED];     /* -D NAME=VALUE for every cell */
    int nfixed;
    char *train_args[MAX_TRAIN_ARGS];   /* "--lr=0.01": for every cell */
    int ntrain;
    SrcFile *src;
    Program prog;
    Cell *cell;
    int ncells;
    Trainer *trainer;
    int ntrainers;
    int rank, ranks;             /* MPI: OMPI_COMM_WORLD_RANK and _SIZE; else 0 of 1 */
    sigset_t old_mask;           /* restored in each child */
    double t0, cell_seconds;     /* for the ETA: wall time of the cells finished this run */
    int finished, failed, to_run;
} Sweep;

/* The columns of the results beside the grid values.  Accuracies sort highest first,
 * the rest lowest first. */
typedef enum { M_PARAMS, M_EPOCHS, M_BEST, M_FINAL, M_MIXED, M_TEST, M_SECONDS, M_COUNT } Metric;
static const struct {
    const char *name;
    const char *fmt;
    bool higher_first;
} metrics[M_COUNT] = {
    [M_PARAMS] = { "params", "%.0f", false },
    [M_EPOCHS] = { "epochs", "%.0f", false },
    [M_BEST] = { "best_valid_acc", "%.4f", true },
    [M_FINAL] = { "final_valid_acc", "%.4f", true },
    [M_MIXED] = { "valid_mixup_acc", "%.4f", true },
    [M_TEST] = { "test_acc", "%.4f", true },
    [M_SECONDS] = { "seconds", "%.1f", false },
};

static const struct {
    const char *name, *arg, *help;
} sweep_options[] = {
    { "grid", "KEY=VALUES", "an axis: a model parameter or a train setting, and its values, V1,V2,...\n"
                            "                           or A..B (integers A to B, both included), or both: 1,4..6" },
    { "output", "DIR", "the sweep's directory (-o; default: sweep-MODELFILE); made if missing" },
    { "jobs", "N", "cells run at a time (-j; default: one per core)" },
    { "threads", "T", "threads of each trainer (default: cores / jobs, at least 1)" },
    { "define", "NAME=VALUE", "a model parameter for every cell (-D; repeatable)" },
    { "test-ckpt", "final|best", "the checkpoint whose test accuracy is reported (default: final, the\n"
                                 "                           one the run ends with; best: CKPT.best, if the run has one)" },
    { "sort", "METRIC", "sort the table by a column: test_acc (default), best_valid_acc,\n"
                        "                           final_valid_acc, valid_mixup_acc, params, epochs, seconds or an axis" },
    { "report", "DIR", "print the results table of the sweep in DIR (and write DIR/results.csv)" },
    { "help", NULL, "show this help" },
};
#define NSWEEP_OPTIONS ((int)(sizeof sweep_options / sizeof sweep_options[0]))
/* The trainer's train options that are not settings. */
static const char *const trainer_options[] = { "init-from", "save-every", "quiet", "out", "resume" };

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void help(void)
{
    printf("usage: netc sweep FILE.net --grid KEY=VALUES [--grid ...] [-o DIR] [--jobs N] [TRAIN OPTIONS...]\n"
           "       netc sweep --report DIR [--sort METRIC]\n\n"
           "Train every cell of a grid of a model's parameters and train settings, N at a time,\n"
           "each in DIR/cell-NAME/ (checkpoint, CSV log, command lines, output), and print a table\n"
           "of the results (also DIR/results.csv).  Run again after a kill or Ctrl-C: finished cells\n"
           "are skipped, interrupted ones resumed.  TRAIN OPTIONS are the trainer's train options\n"
           "(--epochs 5, --limit 2000, --eval-mixup 0.2 ...), given to every cell.\n\noptions:\n");
    for (int i = 0; i < NSWEEP_OPTIONS; i++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", sweep_options[i].name, sweep_options[i].arg ? " " : "",
                 sweep_options[i].arg ? sweep_options[i].arg : "");
        printf("  %-24s %s\n", left, sweep_options[i].help);
    }
    printf("\nExit status: 0 every cell done, 1 a cell failed, 2 usage error, 130/143 stopped by\n"
           "SIGINT/SIGTERM (run the same command again to go on).\n");
}

/* ---- small file helpers ---- */

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *text = NULL;
    size_t len = 0, cap = 0;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            text = xrealloc(text, cap);
        }
        memcpy(text + len, buf, n);
        len += n;
    }
    fclose(f);
    if (!text)
        text = xcalloc(1, 1);
    text[len] = 0;
    return text;
}

/* Writes text to path atomically: a temporary file, fsync'd, renamed over it. */
static bool write_atomic(const char *path, const char *text)
{
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    bool ok = f && fputs(text, f) >= 0 && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (f && fclose(f) != 0)
        ok = false;
    if (ok && rename(tmp, path) == 0)
        return true;
    fprintf(stderr, "netc sweep: cannot write %s: %s\n", path, strerror(errno));
    unlink(tmp);
    return false;
}

/* The value of "key=" in key=value lines, into buf; false if absent. */
static bool text_value(const char *text, const char *key, char *buf, size_t len)
{
    size_t klen = strlen(key);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, key, klen) == 0 && line[klen] == '=') {
            const char *v = line + klen + 1;
            size_t n = strcspn(v, "\n");
            snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), v);
            return true;
        }
    }
    return false;
}

static void cell_path(const Sweep *s, const Cell *c, const char *file, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s/%s", s->dir, c->name, file);
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* ---- the command line ---- */

static void unknown_option(const char *name)
{
    const char *cands[NSWEEP_OPTIONS + 5 + SETTING_COUNT];
    char opts[SETTING_COUNT][96];
    int n = 0;
    for (int i = 0; i < NSWEEP_OPTIONS; i++)
        cands[n++] = sweep_options[i].name;
    for (size_t i = 0; i < sizeof trainer_options / sizeof *trainer_options; i++)
        cands[n++] = trainer_options[i];
    for (int i = 0; i < SETTING_COUNT; i++)
        if (setting_specs[i].kind != SETTING_GROUP)
            cands[n++] = rt_config_option_name(&setting_specs[i], opts[i], sizeof opts[i]) + 2;
    const char *near = closest_name(name, cands, n);
    fprintf(stderr, "netc sweep: unknown option '--%s'", name);
    if (near)
        fprintf(stderr, "; did you mean '--%s'?", near);
    fprintf(stderr, "\nTry 'netc sweep --help'.\n");
}

/* The setting a train option names (its key with '-' for '.' and '_'; "no-" before a
 * boolean's negates it), or NULL. */
static const setting_spec *setting_of_option(const char *name, bool *negated)
{
    const setting_spec *e = rt_config_find(name);
    *negated = false;
    if (e || strncmp(name, "no-", 3))
        return e;
    e = rt_config_find(name + 3);
    *negated = e && e->kind == SETTING_BOOL;
    return *negated ? e : NULL;
}

/* How a train option that is not a setting takes its value: 1 it needs one, 0 a flag,
 * -1 not an option of the trainer's train command. */
static int trainer_option_arity(const char *name)
{
    for (size_t i = 0; i < sizeof trainer_options / sizeof *trainer_options; i++)
        if (!strcmp(name, trainer_options[i]))
            return strcmp(name, "quiet") != 0;
    return -1;
}

/* A train option for every cell (e its setting, or NULL for init-from, save-every,
 * quiet): checked as the trainer checks it, kept as --option=value. */
static int add_train_option(Sweep *s, const char *name, const setting_spec *e, bool negated, const char *value)
{
    if (!strcmp(name, "out") || !strcmp(name, "resume")) {
        fprintf(stderr, "netc sweep: --%s: the sweep chooses each cell's checkpoint (DIR/cell-NAME/ckpt)\n", name);
        return 2;
    }
    char opt[96], buf[1200], msg[600];
    snprintf(opt, sizeof opt, "--%s", name);
    if (e) {
        if (e->kind == SETTING_BOOL && !value)
            value = negated ? "false" : "true";
        rt_train_config scratch;
        rt_config_init(&scratch);
        if (rt_config_set(&scratch, e, value, msg, sizeof msg)) {
            fprintf(stderr, "netc sweep: --%s: %s\n", name, msg);
            return 2;
        }
        rt_config_option_name(e, opt, sizeof opt);
    }
    if (s->ntrain == MAX_TRAIN_ARGS) {
        fprintf(stderr, "netc sweep: too many train options (at most %d)\n", MAX_TRAIN_ARGS);
        return 2;
    }
    if (value)
        snprintf(buf, sizeof buf, "%s=%s", opt, value);
    else
        snprintf(buf, sizeof buf, "%s", opt);
    s->train_args[s->ntrain++] = xstrdup(buf);
    return 0;
}

/* A train option at argv[*i] named `name`, its value after '=' or the next argument. */
static int take_train_option(Sweep *s, const char *name, const char *value, int argc, char **argv, int *i)
{
    bool negated;
    const setting_spec *e = setting_of_option(name, &negated);
    int arity = e ? e->kind != SETTING_BOOL : trainer_option_arity(name);
    if (arity < 0) {
        unknown_option(name);
        return 2;
    }
    if (arity == 1 && !value) {
        if (*i + 1 == argc) {
            fprintf(stderr, "netc sweep: --%s needs a value\n", name);
            return 2;
        }
        value = argv[++*i];
    }
    if (arity == 0 && value && !e) {
        fprintf(stderr, "netc sweep: --%s takes no value\n", name);
        return 2;
    }
    return add_train_option(s, name, e, negated, value);
}

static int parse_int(const char *what, const char *text, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (!*text || *end || v < lo || v > hi) {
        fprintf(stderr, "netc sweep: %s must be an integer from %d to %d, got '%s'\n", what, lo, hi, text);
        return 2;
    }
    *out = (int)v;
    return 0;
}

/* One of the sweep's own options, with its value. */
static int take_sweep_option(Sweep *s, const char *name, char *value, const char **report)
{
    if (!strcmp(name, "grid")) {
        if (s->ngrid == MAX_AXES) {
            fprintf(stderr, "netc sweep: at most %d --grid axes\n", MAX_AXES);
            return 2;
        }
        s->grid_args[s->ngrid++] = value;
    } else if (!strcmp(name, "output")) {
        s->dir = value;
    } else if (!strcmp(name, "jobs")) {
        return parse_int("--jobs", value, 1, 1024, &s->jobs);
    } else if (!strcmp(name, "threads")) {
        return parse_int("--threads", value, 1, 1024, &s->threads);
    } else if (!strcmp(name, "define")) {
        return add_define(value, s->fixed, &s->nfixed, MAX_FIXED);
    } else if (!strcmp(name, "test-ckpt")) {
        if (strcmp(value, "final") && strcmp(value, "best")) {
            fprintf(stderr, "netc sweep: --test-ckpt must be final or best, got '%s'\n", value);
            return 2;
        }
        s->test_best = value[0] == 'b';
    } else if (!strcmp(name, "sort")) {
        s->sort = value;
    } else if (!strcmp(name, "report")) {
        *report = value;
    }
    return 0;
}

static const char *short_option(char c)
{
    return c == 'o' ? "output" : c == 'j' ? "jobs" : c == 'D' ? "define" : NULL;
}

/* Parses the command line; returns -1 to go on, else an exit status. */
static int parse_args(Sweep *s, int argc, char **argv, const char **report)
{
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            help();
            return 0;
        }
        if (arg[0] != '-') {
            if (s->file) {
                fprintf(stderr, "netc sweep: expected one FILE.net, got '%s' and '%s'\n", s->file, arg);
                return 2;
            }
            s->file = arg;
            continue;
        }
        char name[64];
        char *value = NULL;
        if (arg[1] != '-') {
            const char *lng = arg[2] ? NULL : short_option(arg[1]);
            if (!lng) {
                fprintf(stderr, "netc sweep: unknown option '%s'\nTry 'netc sweep --help'.\n", arg);
                return 2;
            }
            snprintf(name, sizeof name, "%s", lng);
        } else {
            char *eq = strchr(arg, '=');
            size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
            snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), arg + 2);
            value = eq ? eq + 1 : NULL;
        }
        int k = 0;
        while (k < NSWEEP_OPTIONS && strcmp(sweep_options[k].name, name))
            k++;
        if (k == NSWEEP_OPTIONS) {   /* a train option */
            int rc = take_train_option(s, name, value, argc, argv, &i);
            if (rc)
                return rc;
            continue;
        }
        if (!value && sweep_options[k].arg) {
            if (i + 1 == argc) {
                fprintf(stderr, "netc sweep: --%s needs a value (%s)\n", name, sweep_options[k].arg);
                return 2;
            }
            value = argv[++i];
        }
        int rc = take_sweep_option(s, name, value, report);
        if (rc)
            return rc;
    }
    return -1;
}

/* ---- the grid: axes, models, cells ---- */

/* A value as a cell's name holds it: letters, digits and . _ + - only. */
static bool value_ok(const char *v)
{
    if (!*v || strlen(v) > 64)
        return false;
    for (; *v; v++)
        if (!((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') || (*v >= '0' && *v <= '9') || strchr("._+-", *v)))
            return false;
    return true;
}

static int add_value(Axis *a, const char *v)
{
    if (a->nvalues == MAX_VALUES) {
        fprintf(stderr, "netc sweep: --grid %s: more than %d values\n", a->arg, MAX_VALUES);
        return 2;
    }
    if (!value_ok(v)) {
        fprintf(stderr, "netc sweep: --grid %s: bad value '%s' (a value is letters, digits and . _ + - only)\n", a->arg,
                v);
        return 2;
    }
    for (int i = 0; i < a->nvalues; i++)
        if (!strcmp(a->values[i], v)) {
            fprintf(stderr, "netc sweep: --grid %s: the value %s is given twice\n", a->arg, v);
            return 2;
        }
    a->values = xrealloc(a->values, (size_t)(a->nvalues + 1) * sizeof *a->values);
    a->values[a->nvalues++] = xstrdup(v);
    return 0;
}

/* One item of an axis's list: a value, or A..B, the integers from A to B. */
static int add_item(Axis *a, const char *item)
{
    const char *dots = strstr(item, "..");
    if (!dots)
        return add_value(a, item);
    char *end1, *end2;
    long lo = strtol(item, &end1, 10), hi = strtol(dots + 2, &end2, 10);
    if (end1 != dots || end1 == item || !dots[2] || *end2 || hi < lo || hi - lo >= MAX_VALUES) {
        fprintf(stderr, "netc sweep: --grid %s: bad range '%s' (A..B: integers, A at most B)\n", a->arg, item);
        return 2;
    }
    for (long v = lo; v <= hi; v++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%ld", v);
        int rc = add_value(a, buf);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_axis(Axis *a, const char *arg)
{
    a->arg = arg;
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) {
        fprintf(stderr, "netc sweep: --grid expects KEY=V1,V2,... or KEY=A..B, got '%s'\n", arg);
        return 2;
    }
    a->name = xstrndup(arg, (size_t)(eq - arg));
    char *list = xstrdup(eq + 1), *save = NULL;
    int rc = 0;
    for (char *item = strtok_r(list, ",", &save); item && !rc; item = strtok_r(NULL, ",", &save))
        rc = add_item(a, item);
    free(list);
    if (!rc && a->nvalues == 0) {
        fprintf(stderr, "netc sweep: --grid %s: no values\n", arg);
        rc = 2;
    }
    return rc;
}

static bool is_model_parameter(const Sweep *s, const char *name)
{
    for (const Node *p = s->prog.model->list; p; p = p->next)
        if (p->kind == N_PARAM && !strcmp(p->name, name))
            return true;
    return false;
}

static void unknown_axis(const Sweep *s, const Axis *a)
{
    const char *cands[256 + SETTING_COUNT];
    int n = 0;
    for (const Node *p = s->prog.model->list; p && n < 256; p = p->next)
        if (p->kind == N_PARAM)
            cands[n++] = p->name;
    for (int i = 0; i < SETTING_COUNT; i++)
        if (setting_specs[i].kind != SETTING_GROUP)
            cands[n++] = setting_specs[i].key;
    char msg[512];
    snprintf(msg, sizeof msg, "netc sweep: --grid %s: '%s' is neither a parameter of model %s nor a train setting",
             a->arg, a->name, s->prog.model->name);
    did_you_mean(msg, sizeof msg, a->name, cands, n);
    fprintf(stderr, "%s\n", msg);
}

/* Whether train option text ("--mixup=0.2") sets option opt ("--mixup"). */
static bool sets_option(const char *text, const char *opt)
{
    size_t n = strlen(opt);
    return !strncmp(text, opt, n) && (text[n] == '=' || !text[n]);
}

/* A model parameter (by the model's parameter list) or a train setting, by name; a
 * setting's values are checked as the trainer checks them. */
static int classify_axis(const Sweep *s, Axis *a)
{
    if (is_model_parameter(s, a->name)) {
        a->kind = AXIS_PARAMETER;
        for (int i = 0; i < s->nfixed; i++)
            if (!strcmp(s->fixed[i].name, a->name)) {
                fprintf(stderr, "netc sweep: --grid %s: %s is also given by -D\n", a->arg, a->name);
                return 2;
            }
        return 0;
    }
    const setting_spec *e = rt_config_find(a->name);
    if (!e) {
        unknown_axis(s, a);
        return 2;
    }
    a->kind = AXIS_SETTING;
    rt_config_option_name(e, a->option, sizeof a->option);
    for (int i = 0; i < s->ntrain; i++)
        if (sets_option(s->train_args[i], a->option)) {
            fprintf(stderr, "netc sweep: --grid %s: %s is also given as the train option %s\n", a->arg, a->name,
                    s->train_args[i]);
            return 2;
        }
    for (int i = 0; i < a->nvalues; i++) {
        rt_train_config scratch;
        rt_config_init(&scratch);
        char msg[600];
        if (rt_config_set(&scratch, e, a->values[i], msg, sizeof msg)) {
            fprintf(stderr, "netc sweep: --grid %s: %s\n", a->arg, msg);
            return 2;
        }
    }
    return 0;
}

static int make_axes(Sweep *s)
{
    for (int i = 0; i < s->ngrid; i++) {
        Axis *a = &s->axis[s->naxes++];
        int rc = parse_axis(a, s->grid_args[i]);
        if (!rc)
            rc = classify_axis(s, a);
        for (int j = 0; !rc && j < i; j++)
            if (!strcmp(s->axis[j].name, a->name) ||
                (a->kind == AXIS_SETTING && !strcmp(s->axis[j].option, a->option))) {
                fprintf(stderr, "netc sweep: --grid %s: the axis %s is given twice\n", a->arg, a->name);
                rc = 2;
            }
        if (rc)
            return rc;
    }
    return 0;
}

/* "k=v,k=v" of a cell's values on the axes of one kind (or all, kind < 0). */
static void join_values(const Sweep *s, const Cell *c, int kind, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < s->naxes && used < len; i++)
        if (kind < 0 || (int)s->axis[i].kind == kind)
            used += (size_t)snprintf(buf + used, len - used, "%s%s=%s", used ? "," : "", s->axis[i].name,
                                     s->axis[i].values[c->value[i]]);
}

static int find_trainer(Sweep *s, const char *key)
{
    for (int i = 0; i < s->ntrainers; i++)
        if (!strcmp(s->trainer[i].key, key))
            return i;
    s->trainer = xrealloc(s->trainer, (size_t)(s->ntrainers + 1) * sizeof *s->trainer);
    Trainer *t = &s->trainer[s->ntrainers];
    memset(t, 0, sizeof *t);
    snprintf(t->key, sizeof t->key, "%s", key);
    snprintf(t->path, sizeof t->path, "%s/bin/trainer%s%s", s->dir, key[0] ? "-" : "", key);
    return s->ntrainers++;
}

static int make_cells(Sweep *s)
{
    long long n = 1;
    for (int i = 0; i < s->naxes; i++)
        n *= s->axis[i].nvalues;
    if (n > MAX_CELLS) {
        fprintf(stderr, "netc sweep: the grid has %lld cells, more than %d\n", n, MAX_CELLS);
        return 2;
    }
    s->ncells = (int)n;
    s->cell = xcalloc((size_t)n, sizeof *s->cell);
    for (int k = 0; k < s->ncells; k++) {
        Cell *c = &s->cell[k];
        c->value = xcalloc((size_t)s->naxes, sizeof *c->value);
        for (int i = s->naxes - 1, rest = k; i >= 0; i--) {   /* the last axis varies fastest */
            c->value[i] = rest % s->axis[i].nvalues;
            rest /= s->axis[i].nvalues;
        }
        char all[NAME_MAX_LEN], key[NAME_MAX_LEN];
        join_values(s, c, -1, all, sizeof all);
        join_values(s, c, AXIS_PARAMETER, key, sizeof key);
        if (strlen(all) >= CELL_NAME_MAX) {
            fprintf(stderr, "netc sweep: the cell name '%s' is too long (at most %d bytes)\n", all, CELL_NAME_MAX - 1);
            return 2;
        }
        snprintf(c->name, sizeof c->name, "cell-%s", all);
        c->trainer = find_trainer(s, key);
        c->mine = k % s->ranks == s->rank;
    }
    return 0;
}

/* The -D overrides of trainer t: the fixed ones, then its parameter axes' values. */
static int trainer_defines(const Sweep *s, const Trainer *t, Define *defs)
{
    int n = 0;
    for (int i = 0; i < s->nfixed; i++)
        defs[n++] = s->fixed[i];
    const Cell *c = NULL;
    for (int k = 0; k < s->ncells && !c; k++)
        if (&s->trainer[s->cell[k].trainer] == t)
            c = &s->cell[k];
    for (int i = 0; c && i < s->naxes; i++)
        if (s->axis[i].kind == AXIS_PARAMETER)
            defs[n++] = (Define){ s->axis[i].name, s->axis[i].values[c->value[i]] };
    return n;
}

/* Elaborates every model of the grid: a parameter value the model refuses is reported
 * (by the diagnostics, then naming the cell's values) before anything runs. */
static int check_models(Sweep *s)
{
    int rc = 0;
    for (int i = 0; i < s->ntrainers; i++) {
        Trainer *t = &s->trainer[i];
        Define defs[MAX_FIXED + MAX_AXES];
        int n = trainer_defines(s, t, defs);
        Graph g = { 0 };
        diag_reset();
        int erc = elaborate(&s->prog, defs, n, &g);
        t->params = graph_params(&g, true);
        graph_free(&g);
        if (erc) {
            fprintf(stderr, "netc sweep: --grid: model %s with %s does not compile (above)\n", s->prog.model->name,
                    t->key[0] ? t->key : "its parameters");
            rc = erc;
        }
    }
    return rc;
}

/* ---- the directory: its record, the cells' files, the trainers ---- */

/* DIR/sweep: the command's spec, then the axes and cells its report needs. */
static char *record_text(const Sweep *s)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fprintf(f, "# netc sweep: this directory's grid; a rerun must have the same spec; netc sweep --report reads it\n");
    fprintf(f, "file=%s\n", s->file);
    for (int i = 0; i < s->nfixed; i++)
        fprintf(f, "define=%s=%s\n", s->fixed[i].name, s->fixed[i].value);
    for (int i = 0; i < s->naxes; i++)
        fprintf(f, "grid=%s\n", s->axis[i].arg);
    for (int i = 0; i < s->ntrain; i++)
        fprintf(f, "train=%s\n", s->train_args[i]);
    fprintf(f, "test_ckpt=%s\n", s->test_best ? "best" : "final");
    for (int i = 0; i < s->naxes; i++)
        fprintf(f, "axis=%s\n", s->axis[i].name);
    for (int k = 0; k < s->ncells; k++)
        fprintf(f, "cell=%s\n", s->cell[k].name);
    fclose(f);
    return text;
}

/* Takes DIR/.lock (one per MPI rank) for the whole run: one sweep at a time in DIR.
 * The descriptor stays open until the process exits. */
static int lock_dir(const Sweep *s)
{
    char path[PATH_MAX];
    if (s->ranks > 1)
        snprintf(path, sizeof path, "%s/.lock-%d", s->dir, s->rank);
    else
        snprintf(path, sizeof path, "%s/.lock", s->dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    fprintf(stderr, "netc sweep: %s: %s\n", path,
            fd < 0 ? strerror(errno) : "another netc sweep is running in this directory");
    return 2;
}

static int open_dir(Sweep *s)
{
    char path[PATH_MAX];
    if (!make_dirs(s->dir) || lock_dir(s))
        return 2;
    snprintf(path, sizeof path, "%s/sweep", s->dir);
    char *want = record_text(s), *have = read_text(path);
    int rc = 0;
    if (have && strcmp(have, want)) {
        fprintf(stderr, "netc sweep: %s holds another sweep (see %s): run the same grid and options again to go on, "
                        "or give another -o DIR\n", s->dir, path);
        rc = 2;
    } else if (!have && !write_atomic(path, want)) {
        rc = 2;
    }
    free(want);
    free(have);
    return rc;
}

/* DIR/cell-NAME/ and its `cell` file: grid values, parameters, trainer. */
static int open_cell(const Sweep *s, const Cell *c)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", s->dir, c->name);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "netc sweep: cannot create %s: %s\n", path, strerror(errno));
        return 2;
    }
    cell_path(s, c, "cell", path, sizeof path);
    if (exists(path))
        return 0;
    char text[4096];
    size_t used = 0;
    for (int i = 0; i < s->naxes; i++)
        used += (size_t)snprintf(text + used, sizeof text - used, "%s=%s\n", s->axis[i].name,
                                 s->axis[i].values[c->value[i]]);
    snprintf(text + used, sizeof text - used, "params=%lld\ntrainer=%s\n", s->trainer[c->trainer].params,
             s->trainer[c->trainer].path);
    return write_atomic(path, text) ? 0 : 2;
}

static bool cell_done(const Sweep *s, const Cell *c)
{
    char path[PATH_MAX];
    cell_path(s, c, "done", path, sizeof path);
    return exists(path);
}

/* Builds each model that a cell still to run needs, once, with netc build's code: into a
 * temporary name, then renamed, so a kill or another rank never leaves half a program. */
static int build_trainers(Sweep *s)
{
    for (int k = 0; k < s->ncells; k++) {
        Cell *c = &s->cell[k];
        if (!c->mine)
            continue;
        int rc = open_cell(s, c);
        if (rc)
            return rc;
        if (!cell_done(s, c)) {
            s->trainer[c->trainer].needed = true;
            s->to_run++;
        }
    }
    for (int i = 0; i < s->ntrainers; i++) {
        Trainer *t = &s->trainer[i];
        if (!t->needed)
            continue;
        char tmp[PATH_MAX + 32];
        snprintf(tmp, sizeof tmp, "%s.tmp%d", t->path, (int)getpid());
        Define defs[MAX_FIXED + MAX_AXES];
        int n = trainer_defines(s, t, defs);
        diag_reset();
        int rc = build_trainer(s->file, defs, n, tmp);
        if (rc == 0 && rename(tmp, t->path) != 0) {
            fprintf(stderr, "netc sweep: cannot rename %s: %s\n", tmp, strerror(errno));
            rc = 2;
        }
        if (rc) {
            unlink(tmp);
            return rc;
        }
        char params[32];
        printf("built %s (model %s, %s parameters)\n", t->path, s->prog.model->name, commas(t->params, params));
    }
    return 0;
}

/* ---- running cells ---- */

static void shell_quote(FILE *f, const char *arg)
{
    if (arg[strcspn(arg, " \t\n'\"\\$`*?[]{}()<>|&;#~!")] == 0 && arg[0]) {
        fputs(arg, f);
        return;
    }
    fputc('\'', f);
    for (; *arg; arg++)
        if (*arg == '\'')
            fputs("'\\''", f);
        else
            fputc(*arg, f);
    fputc('\'', f);
}

/* Appends argv as one shell line to the cell's `cmd` file. */
static void record_command(const Sweep *s, const Cell *c, char *const argv[])
{
    char path[PATH_MAX];
    cell_path(s, c, "cmd", path, sizeof path);
    FILE *f = fopen(path, "a");
    if (!f)
        return;
    char t[16];
    snprintf(t, sizeof t, "%d", s->threads);
    fprintf(f, "NETC_NUM_THREADS=%s OPENBLAS_NUM_THREADS=%s", t, t);
    for (int i = 0; argv[i]; i++) {
        fputc(' ', f);
        shell_quote(f, argv[i]);
    }
    fputc('\n', f);
    fclose(f);
}

/* Under mpirun, a cell's trainer must not take itself for a rank of the sweep's job:
 * the variables by which Open MPI and PMIx tell a process its job are removed, so a
 * trainer built with MPI support starts as a single process. */
static void leave_mpi_job(void)
{
    for (;;) {
        char name[256] = "";
        for (char **e = environ; *e && !name[0]; e++)
            if (!strncmp(*e, "OMPI_", 5) || !strncmp(*e, "PMIX_", 5))
                snprintf(name, sizeof name, "%.*s", (int)strcspn(*e, "="), *e);
        if (!name[0] || unsetenv(name) != 0)
            return;
    }
}

/* Runs argv with its output into the cell's file `out` (appended, or written afresh), in
 * a process group of its own, with the sweep's signal mask undone and SIGTERM should the
 * sweep die; returns the pid, or -1. */
static pid_t spawn(const Sweep *s, const Cell *c, char *const argv[], const char *out, bool append)
{
    char path[PATH_MAX], t[16];
    cell_path(s, c, out, path, sizeof path);
    snprintf(t, sizeof t, "%d", s->threads);
    record_command(s, c, argv);
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(143);
        signal(SIGINT, SIG_DFL);   /* the sweep forwards these on purpose, even if it ignores them itself */
        signal(SIGTERM, SIG_DFL);
        sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
        int fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
        int in = open("/dev/null", O_RDONLY);
        if (fd < 0 || in < 0 || dup2(in, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(127);
        setenv("NETC_NUM_THREADS", t, 1);
        setenv("OPENBLAS_NUM_THREADS", t, 1);
        leave_mpi_job();
        execv(argv[0], argv);
        fprintf(stderr, "netc sweep: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (pid < 0)
        fprintf(stderr, "netc sweep: cannot fork: %s\n", strerror(errno));
    return pid;
}

/* A trainer left running by a sweep that was killed gets SIGTERM and saves its
 * checkpoint; wait until it has let go of CKPT.lock before resuming the cell. */
static void wait_for_trainer(const char *lock)
{
    int fd = open(lock, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        printf("waiting for the trainer still writing %s to stop\n", lock);
        fflush(stdout);
        flock(fd, LOCK_EX);
    }
    close(fd);
}

static const char *clock_text(double seconds, char buf[32])
{
    long t = seconds > 0 ? (long)(seconds + 0.5) : 0;
    snprintf(buf, 32, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    return buf;
}

static int cells_done(const Sweep *s)
{
    int n = 0;
    for (int k = 0; k < s->ncells; k++)
        n += s->cell[k].mine && cell_done(s, &s->cell[k]);
    return n;
}

static int mine_count(const Sweep *s)
{
    int n = 0;
    for (int k = 0; k < s->ncells; k++)
        n += s->cell[k].mine;
    return n;
}

/* One progress line: [done/all] what cell, then the ETA from this run's finished cells. */
static void progress(const Sweep *s, const char *what, const Cell *c, const char *detail)
{
    if (s->ranks > 1)
        printf("rank %d: ", s->rank);
    printf("[%d/%d] %-7s %s%s", cells_done(s), mine_count(s), what, c->name, detail);
    int left = s->to_run - s->finished - s->failed;
    if (s->finished > 0 && left > 0) {
        char eta[32];
        int jobs = s->jobs < left ? s->jobs : left;
        printf("; %d left, ETA %s", left, clock_text(s->cell_seconds / s->finished * left / jobs, eta));
    }
    printf("\n");
    fflush(stdout);
}

static int start_train(Sweep *s, Cell *c)
{
    char ckpt[PATH_MAX], lock[PATH_MAX + 8], failed[PATH_MAX];
    cell_path(s, c, "ckpt", ckpt, sizeof ckpt);
    cell_path(s, c, "failed", failed, sizeof failed);
    snprintf(lock, sizeof lock, "%s.lock", ckpt);
    wait_for_trainer(lock);
    unlink(failed);
    bool resume = exists(ckpt);
    char *argv[8 + MAX_TRAIN_ARGS + MAX_AXES];
    char settings[MAX_AXES][200];
    int n = 0;
    argv[n++] = s->trainer[c->trainer].path;
    argv[n++] = "train";
    argv[n++] = "--out";
    argv[n++] = ckpt;
    if (resume) {
        argv[n++] = "--resume";
        argv[n++] = ckpt;
    }
    for (int i = 0; i < s->ntrain; i++)
        argv[n++] = s->train_args[i];
    for (int i = 0; i < s->naxes; i++)
        if (s->axis[i].kind == AXIS_SETTING) {
            snprintf(settings[i], sizeof settings[i], "%s=%s", s->axis[i].option, s->axis[i].values[c->value[i]]);
            argv[n++] = settings[i];
        }
    argv[n] = NULL;
    c->pid = spawn(s, c, argv, "log", true);
    if (c->pid < 0)
        return -1;
    c->state = CELL_TRAINING;
    c->started = now_seconds();
    progress(s, "start", c, resume ? " (resuming its checkpoint)" : "");
    return 0;
}

static int start_eval(Sweep *s, Cell *c)
{
    char ckpt[PATH_MAX];
    cell_path(s, c, s->test_best ? "ckpt.best" : "ckpt", ckpt, sizeof ckpt);
    if (s->test_best && !exists(ckpt))   /* no validation set, so no best */
        cell_path(s, c, "ckpt", ckpt, sizeof ckpt);
    char *argv[] = { s->trainer[c->trainer].path, "eval", "--ckpt", ckpt, NULL };
    c->pid = spawn(s, c, argv, "eval.log", false);
    if (c->pid < 0)
        return -1;
    c->state = CELL_EVALUATING;
    return 0;
}

/* The test accuracy from eval.log into `done`, atomically: the cell is finished. */
static bool record_test(const Sweep *s, const Cell *c, char acc[32])
{
    char path[PATH_MAX];
    cell_path(s, c, "eval.log", path, sizeof path);
    char *text = read_text(path);
    const char *line = text ? strstr(text, "\naccuracy: ") : NULL;   /* eval's line, as docs/trainer.md shows it */
    bool ok = line && sscanf(line + 11, "%31[0-9.]", acc) == 1;
    free(text);
    if (!ok)
        return false;
    char done[256];
    snprintf(done, sizeof done, "test_acc=%s\ntest_ckpt=%s\n", acc, s->test_best ? "best" : "final");
    cell_path(s, c, "done", path, sizeof path);
    return write_atomic(path, done);
}

/* Adds an attempt's wall time to the cell's `seconds` file (before `done` is written). */
static void add_seconds(const Sweep *s, const Cell *c, double secs)
{
    char path[PATH_MAX], text[64];
    cell_path(s, c, "seconds", path, sizeof path);
    char *old = read_text(path);
    snprintf(text, sizeof text, "%.3f\n", (old ? atof(old) : 0) + secs);
    free(old);
    write_atomic(path, text);
}

static void mark_failed(Sweep *s, Cell *c, const char *why)
{
    char path[PATH_MAX], text[256];
    cell_path(s, c, "failed", path, sizeof path);
    snprintf(text, sizeof text, "%s\n", why);
    write_atomic(path, text);
    s->failed++;
    char detail[PATH_MAX + 300];
    snprintf(detail, sizeof detail, ": %s (see %s/%s/log)", why, s->dir, c->name);
    progress(s, "FAILED", c, detail);
}

/* A child of cell c ended with status st: the next step, or the cell's end. */
static void child_ended(Sweep *s, Cell *c, int st, int stopping)
{
    bool ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    c->pid = 0;
    if (ok && c->state == CELL_TRAINING && !stopping && start_eval(s, c) == 0)
        return;
    CellState was = c->state;
    c->state = CELL_FINISHED;
    double secs = now_seconds() - c->started;
    add_seconds(s, c, secs);
    char why[96], acc[32];
    if (ok && was == CELL_EVALUATING && record_test(s, c, acc)) {
        s->finished++;
        s->cell_seconds += secs;
        snprintf(why, sizeof why, ": test acc %s, %.0f s", acc, secs);
        progress(s, "done", c, why);
    } else if (stopping || code == 130 || code == 143) {
        progress(s, "stopped", c, " (resumable)");
    } else if (ok) {
        mark_failed(s, c, was == CELL_EVALUATING ? "eval printed no accuracy" : "stopped before its eval");
    } else {
        snprintf(why, sizeof why, "%s %s %d", was == CELL_EVALUATING ? "eval" : "train",
                 WIFEXITED(st) ? "exited with" : "was killed by signal", WIFEXITED(st) ? code : WTERMSIG(st));
        mark_failed(s, c, why);
    }
}

static Cell *cell_of_pid(Sweep *s, pid_t pid)
{
    for (int k = 0; k < s->ncells; k++)
        if (s->cell[k].pid == pid)
            return &s->cell[k];
    return NULL;
}

static int running(const Sweep *s)
{
    int n = 0;
    for (int k = 0; k < s->ncells; k++)
        n += s->cell[k].pid > 0;
    return n;
}

/* The scheduler: `jobs` cells at a time, in grid order; SIGCHLD, SIGINT and SIGTERM are
 * taken by sigwaitinfo.  A signal is forwarded to every child and no new cell starts.
 * Returns the signal that stopped the sweep, or 0. */
static int run_cells(Sweep *s)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, &s->old_mask);
    int stop = 0, next = 0;
    for (;;) {
        while (!stop && running(s) < s->jobs && next < s->ncells) {
            Cell *c = &s->cell[next++];
            if (c->mine && !cell_done(s, c) && start_train(s, c) != 0)
                s->failed++;
        }
        if (running(s) == 0)
            break;
        int sig = sigwaitinfo(&set, NULL);
        if (sig == SIGINT || sig == SIGTERM) {
            if (!stop)
                printf("netc sweep: %s: stopping %d running cell%s (each saves a checkpoint); run the same command "
                       "again to go on\n", sig == SIGINT ? "SIGINT" : "SIGTERM", running(s),
                       running(s) == 1 ? "" : "s");
            fflush(stdout);
            stop = sig;
            for (int k = 0; k < s->ncells; k++)
                if (s->cell[k].pid > 0)
                    kill(s->cell[k].pid, sig);
        }
        pid_t pid;
        int st;
        while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
            Cell *c = cell_of_pid(s, pid);
            if (c)
                child_ended(s, c, st, stop);
        }
    }
    sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
    return stop;
}

/* ---- the results table ---- */

typedef struct {
    const char *cell;
    char values[MAX_AXES][72];
    double m[M_COUNT];
    bool has[M_COUNT];
    const char *status;
    int order;                   /* grid order: the tie-break */
} Row;

/* Field k (0-based) of a CSV line into buf ("" past the end). */
static void csv_field(const char *line, int k, char *buf, size_t len)
{
    for (; k > 0 && *line && *line != '\n'; line++)
        if (*line == ',')
            k--;
    size_t n = k > 0 ? 0 : strcspn(line, ",\n");
    snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), line);
}

static int csv_column(const char *header, const char *name)
{
    char buf[64];
    for (int k = 0; k < 64; k++) {
        csv_field(header, k, buf, sizeof buf);
        if (!buf[0])
            return -1;
        if (!strcmp(buf, name))
            return k;
    }
    return -1;
}

/* Epochs, best and final valid accuracy and the last mixed-validation accuracy, from
 * the trainer's CSV log (docs/trainer.md: one row an epoch). */
static void csv_metrics(const char *path, Row *r)
{
    char *text = read_text(path);
    if (!text)
        return;
    int epoch = csv_column(text, "epoch"), valid = csv_column(text, "valid_acc"),
        mixed = csv_column(text, "valid_mixup_acc");
    char buf[64];
    for (const char *line = strchr(text, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        const char *row = line + 1;
        csv_field(row, epoch, buf, sizeof buf);
        if (epoch < 0 || !buf[0])
            continue;
        r->m[M_EPOCHS] = atof(buf);
        r->has[M_EPOCHS] = true;
        csv_field(row, valid, buf, sizeof buf);
        if (valid >= 0 && buf[0]) {
            double v = atof(buf);
            r->m[M_BEST] = r->has[M_BEST] && r->m[M_BEST] > v ? r->m[M_BEST] : v;
            r->m[M_FINAL] = v;
            r->has[M_BEST] = r->has[M_FINAL] = true;
        }
        csv_field(row, mixed, buf, sizeof buf);
        if (mixed >= 0 && buf[0]) {
            r->m[M_MIXED] = atof(buf);
            r->has[M_MIXED] = true;
        }
    }
    free(text);
}

/* Whether a trainer holds the lock `lock` (CKPT.lock): it is training now. */
static bool trainer_running(const char *lock)
{
    int fd = open(lock, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

/* The row of one cell, from its files alone. */
static void read_row(const char *dir, const char *cell, char *const *axes, int naxes, Row *r)
{
    char path[PATH_MAX], buf[64];
    r->cell = cell;
    snprintf(path, sizeof path, "%s/%s/cell", dir, cell);
    char *text = read_text(path);
    for (int i = 0; i < naxes; i++)
        if (!text || !text_value(text, axes[i], r->values[i], sizeof r->values[i]))
            snprintf(r->values[i], sizeof r->values[i], "?");
    if (text && text_value(text, "params", buf, sizeof buf)) {
        r->m[M_PARAMS] = atof(buf);
        r->has[M_PARAMS] = true;
    }
    free(text);
    snprintf(path, sizeof path, "%s/%s/ckpt.csv", dir, cell);
    csv_metrics(path, r);
    snprintf(path, sizeof path, "%s/%s/done", dir, cell);
    text = read_text(path);
    if (text && text_value(text, "test_acc", buf, sizeof buf)) {
        r->m[M_TEST] = atof(buf);
        r->has[M_TEST] = true;
        r->status = "done";
    }
    free(text);
    snprintf(path, sizeof path, "%s/%s/seconds", dir, cell);
    text = read_text(path);
    if (text) {
        r->m[M_SECONDS] = atof(text);
        r->has[M_SECONDS] = true;
    }
    free(text);
    snprintf(path, sizeof path, "%s/%s/failed", dir, cell);
    bool failed = exists(path);
    snprintf(path, sizeof path, "%s/%s/ckpt.lock", dir, cell);
    if (!r->status)
        r->status = trainer_running(path) ? "running" : failed ? "failed" : r->has[M_EPOCHS] ? "interrupted" : "pending";
}

typedef struct {
    int metric;                  /* M_*, or -1: axis `axis` */
    int axis;
} SortKey;

static int compare_rows(const void *pa, const void *pb, void *ctx)
{
    const Row *a = pa, *b = pb;
    const SortKey *k = ctx;
    int d = 0;
    if (k->metric >= 0) {
        int m = k->metric;
        if (a->has[m] != b->has[m])
            d = a->has[m] ? -1 : 1;   /* missing values last */
        else if (a->has[m] && a->m[m] != b->m[m])
            d = (a->m[m] < b->m[m]) == metrics[m].higher_first ? 1 : -1;
    } else {
        const char *x = a->values[k->axis], *y = b->values[k->axis];
        char *ex, *ey;
        double vx = strtod(x, &ex), vy = strtod(y, &ey);
        d = *ex || *ey ? strcmp(x, y) : (vx > vy) - (vx < vy);
    }
    return d ? d : a->order - b->order;
}

static int sort_key(const char *name, char *const *axes, int naxes, SortKey *k)
{
    for (int m = 0; m < M_COUNT; m++)
        if (!strcmp(name, metrics[m].name)) {
            *k = (SortKey){ m, -1 };
            return 0;
        }
    for (int i = 0; i < naxes; i++)
        if (!strcmp(name, axes[i])) {
            *k = (SortKey){ -1, i };
            return 0;
        }
    const char *cands[M_COUNT + MAX_AXES];
    int n = 0;
    for (int m = 0; m < M_COUNT; m++)
        cands[n++] = metrics[m].name;
    for (int i = 0; i < naxes; i++)
        cands[n++] = axes[i];
    char msg[256];
    snprintf(msg, sizeof msg, "netc sweep: --sort %s: not a column of the results", name);
    did_you_mean(msg, sizeof msg, name, cands, n);
    fprintf(stderr, "%s (test_acc, best_valid_acc, final_valid_acc, valid_mixup_acc, params, epochs, seconds, or an "
                    "axis)\n", msg);
    return 2;
}

/* The text of column j of row r: an axis value, a metric, then the status. */
static void cell_text(const Row *r, int naxes, int j, char *buf, size_t len)
{
    if (j < naxes)
        snprintf(buf, len, "%s", r->values[j]);
    else if (j < naxes + M_COUNT && r->has[j - naxes])
        snprintf(buf, len, metrics[j - naxes].fmt, r->m[j - naxes]);
    else
        snprintf(buf, len, "%s", j < naxes + M_COUNT ? "" : r->status);
}

static const char *column_name(char *const *axes, int naxes, int j)
{
    return j < naxes ? axes[j] : j < naxes + M_COUNT ? metrics[j - naxes].name : "status";
}

/* The table, aligned, on out ("-" for a missing value), and as CSV into csv. */
static void print_table(FILE *out, FILE *csv, const Row *rows, int n, char *const *axes, int naxes)
{
    int ncol = naxes + M_COUNT + 1, width[MAX_AXES + M_COUNT + 1];
    char buf[96];
    fprintf(csv, "cell");
    for (int j = 0; j < ncol; j++) {
        width[j] = (int)strlen(column_name(axes, naxes, j));
        for (int i = 0; i < n; i++) {
            cell_text(&rows[i], naxes, j, buf, sizeof buf);
            width[j] = (int)strlen(buf) > width[j] ? (int)strlen(buf) : width[j];
        }
        fprintf(out, "%s%*s", j ? "  " : "", j == ncol - 1 ? 0 : width[j], column_name(axes, naxes, j));
        fprintf(csv, ",%s", column_name(axes, naxes, j));
    }
    fprintf(out, "\n");
    fprintf(csv, "\n");
    for (int i = 0; i < n; i++) {
        fprintf(csv, "\"%s\"", rows[i].cell);   /* a cell's name has commas */
        for (int j = 0; j < ncol; j++) {
            cell_text(&rows[i], naxes, j, buf, sizeof buf);
            fprintf(csv, ",%s", buf);
            fprintf(out, "%s%*s", j ? "  " : "", j == ncol - 1 ? 0 : width[j], buf[0] ? buf : "-");
        }
        fprintf(out, "\n");
        fprintf(csv, "\n");
    }
}

/* The results of the sweep in dir, from DIR/sweep and the cells' files: printed sorted
 * by `sort`, written as DIR/results.csv.  Returns 0, or 2 for an unreadable sweep. */
static int report(const char *dir, const char *sort)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/sweep", dir);
    char *text = read_text(path);
    if (!text) {
        fprintf(stderr, "netc sweep: --report %s: no %s: %s\n", dir, path, strerror(errno));
        return 2;
    }
    char *axes[MAX_AXES], *cells_text = xstrdup(text), *save = NULL;
    int naxes = 0, n = 0;
    Row *rows = NULL;
    for (char *line = strtok_r(cells_text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "axis=", 5) && naxes < MAX_AXES)
            axes[naxes++] = line + 5;
        else if (!strncmp(line, "cell=", 5)) {
            rows = xrealloc(rows, (size_t)(n + 1) * sizeof *rows);
            memset(&rows[n], 0, sizeof rows[n]);
            rows[n].order = n;
            read_row(dir, line + 5, axes, naxes, &rows[n]);
            n++;
        }
    }
    SortKey key;
    int rc = sort_key(sort, axes, naxes, &key);
    if (rc == 0) {
        qsort_r(rows, (size_t)n, sizeof *rows, compare_rows, &key);
        char *csv_text = NULL;
        size_t len = 0;
        FILE *csv = open_memstream(&csv_text, &len);
        print_table(stdout, csv, rows, n, axes, naxes);
        fclose(csv);
        snprintf(path, sizeof path, "%s/results.csv", dir);
        rc = write_atomic(path, csv_text) ? 0 : 2;
        if (rc == 0)
            printf("results of %d cells, sorted by %s: %s\n", n, sort, path);
        free(csv_text);
    }
    free(rows);
    free(cells_text);
    free(text);
    return rc;
}

/* ---- under mpirun: the ranks' ends ---- */

/* Open MPI's (and PMIx's) name of the job, the same on every rank of one mpirun. */
static const char *mpi_job(void)
{
    const char *ns = getenv("PMIX_NAMESPACE");
    return ns ? ns : getenv("OMPI_MCA_ess_base_jobid") ? getenv("OMPI_MCA_ess_base_jobid") : "";
}

static void rank_marker(const Sweep *s, int rank, char *buf, size_t len)
{
    snprintf(buf, len, "%s/.rank-%d", s->dir, rank);
}

/* A rank but 0 says it has finished (its job and exit status in DIR/.rank-R). */
static void rank_finished(const Sweep *s, int status)
{
    char path[PATH_MAX], text[256];
    rank_marker(s, s->rank, path, sizeof path);
    snprintf(text, sizeof text, "job=%s\nstatus=%d\n", mpi_job(), status);
    write_atomic(path, text);
}

/* Rank 0 waits for every other rank of its job to have finished, polling their markers
 * (the directory is shared; no MPI library needed); the worst exit status of them, or
 * 128 + a signal that stopped the wait. */
static int wait_for_ranks(const Sweep *s)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int worst = 0;
    bool said = false;
    for (int r = 1; r < s->ranks; r++) {
        for (;;) {
            char path[PATH_MAX], job[128] = "", status[16] = "";
            rank_marker(s, r, path, sizeof path);
            char *text = read_text(path);
            bool done = text && text_value(text, "job", job, sizeof job) && !strcmp(job, mpi_job()) &&
                        text_value(text, "status", status, sizeof status);
            free(text);
            if (done) {
                worst = atoi(status) > worst ? atoi(status) : worst;
                break;
            }
            if (!said)
                printf("rank 0: waiting for the other ranks to finish their cells\n");
            fflush(stdout);
            said = true;
            struct timespec half = { 0, 500000000 };
            int sig = sigtimedwait(&set, NULL, &half);
            if (sig > 0)
                return 128 + sig;
        }
    }
    return worst;
}

/* ---- the command ---- */

static int cores(void)
{
    cpu_set_t set;
    return sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1;
}

/* Rank and size under mpirun (Open MPI's environment), so that rank r runs cells r,
 * r + R, ...; 0 of 1 otherwise. */
static void mpi_rank(Sweep *s)
{
    const char *r = getenv("OMPI_COMM_WORLD_RANK"), *n = getenv("OMPI_COMM_WORLD_SIZE");
    s->rank = r ? atoi(r) : 0;
    s->ranks = n && atoi(n) > 0 ? atoi(n) : 1;
    if (s->rank < 0 || s->rank >= s->ranks)
        s->rank = 0;
}

static int load_model(Sweep *s)
{
    char err[512];
    s->src = src_read(s->file, err, sizeof err);
    if (!s->src) {
        fprintf(stderr, "netc sweep: %s\n", err);
        return 2;
    }
    int rc = parse_program(s->src, &s->prog);
    if (rc == 0 && !s->prog.model) {
        fprintf(stderr, "netc sweep: %s has no model\n", s->file);
        rc = 1;
    }
    return rc;
}

static void default_dir(Sweep *s, char *buf, size_t len)
{
    const char *base = strrchr(s->file, '/') ? strrchr(s->file, '/') + 1 : s->file;
    size_t n = strlen(base);
    if (n > 4 && !strcmp(base + n - 4, ".net"))
        n -= 4;
    snprintf(buf, len, "sweep-%.*s", (int)n, base);
    s->dir = buf;
}

static int prepare(Sweep *s, char *dir_buf, size_t dir_len)
{
    if (!s->file) {
        fprintf(stderr, "netc sweep: expected FILE.net\nTry 'netc sweep --help'.\n");
        return 2;
    }
    if (s->ngrid == 0) {
        fprintf(stderr, "netc sweep: no --grid KEY=VALUES: nothing to sweep\n");
        return 2;
    }
    if (!s->dir)
        default_dir(s, dir_buf, dir_len);
    int rc = load_model(s);
    if (!rc)
        rc = make_axes(s);
    if (!rc) {
        char *names[MAX_AXES];
        SortKey key;
        for (int i = 0; i < s->naxes; i++)
            names[i] = s->axis[i].name;
        rc = sort_key(s->sort, names, s->naxes, &key);
    }
    if (!rc)
        rc = make_cells(s);
    if (!rc)
        rc = check_models(s);
    if (!rc)
        rc = open_dir(s);
    if (!rc)
        rc = build_trainers(s);
    return rc;
}

int sweep_main(int argc, char **argv)
{
    Sweep s = { .sort = "test_acc" };
    const char *report_dir = NULL;
    int rc = parse_args(&s, argc, argv, &report_dir);
    if (rc >= 0)
        return rc;
    if (report_dir)
        return s.file || s.ngrid ? (fprintf(stderr, "netc sweep: --report DIR takes no model or grid\n"), 2)
                                 : report(report_dir, s.sort);
    mpi_rank(&s);
    int ncores = cores();
    if (!s.jobs)
        s.jobs = ncores;
    if (!s.threads)
        s.threads = ncores / s.jobs > 1 ? ncores / s.jobs : 1;
    char dir[PATH_MAX];
    rc = prepare(&s, dir, sizeof dir);
    if (rc == 0) {
        printf("sweep %s: %d cells of %d model%s, %d to run%s; %d at a time, %d thread%s each\n", s.dir, s.ncells,
               s.ntrainers, s.ntrainers == 1 ? "" : "s", s.to_run,
               s.ranks > 1 ? " on this rank" : "", s.jobs, s.threads, s.threads == 1 ? "" : "s");
        s.t0 = now_seconds();
        int stop = run_cells(&s);
        char took[32];
        printf("%ssweep %s: %d cells done, %d failed in this run, %s\n", s.ranks > 1 ? "this rank's " : "",
               s.dir, s.finished, s.failed, clock_text(now_seconds() - s.t0, took));
        int mine = stop ? 128 + stop : s.failed ? 1 : 0;
        if (s.rank > 0)
            rank_finished(&s, mine);
        /* Stopped by a signal, rank 0 does not wait: mpirun signals every rank, and kills
         * them a few seconds later. */
        int others = s.rank == 0 && s.ranks > 1 && !stop ? wait_for_ranks(&s) : 0;
        if (s.rank == 0)
            rc = report(s.dir, s.sort);
        if (!rc)
            rc = others > mine ? others : mine;
    }
    if (s.src)
        src_free(s.src);
    free_tree(s.prog.model);
    free_tree(s.prog.blocks);
    return rc;
}
