/* cli_plot.c — `PROG plot KIND [OPTIONS] -o FILE`: the pictures of a run, drawn by the
 * plot layer (runtime/plot, PLplot) as PNG or SVG by the output's extension.
 *
 *   curves     loss and accuracy per epoch from the run's CSV log, lr on a right axis
 *   confusion  the confusion matrix of a split as a heatmap with counts
 *   samples    a grid of training images with their labels, optionally augmented
 *   errors     the most confidently wrong predictions, with true and predicted class
 *   weights    a histogram of each weight tensor
 *   filters    the first convolution's kernels as images
 *
 * Each kind is a command of its own (options, --help) parsed by rt_cli_parse; -o is the
 * short name of --output.  Data, checkpoints and evaluation come from the trainer's own
 * functions (train_data.c), so a plot sees exactly what eval and train see. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "rt_trainer.h"
#include "../plot/rt_plot.h"
#include "../../common/suggest.h"

/* The random stream of the samples preview's augmentation (train_loop.c uses 0-4). */
#define STREAM_PREVIEW 5

static int plot_curves(const rt_model *m, const rt_cli_args *a);
static int plot_confusion(const rt_model *m, const rt_cli_args *a);
static int plot_samples(const rt_model *m, const rt_cli_args *a);
static int plot_errors(const rt_model *m, const rt_cli_args *a);
static int plot_weights(const rt_model *m, const rt_cli_args *a);
static int plot_filters(const rt_model *m, const rt_cli_args *a);

#define OUTPUT_OPTION { "output", "FILE", "the figure to write, .png or .svg (required; short: -o FILE)" }
static const cli_option curves_options[] = {
    { "ckpt", "CKPT", "the run's checkpoint: its log CKPT.csv is drawn (for CKPT.best, CKPT's)" },
    { "csv", "FILE", "the CSV log to draw (default CKPT.csv)" },
    OUTPUT_OPTION,
};
static const cli_option confusion_options[] = {
    { "ckpt", "CKPT", "the checkpoint to evaluate (required)" },
    { "data", "DIR", "the data directory (default: the one it was trained on)" },
    { "split", "SPLIT", "test (default), train or valid: the examples to evaluate" },
    OUTPUT_OPTION,
};
static const cli_option samples_options[] = {
    { "augment", NULL, "the same images through the model's augmentation (the augment.* settings)" },
    { "count", "N", "how many images (default 16)" },
    OUTPUT_OPTION,
};
static const cli_option errors_options[] = {
    { "ckpt", "CKPT", "the checkpoint to evaluate (required)" },
    { "data", "DIR", "the data directory (default: the one it was trained on)" },
    { "split", "SPLIT", "test (default), train or valid: the examples to search" },
    { "count", "N", "how many wrong predictions (default 16)" },
    OUTPUT_OPTION,
};
static const cli_option weights_options[] = {
    { "ckpt", "CKPT", "the checkpoint whose weights to draw (required)" },
    { "bins", "N", "bins of each histogram (default 50)" },
    OUTPUT_OPTION,
};
static const cli_option filters_options[] = {
    { "ckpt", "CKPT", "the checkpoint whose first convolution to draw (required)" },
    OUTPUT_OPTION,
};

#define NOPT(a) ((int)(sizeof a / sizeof a[0]))
static const cli_command kinds[] = {
    { "plot curves", "plot curves (--ckpt CKPT | --csv FILE) -o FILE",
      "draw loss and accuracy per epoch (train, valid, test) from a run's CSV log, the learning rate on a right axis",
      curves_options, NOPT(curves_options), NULL, 0, plot_curves,
      "Every column of the log ending in _loss is drawn in the left panel, every one ending in\n"
      "_acc in the right one, and lr (dashed) on the right-hand axis of both." },
    { "plot confusion", "plot confusion --ckpt CKPT [--data DIR] [--split test|train|valid] -o FILE",
      "draw the confusion matrix as a heatmap: rows the true class, columns the predicted, counts in the cells",
      confusion_options, NOPT(confusion_options), NULL, 0, plot_confusion, NULL },
    { "plot samples", "plot samples [--data DIR] [--augment] [--count N] [SETTINGS] -o FILE",
      "draw a grid of training images with their labels, with --augment through the model's augmentation",
      samples_options, NOPT(samples_options), "", 0, plot_samples,
      "The images are the first N of the training set as the model sees them (normalised and\n"
      "padded), drawn black to white.  Train settings given as options override the model's, so\n"
      "--augment --augment-rotate 30 previews a setting before training with it." },
    { "plot errors", "plot errors --ckpt CKPT [--data DIR] [--split test|train|valid] [--count N] -o FILE",
      "draw the most confidently wrong predictions, each with its true and predicted class and probability",
      errors_options, NOPT(errors_options), NULL, 0, plot_errors,
      "Also prints them, most confident first: index, true class, predicted class, probability." },
    { "plot weights", "plot weights --ckpt CKPT [--bins N] -o FILE",
      "draw a histogram of each weight tensor (those of two or more dimensions)", weights_options,
      NOPT(weights_options), NULL, 0, plot_weights, NULL },
    { "plot filters", "plot filters --ckpt CKPT -o FILE", "draw the first convolution's kernels as images",
      filters_options, NOPT(filters_options), NULL, 0, plot_filters,
      "Each kernel is drawn for its first input channel (all three as colour when it has three),\n"
      "from -max|w| (black) through 0 (grey) to +max|w| (white)." },
};
#define NKINDS NOPT(kinds)

static void print_kinds(FILE *out, const char *prog)
{
    fprintf(out, "usage: %s plot KIND [OPTIONS] -o FILE\n\nDraw a figure as PNG or SVG (by FILE's extension).\n\n", prog);
    fprintf(out, "kinds:\n");
    for (int i = 0; i < NKINDS; i++)
        fprintf(out, "  %-10s %s\n", kinds[i].name + 5, kinds[i].summary);
    fprintf(out, "\nRun '%s plot KIND --help' for a kind's options.\n", prog);
}

int rt_cmd_plot(const rt_model *m, int argc, char **argv, const char *prog)
{
    const char *kind = argc > 2 ? argv[2] : "";
    if (!strcmp(kind, "-h") || !strcmp(kind, "--help")) {
        print_kinds(stdout, prog);
        return 0;
    }
    const char *names[NKINDS];
    for (int i = 0; i < NKINDS; i++)
        names[i] = kinds[i].name + 5;
    int k = 0;
    while (k < NKINDS && strcmp(names[k], kind))
        k++;
    if (k == NKINDS) {
        const char *best = kind[0] ? closest_name(kind, names, NKINDS) : NULL;
        if (best)
            fprintf(stderr, "%s plot: unknown kind '%s'; did you mean '%s'?\n", prog, kind, best);
        else if (kind[0])
            fprintf(stderr, "%s plot: unknown kind '%s'\n", prog, kind);
        print_kinds(stderr, prog);
        return 2;
    }
    /* -o FILE is --output FILE; a copy of argv, since the parser compacts it */
    char **args = malloc((size_t)argc * sizeof *args);
    if (!args) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    for (int i = 0; i < argc; i++)
        args[i] = !strcmp(argv[i], "-o") ? "--output" : argv[i];
    rt_cli_args a;
    memset(&a, 0, sizeof a);
    a.prog = prog;
    int rc = rt_cli_parse(m, &kinds[k], argc, args, 3, &a);
    if (rc == 0 && !rt_cli_get(&a, "output")) {
        fprintf(stderr, "%s %s: -o FILE is required (see %s %s --help)\n", prog, kinds[k].name, prog, kinds[k].name);
        rc = 2;
    }
    rc = rc == 1 ? 0 : rc ? rc : kinds[k].run(m, &a);
    free(args);
    return rc;
}

/* ---- shared: options, checkpoints, evaluation sets ---- */

static int need(const rt_cli_args *a, const char *kind, const char *name, const char **value)
{
    *value = rt_cli_get(a, name);
    if (*value)
        return 0;
    fprintf(stderr, "%s plot %s: --%s is required (see %s plot %s --help)\n", a->prog, kind, name, a->prog, kind);
    return -1;
}

/* A whole number in [lo, hi] from option `name` of plot KIND (dflt if absent), or -1 after
 * reporting. */
static int count_option(const rt_cli_args *a, const char *kind, const char *name, int lo, int hi, int dflt)
{
    char cmd[64];
    long long n = dflt;
    snprintf(cmd, sizeof cmd, "plot %s", kind);
    return rt_cli_whole(a, cmd, name, lo, hi, &n) ? -1 : (int)n;
}

/* Reports err; returns 1 (the exit status). */
static int failed(const rt_cli_args *a, const char *err)
{
    fprintf(stderr, "%s: %s\n", a->prog, err);
    return 1;
}

static int wrote(const char *path, const char *what)
{
    printf("wrote %s: %s\n", path, what);
    return 0;
}

/* The checkpoint's weights and settings. */
typedef struct {
    rt_net net;
    rt_ckpt_info info;
    int net_ok, info_ok;
} loaded;

static int load_checkpoint(loaded *l, const rt_model *m, const char *path, char *err, size_t errlen)
{
    memset(l, 0, sizeof *l);
    if (rt_net_alloc(&l->net, m))
        return rt_fail(err, errlen, "out of memory for model %s", m->name);
    l->net_ok = 1;
    if (rt_trainer_load_weights(path, m, &l->net, &l->info, err, errlen))
        return -1;
    l->info_ok = 1;
    return 0;
}

static void loaded_free(loaded *l)
{
    if (l->info_ok)
        rt_ckpt_info_free(&l->info);
    if (l->net_ok)
        rt_net_free(&l->net);
}

/* The examples of one split, as `eval` chooses them from a checkpoint's settings. */
typedef struct {
    loaded ck;
    rt_data data;
    rt_split sp;
    rt_batch_xform xf;
    const rt_dataset *ds;
    const uint32_t *idx;       /* NULL: all of ds */
    size_t n;
    const char *split;
} eval_set;

static void eval_set_close(eval_set *s)
{
    rt_split_free(&s->sp);
    rt_data_free(&s->data);
    loaded_free(&s->ck);
}

/* Loads --ckpt, its data (or --data) and the examples of --split.  Returns the exit
 * status of a failure (reported, everything freed), or 0. */
static int eval_set_open(eval_set *s, const rt_model *m, const rt_cli_args *a, const char *kind)
{
    memset(s, 0, sizeof *s);
    const char *path, *dir = rt_cli_get(a, "data");
    s->split = rt_cli_get(a, "split") ? rt_cli_get(a, "split") : "test";
    if (need(a, kind, "ckpt", &path))
        return 2;
    int test = !strcmp(s->split, "test"), train = !strcmp(s->split, "train"), valid = !strcmp(s->split, "valid");
    if (!test && !train && !valid) {
        fprintf(stderr, "%s plot %s: --split must be test, train or valid, got '%s'\n", a->prog, kind, s->split);
        return 2;
    }
    char err[2048];
    rt_train_config *c = &s->ck.info.cfg;
    int rc = load_checkpoint(&s->ck, m, path, err, sizeof err);
    if (rc == 0) {
        c->test_limit = 0;   /* the whole test set, as eval */
        rc = (dir && rt_config_set(c, rt_config_find("data"), dir, err, sizeof err)) ||
             rt_trainer_load_data(&s->data, c, m, err, sizeof err) ||
             rt_trainer_split(&s->sp, &s->data.train, c, err, sizeof err) ||
             rt_trainer_xform(&s->xf, &s->data.train, c, m, err, sizeof err);
    }
    if (rc == 0) {
        s->ds = test ? &s->data.test : &s->data.train;
        s->idx = train ? s->sp.train : valid ? s->sp.valid : NULL;
        s->n = train ? s->sp.ntrain : valid ? s->sp.nvalid : s->data.test.n;
        if (s->n == 0)
            rc = -rt_fail(err, sizeof err, "%s: the %s split is empty (valid_split %g)", path, s->split, c->valid_split);
    }
    if (rc) {
        eval_set_close(s);
        return failed(a, err);
    }
    return 0;
}

/* Example i of ds as floats 0..1, [C][H][W], into img. */
static void example_pixels(const rt_dataset *ds, size_t i, float *img)
{
    size_t size = (size_t)ds->C * ds->H * ds->W;
    for (size_t k = 0; k < size; k++)
        img[k] = ds->pixels[i * size + k] / 255.0f;
}

/* ---- curves ---- */

enum { CSV_MAX_COLS = 32 };

typedef struct {
    char names[CSV_MAX_COLS][64];
    int ncols;
    double *v;                 /* [nrows][ncols], NaN for an empty field */
    int nrows;
} csv_table;

/* Splits line at commas into fields (the line is modified); returns how many. */
static int split_fields(char *line, char **fields, int cap)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = 0;
    for (char *p = line; n < cap;) {
        fields[n++] = p;
        char *comma = strchr(p, ',');
        if (!comma)
            break;
        *comma = 0;
        p = comma + 1;
    }
    return n;
}

static int csv_read(csv_table *t, const char *path, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "r");
    if (!f)
        return rt_fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    char line[4096];
    char *fields[CSV_MAX_COLS];
    int rc = 0, cap = 0;
    if (!fgets(line, sizeof line, f)) {
        rc = rt_fail(err, errlen, "%s: empty: no header line", path);
    } else {
        t->ncols = split_fields(line, fields, CSV_MAX_COLS);
        for (int c = 0; c < t->ncols; c++)
            snprintf(t->names[c], sizeof t->names[c], "%s", fields[c]);
    }
    while (rc == 0 && fgets(line, sizeof line, f)) {
        int n = split_fields(line, fields, CSV_MAX_COLS);
        if (n == 1 && !fields[0][0])
            continue;
        if (t->nrows == cap) {
            cap = cap ? 2 * cap : 64;
            double *v = realloc(t->v, (size_t)cap * t->ncols * sizeof *v);
            if (!v) {
                rc = rt_fail(err, errlen, "%s: out of memory", path);
                break;
            }
            t->v = v;
        }
        for (int c = 0; c < t->ncols; c++) {
            char *end = NULL;
            double x = c < n ? strtod(fields[c], &end) : NAN;
            t->v[(size_t)t->nrows * t->ncols + c] = c < n && end != fields[c] && *end == 0 ? x : NAN;
        }
        t->nrows++;
    }
    fclose(f);
    if (rc == 0 && t->nrows == 0)
        rc = rt_fail(err, errlen, "%s: no epochs logged yet", path);
    if (rc)
        free(t->v);
    return rc;
}

static int csv_column(const csv_table *t, const char *name)
{
    for (int c = 0; c < t->ncols; c++)
        if (!strcmp(t->names[c], name))
            return c;
    return -1;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && !strcmp(s + n - k, tail);
}

static rt_plot_colour colour_of(const char *column)
{
    if (!strncmp(column, "train", 5))
        return RT_PLOT_BLUE;
    if (!strncmp(column, "valid", 5))
        return RT_PLOT_ORANGE;
    if (!strncmp(column, "test", 4))
        return RT_PLOT_GREEN;
    return RT_PLOT_GREY;
}

typedef struct {
    rt_plot_series s[CSV_MAX_COLS];
    char labels[CSV_MAX_COLS][64];
    double *cols[CSV_MAX_COLS];
    int n;
} panel;

/* Column c of t as a series of panel p (x: the epoch column). */
static void add_series(panel *p, const csv_table *t, const double *x, int c, int right)
{
    double *y = malloc((size_t)t->nrows * sizeof *y);
    if (!y)
        return;
    for (int r = 0; r < t->nrows; r++)
        y[r] = t->v[(size_t)r * t->ncols + c];
    int i = p->n++;
    snprintf(p->labels[i], sizeof p->labels[i], "%s", t->names[c]);
    for (char *u = p->labels[i]; *u; u++)
        *u = *u == '_' ? ' ' : *u;
    p->cols[i] = y;
    p->s[i] = (rt_plot_series){ x, y, t->nrows, p->labels[i], right ? RT_PLOT_RED : colour_of(t->names[c]), right,
                                right };
}

static int column_empty(const csv_table *t, int c)
{
    for (int r = 0; r < t->nrows; r++)
        if (!isnan(t->v[(size_t)r * t->ncols + c]))
            return 0;
    return 1;
}

/* The series of the columns ending in `tail` (but empty ones, such as valid_loss
 * without a validation set), then lr on the right. */
static void fill_panel(panel *p, const csv_table *t, const double *x, const char *tail)
{
    memset(p, 0, sizeof *p);
    for (int c = 0; c < t->ncols; c++)
        if (ends_with(t->names[c], tail) && !column_empty(t, c))
            add_series(p, t, x, c, 0);
    int lr = csv_column(t, "lr");
    if (lr >= 0)
        add_series(p, t, x, lr, 1);
}

static void panel_free(panel *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->cols[i]);
}

static int plot_curves(const rt_model *m, const rt_cli_args *a)
{
    (void)m;
    const char *out = rt_cli_get(a, "output"), *ckpt = rt_cli_get(a, "ckpt"), *csv = rt_cli_get(a, "csv");
    char path[1100];
    if (!csv && !ckpt) {
        fprintf(stderr, "%s plot curves: --ckpt CKPT or --csv FILE is required\n", a->prog);
        return 2;
    }
    snprintf(path, sizeof path, "%s%s", csv ? csv : ckpt, csv ? "" : ".csv");
    if (!csv && access(path, F_OK) != 0 && ends_with(ckpt, ".best"))   /* CK.best: the run's log is CK.csv */
        snprintf(path, sizeof path, "%.*s.csv", (int)(strlen(ckpt) - 5), ckpt);
    char err[2048];
    csv_table t;
    if (csv_read(&t, path, err, sizeof err))
        return failed(a, err);
    int ec = csv_column(&t, "epoch");
    double *x = malloc((size_t)t.nrows * sizeof *x);
    if (!x) {
        free(t.v);
        return failed(a, "out of memory");
    }
    for (int r = 0; r < t.nrows; r++)
        x[r] = ec >= 0 ? t.v[(size_t)r * t.ncols + ec] : r + 1;
    panel loss, acc;
    fill_panel(&loss, &t, x, "_loss");
    fill_panel(&acc, &t, x, "_acc");
    int rc = rt_plot_open(out, 1400, 520, 2, 1, err, sizeof err);
    if (rc == 0) {
        rt_plot_lines(&(rt_plot_axes){ "loss", "epoch", "loss", "learning rate", 1 }, loss.s, loss.n);
        rt_plot_lines(&(rt_plot_axes){ "accuracy", "epoch", "accuracy", "learning rate", 1 }, acc.s, acc.n);
        rc = rt_plot_close(out, err, sizeof err);
    }
    char what[1300];
    snprintf(what, sizeof what, "%d epochs of %s", t.nrows, path);
    panel_free(&loss);
    panel_free(&acc);
    free(x);
    free(t.v);
    return rc ? failed(a, err) : wrote(out, what);
}

/* ---- confusion ---- */

static int plot_confusion(const rt_model *m, const rt_cli_args *a)
{
    const char *out = rt_cli_get(a, "output");
    eval_set s;
    int rc = eval_set_open(&s, m, a, "confusion");
    if (rc)
        return rc;
    char err[2048];
    int K = m->classes;
    uint64_t *conf = calloc((size_t)K * K, sizeof *conf);
    double *z = malloc((size_t)K * K * sizeof *z);
    rt_eval_buffers eb = { 0 };
    double loss = 0, acc = 0;
    if (!conf || !z || rt_eval_buffers_alloc(&eb, m))
        rc = rt_fail(err, sizeof err, "out of memory");
    if (rc == 0)
        rc = rt_trainer_evaluate(m, &s.ck.net, &s.xf, s.ds, s.idx, s.n, &eb, &loss, &acc, conf, err, sizeof err);
    char title[256];
    snprintf(title, sizeof title, "%s split, %zu images: accuracy %.4f", s.split, s.n, acc);
    for (int i = 0; rc == 0 && i < K * K; i++)
        z[i] = (double)conf[i];
    int side = 260 + 70 * K;
    if (rc == 0)
        rc = rt_plot_open(out, side, side, 1, 1, err, sizeof err);
    if (rc == 0) {
        const char *const *names = (const char *const *)s.ck.info.class_names;
        rt_plot_heatmap(title, "predicted class", "true class", z, K, K, names, names);
        rc = rt_plot_close(out, err, sizeof err);
    }
    rt_eval_buffers_free(&eb);
    free(conf);
    free(z);
    eval_set_close(&s);
    return rc ? failed(a, err) : wrote(out, title);
}

/* ---- samples ---- */

/* The model's settings with the options' overrides. */
static int settings_of(const rt_model *m, const rt_cli_args *a, rt_train_config *c, char *err, size_t errlen)
{
    rt_config_init(c);
    if (rt_config_parse_text(c, m->settings ? m->settings : "", "model settings", err, errlen))
        return -1;
    for (int i = 0; i < a->ngiven; i++) {
        const setting_spec *e = rt_config_find(a->given[i].name);
        if (e && rt_config_set(c, e, a->given[i].value, err, errlen))
            return -1;
    }
    return 0;
}

static int plot_samples(const rt_model *m, const rt_cli_args *a)
{
    const char *out = rt_cli_get(a, "output");
    int n = count_option(a, "samples", "count", 1, 400, 16), augment = rt_cli_get(a, "augment") != NULL;
    if (n < 0)
        return 2;
    char err[2048];
    rt_train_config c;
    rt_data data = { 0 };
    rt_batch_xform xf;
    rt_augment aug = { 0 };
    float *x = NULL;
    rt_split sp = { 0 };   /* a normalisation of auto is the training split's, as a run computes it */
    int rc = settings_of(m, a, &c, err, sizeof err) || rt_trainer_load_data(&data, &c, m, err, sizeof err) ||
             rt_trainer_split(&sp, &data.train, &c, err, sizeof err) ||
             rt_trainer_resolve_normalisation(&c, &data.train, &sp, err, sizeof err) ||
             rt_trainer_xform(&xf, &data.train, &c, m, err, sizeof err);
    rt_split_free(&sp);
    float bg[RT_DATA_MAX_CHANNELS];
    for (int ch = 0; rc == 0 && ch < xf.C; ch++)
        bg[ch] = xf.lut[ch][0];
    if (rc == 0 && rt_augment_init(&aug, &c, xf.C, xf.H, xf.W, bg, err, sizeof err))
        rc = 1;
    if (rc == 0 && augment && !rt_augment_active(&aug))
        rc = -rt_fail(err, sizeof err, "model %s has no augmentation in its settings; give some, e.g. --augment-rotate 15",
                      m->name);
    n = rc == 0 && (size_t)n > data.train.n ? (int)data.train.n : n;
    size_t size = (size_t)xf.C * xf.H * xf.W;
    if (rc == 0 && !(x = malloc((size_t)n * size * sizeof *x)))
        rc = -rt_fail(err, sizeof err, "out of memory");
    rt_rng rng;
    rt_rng_seed(&rng, (uint64_t)c.seed, STREAM_PREVIEW);
    for (int i = 0; rc == 0 && i < n; i++) {
        uint32_t idx = (uint32_t)i;
        rc = rt_batch_fill(&xf, &data.train, &idx, 1, x + i * size, NULL, err, sizeof err) ? 1 : 0;
        if (rc == 0 && augment)
            rt_augment_image(&aug, x + i * size, &rng);
    }
    int cols, rows;
    rt_plot_grid(n, &cols, &rows);
    if (rc == 0)
        rc = rt_plot_open(out, 170 * cols, 190 * rows, cols, rows, err, sizeof err) ? 1 : 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        char caption[128];
        int label = data.train.labels[i];
        snprintf(caption, sizeof caption, "%d %s", i, data.class_names[label]);
        rt_plot_image(caption, x + i * size, xf.C, xf.H, xf.W, xf.lut[0][0], xf.lut[0][255]);
    }
    if (rc == 0)
        rc = rt_plot_close(out, err, sizeof err) ? 1 : 0;
    char what[128];
    snprintf(what, sizeof what, "%d training images%s", n, augment ? ", augmented" : "");
    free(x);
    rt_augment_free(&aug);
    rt_data_free(&data);
    return rc ? failed(a, err) : wrote(out, what);
}

/* ---- errors ---- */

typedef struct {
    size_t example;            /* index into the data set */
    int truth, pred;
    float prob;
} mistake;

/* Keeps the `cap` most confident mistakes in w[0..*n), most confident first. */
static void keep_mistake(mistake *w, int *n, int cap, mistake e)
{
    int i = *n < cap ? (*n)++ : cap - 1;
    if (i == cap - 1 && *n == cap && w[i].prob >= e.prob)
        return;
    while (i > 0 && w[i - 1].prob < e.prob) {
        w[i] = w[i - 1];
        i--;
    }
    w[i] = e;
}

/* Runs the model over the set, collecting its most confident mistakes. */
static int find_mistakes(const rt_model *m, eval_set *s, mistake *w, int *nw, int cap, char *err, size_t errlen)
{
    rt_eval_buffers b = { 0 };
    if (rt_eval_buffers_alloc(&b, m))
        return rt_fail(err, errlen, "out of memory");
    int K = m->classes, rc = 0;
    *nw = 0;
    for (size_t pos = 0; rc == 0 && pos < s->n;) {
        size_t bn = s->n - pos < (size_t)m->max_batch ? s->n - pos : (size_t)m->max_batch;
        for (size_t i = 0; i < bn; i++)
            b.idx[i] = s->idx ? s->idx[pos + i] : (uint32_t)(pos + i);
        rc = rt_batch_fill(&s->xf, s->ds, b.idx, bn, b.x, b.labels, err, errlen);
        if (rc)
            break;
        m->evaluate(&s->ck.net, b.x, NULL, (int)bn, b.probs);
        for (size_t i = 0; i < bn; i++) {
            const float *p = b.probs + i * (size_t)K;
            int pred = rt_argmax(p, K);
            if (pred != b.labels[i])
                keep_mistake(w, nw, cap, (mistake){ b.idx[i], b.labels[i], pred, p[pred] });
        }
        pos += bn;
    }
    rt_eval_buffers_free(&b);
    return rc;
}

static int plot_errors(const rt_model *m, const rt_cli_args *a)
{
    const char *out = rt_cli_get(a, "output");
    int cap = count_option(a, "errors", "count", 1, 400, 16), nw = 0;
    if (cap < 0)
        return 2;
    eval_set s;
    int rc = eval_set_open(&s, m, a, "errors");
    if (rc)
        return rc;
    char err[2048];
    const rt_dataset *ds = s.ds;
    mistake *w = malloc((size_t)cap * sizeof *w);
    float *img = malloc((size_t)ds->C * ds->H * ds->W * sizeof *img);
    if (!w || !img)
        rc = -rt_fail(err, sizeof err, "out of memory");
    if (rc == 0)
        rc = find_mistakes(m, &s, w, &nw, cap, err, sizeof err) ? 1 : 0;
    if (rc == 0 && nw == 0)
        rc = -rt_fail(err, sizeof err, "no wrong predictions in the %s split", s.split);
    int cols, rows;
    rt_plot_grid(nw, &cols, &rows);
    if (rc == 0)
        rc = rt_plot_open(out, 200 * cols, 240 * rows, cols, rows, err, sizeof err) ? 1 : 0;
    char **names = s.ck.info.class_names;
    for (int i = 0; rc == 0 && i < nw; i++) {
        char caption[256];
        snprintf(caption, sizeof caption, "#%zu true: %s\npred: %s %.3f", w[i].example, names[w[i].truth],
                 names[w[i].pred], w[i].prob);
        example_pixels(ds, w[i].example, img);
        rt_plot_image(caption, img, ds->C, ds->H, ds->W, 0, 1);
    }
    if (rc == 0)
        rc = rt_plot_close(out, err, sizeof err) ? 1 : 0;
    for (int i = 0; rc == 0 && i < nw; i++)
        printf("%zu %d %d %.6f\n", w[i].example, w[i].truth, w[i].pred, w[i].prob);
    char what[128];
    snprintf(what, sizeof what, "the %d most confident mistakes of the %s split", nw, s.split);
    free(w);
    free(img);
    eval_set_close(&s);
    return rc ? failed(a, err) : wrote(out, what);
}

/* ---- weights and filters ---- */

static int is_weight(const rt_tensor_info *t)
{
    return t->trainable && t->rank >= 2;
}

static void shape_text(const rt_tensor_info *t, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < t->rank && used < len; d++)
        used += (size_t)snprintf(buf + used, len - used, "%s%d", d ? ", " : "", t->shape[d]);
    if (used < len)
        snprintf(buf + used, len - used, "]");
}

static size_t tensor_size(const rt_tensor_info *t)
{
    size_t n = 1;
    for (int d = 0; d < t->rank; d++)
        n *= (size_t)t->shape[d];
    return n;
}

static int plot_weights(const rt_model *m, const rt_cli_args *a)
{
    const char *out = rt_cli_get(a, "output"), *path;
    int bins = count_option(a, "weights", "bins", 1, 1000, 50), n = 0;
    if (bins < 0 || need(a, "weights", "ckpt", &path))
        return 2;
    for (int i = 0; i < m->ntensors; i++)
        n += is_weight(&m->tensors[i]);
    if (n == 0) {
        fprintf(stderr, "%s plot weights: model %s has no weight tensors\n", a->prog, m->name);
        return 1;
    }
    char err[2048];
    loaded l;
    int rc = load_checkpoint(&l, m, path, err, sizeof err);
    int cols, rows;
    rt_plot_grid(n, &cols, &rows);
    if (rc == 0)
        rc = rt_plot_open(out, 440 * cols, 330 * rows, cols, rows, err, sizeof err);
    for (int i = 0; rc == 0 && i < m->ntensors; i++) {
        const rt_tensor_info *t = &m->tensors[i];
        if (!is_weight(t))
            continue;
        const float *v = l.net.params + t->offset;
        size_t size = tensor_size(t);
        double sum = 0, sq = 0;
        for (size_t k = 0; k < size; k++) {
            sum += v[k];
            sq += (double)v[k] * v[k];
        }
        double mean = sum / (double)size, sd = sqrt(fmax(0, sq / (double)size - mean * mean));
        char shape[64], title[160], label[96];
        shape_text(t, shape, sizeof shape);
        snprintf(title, sizeof title, "%s %s", t->name, shape);
        snprintf(label, sizeof label, "weight (mean %.3g, std %.3g)", mean, sd);
        rt_plot_histogram(title, label, v, size, bins);
    }
    if (rc == 0)
        rc = rt_plot_close(out, err, sizeof err);
    loaded_free(&l);
    char what[64];
    snprintf(what, sizeof what, "histograms of %d weight tensors", n);
    return rc ? failed(a, err) : wrote(out, what);
}

static int plot_filters(const rt_model *m, const rt_cli_args *a)
{
    const char *out = rt_cli_get(a, "output"), *path;
    if (need(a, "filters", "ckpt", &path))
        return 2;
    const rt_tensor_info *t = NULL;
    for (int i = 0; i < m->ntensors && !t; i++)
        if (m->tensors[i].trainable && m->tensors[i].rank == 4)
            t = &m->tensors[i];
    if (!t) {
        fprintf(stderr, "%s plot filters: model %s has no convolution\n", a->prog, m->name);
        return 1;
    }
    int out_c = t->shape[0], in_c = t->shape[1], kh = t->shape[2], kw = t->shape[3], C = in_c == 3 ? 3 : 1;
    char err[2048];
    loaded l;
    int rc = load_checkpoint(&l, m, path, err, sizeof err);
    const float *w = l.net.params + t->offset;
    float most = 0;
    for (size_t k = 0; rc == 0 && k < tensor_size(t); k++)
        most = fabsf(w[k]) > most ? fabsf(w[k]) : most;
    int cols, rows;
    rt_plot_grid(out_c, &cols, &rows);
    if (rc == 0)
        rc = rt_plot_open(out, 130 * cols, 145 * rows, cols, rows, err, sizeof err);
    for (int o = 0; rc == 0 && o < out_c; o++) {
        char caption[96];
        snprintf(caption, sizeof caption, "%s %d", o == 0 ? t->name : "", o);
        rt_plot_image(caption, w + (size_t)o * in_c * kh * kw, C, kh, kw, -most, most);
    }
    if (rc == 0)
        rc = rt_plot_close(out, err, sizeof err);
    loaded_free(&l);
    char what[160];
    snprintf(what, sizeof what, "the %d kernels of %s", out_c, t->name);
    return rc ? failed(a, err) : wrote(out, what);
}
