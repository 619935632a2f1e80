/* The trainer's pure parts: learning-rate schedules against values worked out from
 * PyTorch's formulas, and per step against PyTorch's own (tests/golden/schedules.txt); the settings table (parse, print, read back exactly, errors);
 * augmentations (each one's effect, determinism under a seed); Gamma/Beta sampling
 * moments; soft targets and MixUp; PGM/PNG/IDX-item reading and its errors; and the
 * command line's exit codes on a small fake model.  The trainer as a program is
 * tested by tests/t_train_*.sh. */
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "netc_rt.h"

#include "check.h"
#include "scratch.h"

static char err[1024];

static int near(double a, double b)
{
    return fabs(a - b) <= 1e-12 * fmax(1.0, fabs(b));
}

static void set(rt_train_config *c, const char *key, const char *value)
{
    int rc = rt_config_set(c, rt_config_find(key), value, err, sizeof err);
    CHECK(rc == 0, "setting %s=%s: %s", key, value, err);
}

/* ---- schedules ---- */

static void test_schedules(void)
{
    rt_train_config c;
    rt_config_init(&c);
    set(&c, "lr", "0.1");
    CHECK(near(rt_lr_at(&c, 7, 1234), 0.1), "constant");

    /* CosineAnnealingLR(T_max=10, eta_min=0.001): eta_min + (0.1-0.001)(1+cos(pi e/10))/2 */
    set(&c, "schedule", "cosine");
    set(&c, "schedule.t_max", "10");
    set(&c, "schedule.eta_min", "0.001");
    CHECK(near(rt_lr_at(&c, 0, 0), 0.1), "cosine e=0: %g", rt_lr_at(&c, 0, 0));
    CHECK(near(rt_lr_at(&c, 5, 0), 0.0505), "cosine e=5: %g", rt_lr_at(&c, 5, 0));
    CHECK(near(rt_lr_at(&c, 10, 0), 0.001), "cosine e=10: %g", rt_lr_at(&c, 10, 0));
    CHECK(near(rt_lr_at(&c, 2, 0), 0.001 + 0.099 * (1 + cos(M_PI * 0.2)) / 2), "cosine e=2");
    /* T_max unset: the run's epochs */
    rt_config_init(&c);
    set(&c, "lr", "0.1");
    set(&c, "schedule", "cosine");
    set(&c, "epochs", "4");
    CHECK(near(rt_lr_at(&c, 2, 0), 0.05), "cosine T_max=epochs: %g", rt_lr_at(&c, 2, 0));

    /* StepLR(step_size=3, gamma=0.5) */
    rt_config_init(&c);
    set(&c, "lr", "0.1");
    set(&c, "schedule", "step");
    set(&c, "schedule.step_size", "3");
    set(&c, "schedule.gamma", "0.5");
    double want_step[] = { 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025 };
    for (int e = 0; e < 7; e++)
        CHECK(near(rt_lr_at(&c, e, 0), want_step[e]), "step e=%d: %g", e, rt_lr_at(&c, e, 0));

    /* CosineAnnealingWarmRestarts(T_0=2, T_mult=2): cycles of 2, 4, 8 epochs */
    rt_config_init(&c);
    set(&c, "lr", "0.1");
    set(&c, "schedule", "warm_restarts");
    set(&c, "schedule.t_0", "2");
    set(&c, "schedule.t_mult", "2");
    double want_wr[] = { 0.1, 0.05, 0.1, 0.05 * (1 + cos(M_PI / 4)), 0.05, 0.05 * (1 + cos(3 * M_PI / 4)), 0.1 };
    for (int e = 0; e < 7; e++)
        CHECK(near(rt_lr_at(&c, e, 0), want_wr[e]), "warm_restarts e=%d: %g, want %g", e, rt_lr_at(&c, e, 0),
              want_wr[e]);
    set(&c, "schedule.t_mult", "1");
    CHECK(near(rt_lr_at(&c, 5, 0), 0.05), "warm_restarts T_mult=1 e=5: %g", rt_lr_at(&c, 5, 0));

    /* CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=4), triangular, per step */
    rt_config_init(&c);
    set(&c, "schedule", "cyclic");
    set(&c, "schedule.base_lr", "0.001");
    set(&c, "schedule.max_lr", "0.006");
    set(&c, "schedule.step_size", "4");
    double want_cy[] = { 0.001, 0.00225, 0.0035, 0.00475, 0.006, 0.00475, 0.0035, 0.00225, 0.001, 0.00225 };
    for (int s = 0; s < 10; s++)
        CHECK(fabs(rt_lr_at(&c, 3, s) - want_cy[s]) < 1e-15, "cyclic step %d: %g, want %g", s, rt_lr_at(&c, 3, s),
              want_cy[s]);
    printf("  ok: schedules constant, cosine, step, warm_restarts, cyclic\n");
}

/* Per-step schedules against tests/golden/schedules.txt: the lr PyTorch's schedulers give
 * at every step when stepped after every batch (make_schedule_golden.py), to 1e-6
 * relative.  The epoch passed is arbitrary: a schedule counting steps must ignore it. */
static void test_schedule_golden(void)
{
    const char *path = "tests/golden/schedules.txt";
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "%s: cannot open (run from the repository root)", path);
    if (!f)
        return;
    char line[1024], name[128] = "";
    rt_train_config c;
    long long steps = 0, k = 0, values = 0;
    int cases = 0, bad = 0;
    double worst = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        if (!strncmp(line, "case ", 5)) {
            CHECK(k == steps, "%s: %lld values, want %lld", name, k, steps);
            int used = 0;
            CHECK(sscanf(line, "case %127s %lld %n", name, &steps, &used) == 2, "bad case line: %s", line);
            rt_config_init(&c);
            for (char *kv = strtok(line + used, " \n"); kv; kv = strtok(NULL, " \n")) {
                char *eq = strchr(kv, '=');
                CHECK(eq != NULL, "%s: bad setting '%s'", name, kv);
                if (eq) {
                    *eq = 0;
                    set(&c, kv, eq + 1);
                }
            }
            cases++;
            k = 0;
            continue;
        }
        double want = strtod(line, NULL), got = rt_lr_at(&c, k / 37, k);
        double rel = fabs(got - want) / fmax(fabs(want), 1e-300);
        worst = fmax(worst, rel);
        if (rel > 1e-6 && bad++ < 5)
            CHECK(0, "%s: step %lld: lr %.17g, PyTorch %.17g", name, k, got, want);
        k++;
        values++;
    }
    fclose(f);
    CHECK(k == steps, "%s: %lld values, want %lld", name, k, steps);
    CHECK(cases >= 7 && values > 5000, "%s: %d cases, %lld values", path, cases, values);
    CHECK(bad == 0, "%d of %lld values off by more than 1e-6", bad, values);
    printf("  ok: %d per-step schedules, %lld steps, against PyTorch: worst relative difference %.2g\n", cases, values,
           worst);
}

/* Units, defaults decided per call or per run, and the series the schedule command prints. */
static void test_schedule_units(void)
{
    rt_train_config c;
    rt_config_init(&c);
    set(&c, "lr", "0.1");
    set(&c, "schedule", "cyclic");
    CHECK(rt_schedule_unit(&c) == UNIT_STEP, "cyclic counts steps unless told");
    set(&c, "schedule", "warm_restarts");
    CHECK(rt_schedule_unit(&c) == UNIT_EPOCH, "warm_restarts counts epochs unless told");
    set(&c, "schedule.t_0", "10");
    CHECK(near(rt_lr_at(&c, 5, 3), 0.05), "per epoch: the epoch decides: %g", rt_lr_at(&c, 5, 3));
    set(&c, "schedule.unit", "step");
    CHECK(near(rt_lr_at(&c, 3, 5), 0.05), "per step: the step decides: %g", rt_lr_at(&c, 3, 5));
    /* t_mult = 1 and a huge step: the position by division, not a loop over cycles */
    CHECK(near(rt_lr_at(&c, 0, 100000000000005LL), 0.05), "step 1e14 + 5: %g", rt_lr_at(&c, 0, 100000000000005LL));

    /* gamma unset: StepLR's 0.1; CyclicLR's 1 (exp_range is then triangular) */
    rt_config_init(&c);
    set(&c, "lr", "1");
    set(&c, "schedule", "step");
    set(&c, "schedule.step_size", "2");
    CHECK(near(rt_lr_at(&c, 4, 0), 0.01), "step, gamma unset: %g", rt_lr_at(&c, 4, 0));
    set(&c, "schedule", "cyclic");
    set(&c, "schedule.base_lr", "0");
    set(&c, "schedule.max_lr", "1");
    set(&c, "schedule.mode", "exp_range");
    CHECK(near(rt_lr_at(&c, 0, 7), 0.5), "exp_range, gamma unset: %g", rt_lr_at(&c, 0, 7));
    set(&c, "schedule.mode", "triangular2");
    CHECK(near(rt_lr_at(&c, 0, 6), 0.5) && near(rt_lr_at(&c, 0, 10), 0.25), "triangular2 halves: %g %g",
          rt_lr_at(&c, 0, 6), rt_lr_at(&c, 0, 10));

    /* cosine's T_max: the run's epochs, or its steps when it counts steps */
    rt_config_init(&c);
    set(&c, "lr", "0.1");
    set(&c, "schedule", "cosine");
    set(&c, "epochs", "2");
    set(&c, "schedule.unit", "step");
    rt_schedule_resolve(&c, 10);
    CHECK(c.set[SETTING_t_max] && c.t_max == 20 && near(rt_lr_at(&c, 1, 10), 0.05), "resolved t_max %lld", c.t_max);
    rt_config_init(&c);
    set(&c, "schedule", "cosine");
    set(&c, "epochs", "3");
    rt_schedule_resolve(&c, 10);
    CHECK(c.t_max == 3, "per epoch: t_max = epochs: %lld", c.t_max);

    /* the series: a point per step, or per epoch */
    rt_lr_point *p;
    long long n = rt_lr_series(&c, 3, 10, &p);
    CHECK(n == 3 && p[2].epoch == 2 && p[2].step == 20 && near(p[1].lr, rt_lr_at(&c, 1, 10)), "per-epoch series: %lld",
          n);
    free(p);
    set(&c, "schedule.unit", "step");
    n = rt_lr_series(&c, 3, 10, &p);
    CHECK(n == 30 && p[29].epoch == 2 && p[29].step == 29 && near(p[29].lr, rt_lr_at(&c, 2, 29)),
          "per-step series: %lld", n);
    free(p);
    CHECK(rt_lr_series(&c, 1000000, 1000000, &p) == -1 && !p, "too long a series is refused");
    printf("  ok: schedule units, per-call and per-run defaults, series\n");
}

/* ---- settings ---- */

static const char model_settings[] = "optimizer=sgd\nlr=0.05\nmomentum=0.9\nnesterov=true\nbatch=64\nepochs=30\n"
                                     "seed=42\ndata=/x/y\nvalid_split=0.1\nsplit=random\nmean=0.2860\nstd=0.353\n"
                                     "schedule=cosine\nschedule.t_max=30\naugment.flip=false\naugment.pad_crop=2\n";

static void test_config(void)
{
    rt_train_config c, d;
    rt_config_init(&c);
    CHECK(c.optimizer == OPTIMIZER_ADAM && c.batch == 100 && c.valid_split == 0.1, "defaults");
    CHECK(!rt_config_is_set(&c, rt_config_find("mean")), "mean has no default");
    CHECK(rt_config_parse_text(&c, model_settings, "settings", err, sizeof err) == 0, "%s", err);
    CHECK(c.optimizer == OPTIMIZER_SGD && c.lr == 0.05 && c.nesterov == 1 && c.batch == 64 && c.t_max == 30 &&
              c.aug_pad_crop == 2 && c.mean.n == 1 && c.mean.v[0] == 0.2860 && !strcmp(c.data, "/x/y"),
          "parsed values");
    /* printed and read back: the same bits */
    set(&c, "lr", "0.1");
    set(&c, "schedule.eta_min", "1e-7");
    char *text = rt_config_format(&c);
    CHECK(text != NULL, "format");
    rt_config_init(&d);
    CHECK(rt_config_parse_text(&d, text, "round trip", err, sizeof err) == 0, "%s", err);
    CHECK(!memcmp(&c, &d, sizeof c), "settings round trip differs:\n%s", text);
    CHECK(strstr(text, "lr=0.1\n") != NULL, "shortest exact form: %s", text);
    free(text);

    /* option spellings */
    CHECK(rt_config_find("weight-decay") == rt_config_find("weight_decay"), "option spelling");
    CHECK(rt_config_find("schedule-t-max") == rt_config_find("schedule.t_max"), "option spelling, group");
    CHECK(rt_config_find("t_max") == NULL, "no bare group member");
    char opt[64];
    CHECK(!strcmp(rt_config_option_name(rt_config_find("augment.pad_crop"), opt, sizeof opt), "--augment-pad-crop"),
          "option name: %s", opt);

    /* errors */
    struct { const char *key, *value, *frag; } bad[] = {
        { "lr", "abc", "must be a number" },          { "lr", "11", "between 0 and 10" },
        { "batch", "1.5", "must be an integer" },     { "batch", "0", "between 1 and 65536" },
        { "optimizer", "adagrad", "sgd adam adamw" }, { "nesterov", "maybe", "true or false" },
        { "std", "0", "greater than 0" },             { "lr", "nan", "must be a number" },
        { "mean", "0.4,,0.5", "numbers separated by commas" }, { "mean", "0.4,abc", "numbers separated by commas" },
        { "mean", "1,2,3,4,5,6,7,8,9", "more than 8 values" },  { "std", "0.5,0", "greater than 0" },
        { "mean", "", "numbers separated by commas" },         { "std", "Auto", "numbers separated by commas" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = rt_config_set(&c, rt_config_find(bad[i].key), bad[i].value, err, sizeof err);
        CHECK(rc != 0 && strstr(err, bad[i].frag), "%s=%s: rc %d, '%s'", bad[i].key, bad[i].value, rc, err);
    }
    CHECK(rt_config_parse_text(&c, "optimiser=adam\n", "model", err, sizeof err) != 0 &&
              strstr(err, "'optimiser' is not known"),
          "unknown key: %s", err);
    CHECK(rt_config_parse_text(&c, "lr\n", "model", err, sizeof err) != 0 && strstr(err, "expected key=value"),
          "no '=': %s", err);

    /* checks against a model */
    rt_model m = { .name = "M", .max_batch = 32, .classes = 10 };
    rt_config_init(&c);
    CHECK(rt_config_check(&c, &m, err, sizeof err) != 0 && strstr(err, "larger than this program's maximum batch 32"),
          "batch > max_batch: %s", err);
    set(&c, "batch", "32");
    CHECK(rt_config_check(&c, &m, err, sizeof err) == 0, "%s", err);
    set(&c, "schedule", "step");
    CHECK(rt_config_check(&c, &m, err, sizeof err) != 0 && strstr(err, "schedule.step_size"), "step needs step_size: %s",
          err);
    set(&c, "schedule", "cyclic");
    CHECK(rt_config_check(&c, &m, err, sizeof err) != 0 && strstr(err, "schedule.step_size"), "cyclic: %s", err);
    set(&c, "schedule.step_size", "4");
    CHECK(rt_config_check(&c, &m, err, sizeof err) != 0 && !strcmp(err, "schedule cyclic needs schedule.base_lr (in the "
                                                                      ".net file: schedule = cyclic(base_lr = ...); "
                                                                      "option --schedule-base-lr)"),
          "cyclic without base_lr: %s", err);
    set(&c, "schedule", "constant");
    set(&c, "early_stopping", "3");
    set(&c, "valid_split", "0");
    CHECK(rt_config_check(&c, &m, err, sizeof err) != 0 && strstr(err, "validation set"), "early stopping: %s", err);
    /* early_stopping = N (a model's, an old checkpoint's, --early-stopping N) is the group's patience */
    CHECK(c.es_patience == 3 && rt_config_find("early_stopping") == &setting_specs[SETTING_es_patience] &&
              rt_config_find("early-stopping-min-delta") == &setting_specs[SETTING_es_min_delta] &&
              rt_config_find("augment") == NULL,
          "the early_stopping shorthand");
    set(&c, "early_stopping", "0");
    set(&c, "eval_mixup", "0.2");
    CHECK(rt_config_check(&c, &m, err, sizeof err) != 0 && strstr(err, "eval_mixup needs a validation set"),
          "eval_mixup without validation: %s", err);
    printf("  ok: settings parse, print, read back, check\n");
}

/* mean and std: one number, one per channel, or auto; as the data pipeline and export
 * take them (rt_trainer_normalisation). */
static void test_channels(void)
{
    rt_train_config c;
    rt_config_init(&c);
    char buf[200];
    float mean[RT_DATA_MAX_CHANNELS], std[RT_DATA_MAX_CHANNELS];
    CHECK(rt_trainer_normalisation(&c, 3, mean, std, err, sizeof err) == 0, "no normalisation: %s", err);
    set(&c, "mean", "0.49,0.48,0.45");
    set(&c, "std", "0.25");
    CHECK(c.mean.n == 3 && c.mean.v[0] == 0.49 && c.mean.v[2] == 0.45 && c.std.n == 1 && c.std.v[0] == 0.25,
          "parsed per channel");
    CHECK(!strcmp(rt_config_value(&c, rt_config_find("mean"), buf, sizeof buf), "0.49,0.48,0.45"), "printed: %s",
          buf);
    CHECK(rt_trainer_normalisation(&c, 3, mean, std, err, sizeof err) == 3 && mean[0] == 0.49f && mean[1] == 0.48f &&
              mean[2] == 0.45f && std[0] == 0.25f && std[2] == 0.25f,
          "per channel, one std for all: %s", err);
    CHECK(rt_trainer_normalisation(&c, 0, mean, std, err, sizeof err) == 3, "C 0: the settings' count");
    CHECK(rt_trainer_normalisation(&c, 1, mean, std, err, sizeof err) < 0 &&
              strstr(err, "'mean' has 3 values, one per channel, but the images have 1 channel"),
          "3 values for 1 channel: %s", err);
    rt_model m = { .name = "M", .max_batch = 100, .classes = 10, .in_c = 1, .in_h = 28, .in_w = 28 };
    CHECK(rt_config_check(&c, &m, err, sizeof err) != 0 &&
              strstr(err, "'mean' has 3 values, one per channel, but the input of model M has 1 channel"),
          "3 values for a 1-channel model: %s", err);
    m.in_c = 3;
    CHECK(rt_config_check(&c, &m, err, sizeof err) == 0, "3 values for a 3-channel model: %s", err);
    set(&c, "std", "auto");
    CHECK(c.std.n == 0 && !strcmp(rt_config_value(&c, rt_config_find("std"), buf, sizeof buf), "auto"), "auto: %s",
          buf);
    CHECK(rt_trainer_normalisation(&c, 3, mean, std, err, sizeof err) < 0 && strstr(err, "'std' is auto"),
          "auto unresolved: %s", err);
    /* auto resolved over the training split: 2 images of 3x1x2, the first held out */
    uint8_t px[] = { 9, 9, 9, 9, 9, 9, 0, 51, 102, 102, 255, 0 };
    int32_t labels[] = { 0, 1 };
    rt_dataset ds = { .n = 2, .C = 3, .H = 1, .W = 2, .num_classes = 2, .pixels = px, .labels = labels };
    uint32_t train_idx[] = { 1 };
    rt_split split = { .train = train_idx, .ntrain = 1 };
    set(&c, "mean", "auto");
    CHECK(rt_trainer_resolve_normalisation(&c, &ds, &split, err, sizeof err) < 0 &&
              strstr(err, "every pixel of channel 1 of the training images is 102") && c.mean.n == 0 && c.std.n == 0,
          "std = auto of a constant channel: %s", err);
    px[9] = 153;
    CHECK(rt_trainer_resolve_normalisation(&c, &ds, &split, err, sizeof err) == 0, "%s", err);
    const double want_mean[] = { 0.1, 0.5, 0.5 }, want_std[] = { 0.1, 0.1, 0.5 };
    int ok = c.mean.n == 3 && c.std.n == 3;
    for (int k = 0; k < 3 && ok; k++)
        ok = fabs(c.mean.v[k] - want_mean[k]) < 1e-15 && fabs(c.std.v[k] - want_std[k]) < 1e-15;
    CHECK(ok, "resolved: mean %g %g %g, std %g %g %g", c.mean.v[0], c.mean.v[1], c.mean.v[2], c.std.v[0], c.std.v[1],
          c.std.v[2]);
    printf("  ok: per-channel and auto normalisation: parse, print, check, resolve\n");
}

/* ---- augmentation ---- */

static void ramp(float *img, int C, int H, int W)
{
    for (int i = 0; i < C * H * W; i++)
        img[i] = 1.0f + (float)i;
}

static rt_augment make_aug(const char *key, const char *value, int C, int H, int W)
{
    rt_train_config c;
    rt_config_init(&c);
    if (key)
        set(&c, key, value);
    float bg[RT_DATA_MAX_CHANNELS] = { -0.5f, -0.5f, -0.5f };
    rt_augment a;
    CHECK(rt_augment_init(&a, &c, C, H, W, bg, err, sizeof err) == 0, "%s", err);
    return a;
}

/* Finds (dy, dx) such that out is in moved by it with bg fill; 0 if none within r. */
static int find_shift(const float *in, const float *out, int H, int W, int r, int *fy, int *fx)
{
    for (int dy = -r; dy <= r; dy++)
        for (int dx = -r; dx <= r; dx++) {
            int ok = 1;
            for (int y = 0; y < H && ok; y++)
                for (int x = 0; x < W && ok; x++) {
                    int sy = y - dy, sx = x - dx;
                    float want = sy >= 0 && sy < H && sx >= 0 && sx < W ? in[sy * W + sx] : -0.5f;
                    ok = out[y * W + x] == want;
                }
            if (ok) {
                *fy = dy;
                *fx = dx;
                return 1;
            }
        }
    return 0;
}

static void test_augment(void)
{
    enum { H = 8, W = 10 };
    float in[H * W], out[H * W];
    ramp(in, 1, H, W);

    rt_augment a = make_aug(NULL, NULL, 1, H, W);
    CHECK(!rt_augment_active(&a), "all off by default");
    rt_augment_free(&a);

    /* shift: every result is the image moved by a whole offset within the range, and
     * over many draws every offset appears */
    const char *kinds[] = { "augment.shift", "augment.pad_crop" };
    for (int k = 0; k < 2; k++) {
        a = make_aug(kinds[k], "2", 1, H, W);
        rt_rng r;
        rt_rng_seed(&r, 7, 1);
        int seen[5][5] = { { 0 } }, bad = 0;
        for (int t = 0; t < 400; t++) {
            memcpy(out, in, sizeof in);
            rt_augment_image(&a, out, &r);
            int dy, dx;
            if (find_shift(in, out, H, W, 2, &dy, &dx))
                seen[dy + 2][dx + 2]++;
            else
                bad++;
        }
        int missing = 0;
        for (int i = 0; i < 25; i++)
            missing += seen[i / 5][i % 5] == 0;
        CHECK(bad == 0 && missing == 0, "%s: %d results not a shift, %d offsets never drawn", kinds[k], bad, missing);
        rt_augment_free(&a);
    }

    /* flip: the image or its mirror, each about half the time */
    a = make_aug("augment.flip", "true", 1, H, W);
    rt_rng r;
    rt_rng_seed(&r, 3, 1);
    int flipped = 0, bad = 0;
    for (int t = 0; t < 1000; t++) {
        memcpy(out, in, sizeof in);
        rt_augment_image(&a, out, &r);
        int same = !memcmp(out, in, sizeof in), mirror = 1;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                mirror &= out[y * W + x] == in[y * W + (W - 1 - x)];
        flipped += mirror;
        bad += !same && !mirror;
    }
    CHECK(bad == 0 && flipped > 420 && flipped < 580, "flip: %d mirrored of 1000, %d neither", flipped, bad);
    rt_augment_free(&a);

    /* rotate 0 < angle: the centre pixel of an odd image stays; values stay in range */
    enum { S = 9 };
    float sq[S * S], sq2[S * S];
    ramp(sq, 1, S, S);
    a = make_aug("augment.rotate", "30", 1, S, S);
    memcpy(sq2, sq, sizeof sq);
    rt_augment_image(&a, sq2, &r);
    CHECK(fabsf(sq2[S * S / 2] - sq[S * S / 2]) < 1e-4f, "rotate keeps the centre: %g vs %g", sq2[S * S / 2],
          sq[S * S / 2]);
    int inrange = 1;
    for (int i = 0; i < S * S; i++)
        inrange &= sq2[i] >= -0.5f - 1e-4f && sq2[i] <= (float)(S * S) + 1e-3f;
    CHECK(inrange, "rotate interpolates within the value range");
    rt_augment_free(&a);

    /* erase with probability 1: a zero rectangle appears, the rest is unchanged */
    a = make_aug("augment.erase", "1", 1, H, W);
    memcpy(out, in, sizeof in);
    rt_augment_image(&a, out, &r);
    int zeros = 0, changed_nonzero = 0;
    for (int i = 0; i < H * W; i++) {
        zeros += out[i] == 0.0f;
        changed_nonzero += out[i] != 0.0f && out[i] != in[i];
    }
    CHECK(zeros > 0 && changed_nonzero == 0, "erase: %d zeros, %d other changes", zeros, changed_nonzero);
    rt_augment_free(&a);

    /* crop: output stays within the input's range (bilinear) and is not all the same */
    a = make_aug("augment.crop", "0.5", 3, H, W);
    float rgb[3 * H * W], rgb2[3 * H * W];
    ramp(rgb, 3, H, W);
    memcpy(rgb2, rgb, sizeof rgb);
    rt_augment_image(&a, rgb2, &r);
    int ok = 1;
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < H * W; i++) {
            float v = rgb2[c * H * W + i];
            ok &= v >= rgb[c * H * W] - 1e-3f && v <= rgb[c * H * W + H * W - 1] + 1e-3f;
        }
    CHECK(ok, "crop: channel values stay within the channel's range");
    rt_augment_free(&a);

    /* all at once, twice from the same seed: the same result */
    rt_train_config c;
    rt_config_init(&c);
    set(&c, "augment.crop", "0.8");
    set(&c, "augment.flip", "true");
    set(&c, "augment.rotate", "10");
    set(&c, "augment.shift", "1");
    set(&c, "augment.pad_crop", "2");
    set(&c, "augment.erase", "0.5");
    float bg[1] = { 0.0f };
    CHECK(rt_augment_init(&a, &c, 1, H, W, bg, err, sizeof err) == 0, "%s", err);
    float o1[H * W], o2[H * W];
    rt_rng r1, r2;
    rt_rng_seed(&r1, 11, 4);
    rt_rng_seed(&r2, 11, 4);
    for (int t = 0; t < 20; t++) {
        memcpy(o1, in, sizeof in);
        memcpy(o2, in, sizeof in);
        rt_augment_image(&a, o1, &r1);
        rt_augment_image(&a, o2, &r2);
        CHECK(!memcmp(o1, o2, sizeof o1), "augmentation is not deterministic under a seed (image %d)", t);
    }
    rt_augment_free(&a);

    /* a flat input cannot be augmented */
    CHECK(rt_augment_init(&a, &c, 1, 1, 1, bg, err, sizeof err) != 0 && strstr(err, "needs images"), "flat: %s", err);
    printf("  ok: augment shift, pad_crop, flip, rotate, erase, crop, determinism\n");
}

/* The knobs of the notebooks' augmentations: a fractional shift interpolates, a crop
 * above scale 1 zooms out, the erased box keeps to its area and aspect ranges. */
static void test_augment_ranges(void)
{
    enum { H = 8, W = 10 };
    float in[H * W], out[H * W];
    ramp(in, 1, H, W);

    /* half a pixel right: each pixel the mean of itself and its left neighbour (bg at the
     * left edge); half a pixel down likewise; a whole pixel is exact */
    rt_augment a = make_aug("augment.shift_fraction", "0.1", 1, H, W);
    CHECK(rt_augment_active(&a), "shift_fraction turns augmentation on");
    memcpy(out, in, sizeof in);
    rt_augment_translate(&a, out, 0, 0.5);
    int bad = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            bad += fabsf(out[y * W + x] - 0.5f * ((x ? in[y * W + x - 1] : -0.5f) + in[y * W + x])) > 1e-6f;
    memcpy(out, in, sizeof in);
    rt_augment_translate(&a, out, 0.5, 0);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            bad += fabsf(out[y * W + x] - 0.5f * ((y ? in[(y - 1) * W + x] : -0.5f) + in[y * W + x])) > 1e-6f;
    memcpy(out, in, sizeof in);
    rt_augment_translate(&a, out, -1, 2);
    int dy = 0, dx = 0;
    CHECK(bad == 0 && find_shift(in, out, H, W, 2, &dy, &dx) && dy == -1 && dx == 2,
          "fractional shift: %d pixels not the interpolated mean; whole (-1, 2) found as (%d, %d)", bad, dy, dx);
    /* drawn: within 0.1 * W = 1 pixel, and mostly not whole */
    rt_rng r;
    rt_rng_seed(&r, 5, 1);
    int whole = 0, far = 0;
    for (int t = 0; t < 200; t++) {
        memcpy(out, in, sizeof in);
        rt_augment_image(&a, out, &r);
        whole += find_shift(in, out, H, W, 1, &dy, &dx);
        /* the ramp rises 1 a column and W a row, so a shift by at most (0.8, 1) pixels
         * changes the middle pixel by at most 0.8 W + 1 */
        far += fabsf(out[4 * W + 5] - in[4 * W + 5]) > 0.8f * W + 1.0f + 1e-4f;
    }
    CHECK(whole < 10 && far == 0, "shift_fraction draws: %d whole shifts of 200, %d too far", whole, far);
    rt_augment_free(&a);

    /* crop at scales 1.4 to 1.6: every box is larger than the image and covers it; the
     * image shrinks inside the frame, so the border is partly bg and the values stay in
     * range; at crop_max 1 no box is larger than the image */
    enum { S = 28 };
    rt_train_config c;
    rt_config_init(&c);
    set(&c, "augment.crop", "1");
    set(&c, "augment.crop_max", "1.6");
    float bg[1] = { -0.5f };
    CHECK(rt_augment_init(&a, &c, 1, S, S, bg, err, sizeof err) == 0, "%s", err);
    a.crop = 1.4;   /* the settings' crop is at most 1: the box's lower scale, set here */
    int bigger = 0, covers = 0;
    for (int t = 0; t < 200; t++) {
        int top, left, h, w;
        rt_augment_crop_box(&a, &r, &top, &left, &h, &w);
        bigger += (double)h * w > 1.35 * S * S;
        covers += top <= 0 && left <= 0 && top + h >= S && left + w >= S;
    }
    CHECK(bigger == 200 && covers > 150, "crop above 1: %d of 200 boxes larger than the image, %d covering it", bigger,
          covers);
    float sq[S * S], sq2[S * S];
    for (int i = 0; i < S * S; i++)
        sq[i] = 1.0f;
    memcpy(sq2, sq, sizeof sq);
    rt_augment_image(&a, sq2, &r);
    double border = 0;
    int inrange = 1;
    for (int i = 0; i < S; i++)
        border += sq2[i] + sq2[(S - 1) * S + i] + sq2[i * S] + sq2[i * S + S - 1];
    for (int i = 0; i < S * S; i++)
        inrange &= sq2[i] >= -0.5f - 1e-5f && sq2[i] <= 1.0f + 1e-5f;
    CHECK(border / (4 * S) < 0.9 && sq2[S / 2 * S + S / 2] == 1.0f && inrange,
          "zoom out: border mean %g (want bg in it), centre %g", border / (4 * S), sq2[S / 2 * S + S / 2]);
    rt_augment_free(&a);
    a = make_aug("augment.crop", "0.5", 1, S, S);
    int outside = 0;
    for (int t = 0; t < 500; t++) {
        int top, left, h, w;
        rt_augment_crop_box(&a, &r, &top, &left, &h, &w);
        outside += top < 0 || left < 0 || top + h > S || left + w > S;
    }
    CHECK(outside == 0, "crop_max 1: %d boxes outside the image", outside);
    rt_augment_free(&a);

    /* erase's box: area within [0.1, 0.2] of the image and aspect within [0.5, 2], up to
     * the rounding of its sides; the defaults reach beyond both */
    rt_config_init(&c);
    set(&c, "augment.erase", "1");
    set(&c, "augment.erase_scale_min", "0.2");   /* either way round */
    set(&c, "augment.erase_scale_max", "0.1");
    set(&c, "augment.erase_ratio_min", "0.5");
    set(&c, "augment.erase_ratio_max", "2");
    enum { E = 64 };
    CHECK(rt_augment_init(&a, &c, 1, E, E, bg, err, sizeof err) == 0, "%s", err);
    double amin = 1, amax = 0, rmin = 100, rmax = 0;
    for (int t = 0; t < 2000; t++) {
        int top, left, h, w;
        if (!rt_augment_erase_box(&a, &r, &top, &left, &h, &w))
            continue;
        double area = (double)h * w / (E * E), ratio = (double)h / w;
        amin = area < amin ? area : amin;
        amax = area > amax ? area : amax;
        rmin = ratio < rmin ? ratio : rmin;
        rmax = ratio > rmax ? ratio : rmax;
        CHECK(top >= 0 && left >= 0 && top + h <= E && left + w <= E, "erase box outside the image");
    }
    CHECK(amin > 0.085 && amin < 0.11 && amax > 0.19 && amax < 0.215 && rmin > 0.45 && rmin < 0.55 && rmax > 1.8 &&
              rmax < 2.2,
          "erase box: area in [%g, %g], aspect in [%g, %g]; want [0.1, 0.2], [0.5, 2]", amin, amax, rmin, rmax);
    rt_augment_free(&a);
    printf("  ok: augment shift_fraction (interpolated), crop_max > 1 (zoom out), erase area and aspect ranges\n");
}

/* ---- sampling, soft targets, MixUp ---- */

static void test_sampling(void)
{
    rt_rng r;
    rt_rng_seed(&r, 5, 9);
    const int N = 100000;
    double alphas[] = { 0.2, 1.0, 3.5 };
    for (int k = 0; k < 3; k++) {
        double s = 0;
        for (int i = 0; i < N; i++)
            s += rt_rng_gamma(&r, alphas[k]);
        CHECK(fabs(s / N - alphas[k]) < 0.03 * fmax(1, alphas[k]), "Gamma(%g) mean %g", alphas[k], s / N);
    }
    double s = 0, ss = 0;
    int outside = 0;
    for (int i = 0; i < N; i++) {
        double b = rt_rng_beta(&r, 0.2, 0.2);
        outside += !(b >= 0 && b <= 1);
        s += b;
        ss += b * b;
    }
    CHECK(outside == 0, "%d Beta variates outside [0, 1]", outside);
    double mean = s / N, var = ss / N - mean * mean, want_var = 0.04 / (0.16 * 1.4);
    CHECK(fabs(mean - 0.5) < 0.01 && fabs(var - want_var) < 0.01, "Beta(0.2,0.2): mean %g var %g (want 0.5, %g)", mean,
          var, want_var);

    enum { n = 4, K = 5, F = 3 };
    int32_t labels[n] = { 0, 4, 2, 2 };
    float t[n * K];
    rt_soft_targets(t, labels, n, K, 0.1f, 1.0f, 0);
    for (int i = 0; i < n; i++) {
        float sum = 0;
        for (int k = 0; k < K; k++)
            sum += t[i * K + k];
        CHECK(fabsf(sum - 1) < 1e-6f && fabsf(t[i * K + labels[i]] - 0.92f) < 1e-6f, "smoothed row %d", i);
    }
    float x[n * F], xm[n * F];
    uint32_t perm[n];
    for (int i = 0; i < n * F; i++)
        x[i] = (float)(i / F);   /* image i is all i */
    float lam = rt_mixup(xm, t, perm, x, labels, n, F, K, 0.4, 0.0f, &r);
    int isperm = 1, seen[n] = { 0 };
    for (int i = 0; i < n; i++)
        seen[perm[i] < n ? perm[i] : 0]++;
    for (int i = 0; i < n; i++)
        isperm &= seen[i] == 1;
    CHECK(isperm, "mixup: perm is a permutation");
    for (int i = 0; i < n; i++) {
        float want = lam * (float)i + (1 - lam) * (float)perm[i];
        CHECK(fabsf(xm[i * F] - want) < 1e-5f, "mixup image %d: %g, want %g", i, xm[i * F], want);
        float sum = 0;
        for (int k = 0; k < K; k++)
            sum += t[i * K + k];
        CHECK(fabsf(sum - 1) < 1e-5f, "mixup targets row %d sums to %g", i, sum);
        CHECK(t[i * K + labels[i]] >= lam - 1e-6f, "mixup target of the image's own label");
    }

    /* pairs: each image its own lambda, so they differ within a batch; the image and the
     * smoothed targets mixed by it; the same seed gives the same bits */
    enum { P = 16 };
    float xa[P * F], xb[P * F], xa2[P * F], tp[P * K], tp2[P * K], lp[P], lp2[P];
    int32_t la[P], lb[P];
    for (int i = 0; i < P; i++) {
        la[i] = i % K;
        lb[i] = (i + 2) % K;
        for (int p = 0; p < F; p++) {
            xa[i * F + p] = (float)i;
            xb[i * F + p] = 100.0f + (float)i;
        }
    }
    memcpy(xa2, xa, sizeof xa);
    rt_rng r1, r2;
    rt_rng_seed(&r1, 9, 4);
    rt_rng_seed(&r2, 9, 4);
    rt_mixup_pairs(xa, tp, lp, xb, la, lb, P, F, K, 0.4, 0.1f, &r1);
    rt_mixup_pairs(xa2, tp2, lp2, xb, la, lb, P, F, K, 0.4, 0.1f, &r2);
    float lmin = 1, lmax = 0;
    int mixed_bad = 0, target_bad = 0;
    for (int i = 0; i < P; i++) {
        lmin = lp[i] < lmin ? lp[i] : lmin;
        lmax = lp[i] > lmax ? lp[i] : lmax;
        for (int p = 0; p < F; p++)
            mixed_bad += fabsf(xa[i * F + p] - (lp[i] * (float)i + (1 - lp[i]) * (100.0f + (float)i))) > 1e-4f;
        for (int k = 0; k < K; k++) {
            float ta = k == la[i] ? 0.92f : 0.02f, tb = k == lb[i] ? 0.92f : 0.02f;
            target_bad += fabsf(tp[i * K + k] - (lp[i] * ta + (1 - lp[i]) * tb)) > 1e-6f;
        }
    }
    CHECK(lmax - lmin > 0.3f, "mixup pairs: lambdas within a batch span only [%g, %g]", lmin, lmax);
    CHECK(mixed_bad == 0 && target_bad == 0, "mixup pairs: %d pixels, %d targets not mixed by their lambda", mixed_bad,
          target_bad);
    CHECK(!memcmp(xa, xa2, sizeof xa) && !memcmp(tp, tp2, sizeof tp) && !memcmp(lp, lp2, sizeof lp),
          "mixup pairs: the same seed gave different bits");
    printf("  ok: Gamma, Beta moments; soft targets; MixUp in a batch, MixUp of pairs (a lambda an image)\n");
}

/* ---- images ---- */

static void write_png(const char *path, int color, int W, int H, const uint8_t *hwc)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)W;
    img.height = (png_uint_32)H;
    img.format = color ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    CHECK(png_image_write_to_file(&img, path, 0, hwc, 0, NULL), "png write: %s", img.message);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void test_images(void)
{
    char path[1024];
    rt_image img;
    /* P5 */
    uint8_t p5[64];
    int len = snprintf((char *)p5, sizeof p5, "P5\n# comment\n3 2\n255\n");
    uint8_t px[6] = { 0, 10, 20, 30, 40, 255 };
    memcpy(p5 + len, px, 6);
    snprintf(path, sizeof path, "%s", scratch_path("a.pgm"));
    write_whole(path, p5, (size_t)len + 6);
    CHECK(rt_image_read(path, &img, err, sizeof err) == 0, "%s", err);
    CHECK(img.C == 1 && img.W == 3 && img.H == 2 && !memcmp(img.pixels, px, 6), "P5 contents");
    rt_image_free(&img);
    /* P2 with maxval 15 */
    snprintf(path, sizeof path, "%s", scratch_path("b.pgm"));
    const char *p2 = "P2 2 2 15\n0 15\n 5 10\n";
    write_whole(path, p2, strlen(p2));
    CHECK(rt_image_read(path, &img, err, sizeof err) == 0, "%s", err);
    CHECK(img.W == 2 && img.H == 2 && img.pixels[0] == 0 && img.pixels[1] == 255 && img.pixels[2] == 85 &&
              img.pixels[3] == 170,
          "P2 scaled to 0..255");
    rt_image_free(&img);
    /* P2 cut inside its last number ("10" -> "1"): truncated, not a last pixel of 1 */
    write_whole(path, p2, strlen(p2) - 2);
    CHECK(rt_image_read(path, &img, err, sizeof err) != 0 && strstr(err, "truncated: the file ends inside the value of "
                                                                     "pixel 3 of 4"),
          "P2 cut inside its last number: %s", err);
    CHECK(rt_image_read_mem("mem.pgm", p2, strlen(p2), &img, err, sizeof err) == 0 && img.pixels[3] == 170,
          "P2 from memory: %s", err);
    rt_image_free(&img);
    /* truncated P5 */
    snprintf(path, sizeof path, "%s", scratch_path("c.pgm"));
    write_whole(path, p5, (size_t)len + 3);
    CHECK(rt_image_read(path, &img, err, sizeof err) != 0 && strstr(err, "truncated"), "truncated P5: %s", err);
    /* PNG gray and RGB: planar result */
    uint8_t hwc[2 * 3 * 3];
    for (int i = 0; i < 18; i++)
        hwc[i] = (uint8_t)(i * 10);
    snprintf(path, sizeof path, "%s", scratch_path("d.png"));
    write_png(path, 1, 3, 2, hwc);
    CHECK(rt_image_read(path, &img, err, sizeof err) == 0, "%s", err);
    CHECK(img.C == 3 && img.W == 3 && img.H == 2 && img.pixels[0] == 0 && img.pixels[1] == 30 && img.pixels[6] == 10 &&
              img.pixels[12] == 20,
          "RGB PNG as planar CHW");
    rt_image_free(&img);
    snprintf(path, sizeof path, "%s", scratch_path("e.png"));
    write_png(path, 0, 3, 2, hwc);
    CHECK(rt_image_read(path, &img, err, sizeof err) == 0 && img.C == 1 && img.pixels[5] == 50, "gray PNG: %s", err);
    rt_image_free(&img);
    /* not an image, missing */
    snprintf(path, sizeof path, "%s", scratch_path("f.txt"));
    write_whole(path, "hello", 5);
    CHECK(rt_image_read(path, &img, err, sizeof err) != 0 && strstr(err, "not a PGM"), "text file: %s", err);
    snprintf(path, sizeof path, "%s", scratch_path("none.png"));
    CHECK(rt_image_read(path, &img, err, sizeof err) != 0 && strstr(err, "cannot open"), "missing: %s", err);
    /* IDX item with its labels file beside it */
    uint8_t idx[16 + 3 * 4], lab[8 + 3];
    put_be32(idx, 0x803);
    put_be32(idx + 4, 3);
    put_be32(idx + 8, 2);
    put_be32(idx + 12, 2);
    for (int i = 0; i < 12; i++)
        idx[16 + i] = (uint8_t)i;
    put_be32(lab, 0x801);
    put_be32(lab + 4, 3);
    lab[8] = 7;
    lab[9] = 8;
    lab[10] = 9;
    snprintf(path, sizeof path, "%s", scratch_path("t-images-idx3-ubyte"));
    write_whole(path, idx, sizeof idx);
    snprintf(path, sizeof path, "%s", scratch_path("t-labels-idx1-ubyte"));
    write_whole(path, lab, sizeof lab);
    snprintf(path, sizeof path, "%s", scratch_path("t-images-idx3-ubyte:2"));
    CHECK(rt_image_read(path, &img, err, sizeof err) == 0, "%s", err);
    CHECK(img.W == 2 && img.H == 2 && img.pixels[0] == 8 && img.label == 9, "IDX item 2 and its label");
    rt_image_free(&img);
    snprintf(path, sizeof path, "%s", scratch_path("t-images-idx3-ubyte:3"));
    CHECK(rt_image_read(path, &img, err, sizeof err) != 0 && strstr(err, "no item 3"), "IDX item out of range: %s",
          err);
    printf("  ok: PGM P5/P2, PNG gray/RGB, IDX items, errors\n");
}

/* ---- the command line, on a fake model ---- */

static void fake_init(rt_net *net, uint64_t seed)
{
    (void)net;
    (void)seed;
}

static float fake_train(rt_net *net, const float *x, const int32_t *labels, const float *targets, int n, float *probs)
{
    (void)net;
    (void)x;
    (void)labels;
    (void)targets;
    for (int i = 0; i < n * 3; i++)
        probs[i] = 1.0f / 3;
    return 1.0f;
}

static float fake_eval(rt_net *net, const float *x, const int32_t *labels, int n, float *probs)
{
    return fake_train(net, x, labels, NULL, n, probs);
}

static const rt_tensor_info fake_tensors[] = { { "fc.weight", 2, { 3, 16, 0, 0 }, 0, 1 } };
static const rt_model fake = {
    .name = "Fake", .hash = 1, .in_c = 1, .in_h = 4, .in_w = 4, .classes = 3, .max_batch = 8, .nparams = 48,
    .arena_bytes = 64, .infer_arena_bytes = 64, .ntensors = 1, .tensors = fake_tensors,
    .settings = "optimizer=adam\nlr=0.01\nbatch=8\n", .init = fake_init, .train_step = fake_train,
    .evaluate = fake_eval,
};

static int run_cli(const char *a1, const char *a2, const char *a3)
{
    char *argv[] = { "fake", (char *)a1, (char *)a2, (char *)a3, NULL };
    int argc = 1 + (a1 != NULL) + (a2 != NULL) + (a3 != NULL);
    fflush(stdout);
    return rt_trainer_main(&fake, argc, argv);
}

/* ---- evaluation on transformed data, on an oracle model ----
 * The oracle sees the fraction m of white in an image and answers [1 - m, m]: images
 * are all black (class 0) or all white (class 1), so a MixUp of a black and a white one
 * is answered [lambda, 1 - lambda] (or the reverse): right for the label weighing more,
 * and its loss against the mixed labels is the binary entropy of lambda. */

static float oracle_eval(rt_net *net, const float *x, const int32_t *labels, int n, float *probs)
{
    (void)net;
    double loss = 0;
    for (int i = 0; i < n; i++) {
        double m = 0;
        for (int p = 0; p < 16; p++)
            m += x[i * 16 + p] / 16.0;
        probs[2 * i] = (float)(1 - m);
        probs[2 * i + 1] = (float)m;
        if (labels)
            loss -= log(fmax(probs[2 * i + labels[i]], 1e-30));
    }
    return (float)(loss / n);
}

static void test_eval_xform(void)
{
    enum { N = 40 };
    static uint8_t pixels[N * 16];
    static int32_t labels[N];
    for (int i = 0; i < N; i++) {
        labels[i] = i % 3 == 0;
        memset(pixels + i * 16, labels[i] ? 255 : 0, 16);
    }
    rt_dataset ds = { .n = N, .C = 1, .H = 4, .W = 4, .num_classes = 2, .pixels = pixels, .labels = labels };
    rt_model m = { .name = "Oracle", .in_c = 1, .in_h = 4, .in_w = 4, .classes = 2, .max_batch = 8,
                   .evaluate = oracle_eval };
    rt_train_config c;
    rt_config_init(&c);
    rt_batch_xform xf;
    rt_eval_buffers eb;
    CHECK(rt_trainer_xform(&xf, &ds, &c, &m, err, sizeof err) == 0 && rt_eval_buffers_alloc(&eb, &m) == 0, "%s", err);
    double l0, a0, l1, a1, l2, a2, l3, a3;
    rt_eval_xform none = { NULL, 0, 1 }, mix = { NULL, 0.4, 1 }, other = { NULL, 0.4, 2 };
    CHECK(rt_trainer_evaluate(&m, NULL, &xf, &ds, NULL, ds.n, &eb, &l0, &a0, NULL, err, sizeof err) == 0 &&
              rt_trainer_evaluate_xformed(&m, NULL, &xf, &ds, NULL, ds.n, &none, &l1, &a1, NULL, err, sizeof err) == 0 &&
              l0 == l1 && a0 == a1 && a0 == 1.0,
          "no transform: %g %g, as plain %g %g", l1, a1, l0, a0);
    uint64_t conf[4] = { 0 };
    CHECK(rt_trainer_evaluate_xformed(&m, NULL, &xf, &ds, NULL, ds.n, &mix, &l2, &a2, conf, err, sizeof err) == 0 &&
              a2 == 1.0 && l2 > 0.05 && l2 < log(2.0) && conf[1] == 0 && conf[2] == 0 && conf[0] + conf[3] == N,
          "mixed: accuracy %g against the label weighing more, loss %g (an entropy), confusion %llu %llu %llu %llu", a2,
          l2, (unsigned long long)conf[0], (unsigned long long)conf[1], (unsigned long long)conf[2],
          (unsigned long long)conf[3]);
    CHECK(rt_trainer_evaluate_xformed(&m, NULL, &xf, &ds, NULL, ds.n, &mix, &l3, &a3, NULL, err, sizeof err) == 0 && l3 == l2,
          "mixed again: loss %g, first %g", l3, l2);
    CHECK(rt_trainer_evaluate_xformed(&m, NULL, &xf, &ds, NULL, ds.n, &other, &l3, &a3, NULL, err, sizeof err) == 0 && l3 != l2,
          "another seed: loss %g, as the first seed's %g", l3, l2);
    rt_eval_buffers_free(&eb);
    printf("  ok: evaluation unchanged without a transform; MixUp'ed: accuracy against the label weighing more, "
           "loss against the mixed labels, seeded\n");
}

static void test_cli(void)
{
    /* the help goes to stdout: keep the test log short */
    int saved = dup(1);
    FILE *sink = freopen("/dev/null", "w", stdout);
    (void)sink;
    int help = run_cli("--help", NULL, NULL);
    int train_help = run_cli("train", "--help", NULL);
    int none = run_cli(NULL, NULL, NULL);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    CHECK(help == 0 && train_help == 0, "--help exits 0 (%d, %d)", help, train_help);
    CHECK(none == 2, "no command: exit 2, got %d", none);
    CHECK(run_cli("trian", NULL, NULL) == 2, "unknown command: exit 2");
    CHECK(run_cli("train", "--lrr", "0.1") == 2, "unknown option: exit 2");
    CHECK(run_cli("train", "--lr", "abc") == 2, "bad value: exit 2");
    CHECK(run_cli("train", "--lr", NULL) == 2, "missing value: exit 2");
    CHECK(run_cli("train", "--batch=9", "--epochs=0") == 1, "batch over max_batch: exit 1");
    CHECK(run_cli("train", "--no-lr", NULL) == 2, "--no- on a non-boolean: exit 2");
    CHECK(run_cli("eval", NULL, NULL) == 2, "eval without --ckpt: exit 2");
    CHECK(run_cli("eval", "--ckpt", "/nonexistent.ckpt") == 1, "eval of a missing checkpoint: exit 1");
    CHECK(run_cli("predict", "--ckpt", "x") == 2, "predict without files: exit 2");
    CHECK(run_cli("export", "--ckpt", "x") == 2, "export without --npz: exit 2");
    CHECK(run_cli("info", "stray", NULL) == 2, "unexpected argument: exit 2");
    printf("  ok: command line exit codes\n");
}

int main(void)
{
    setenv("NETC_NO_REEXEC", "1", 1);
    scratch_open("netc_test_trainer");
    test_schedules();
    test_schedule_golden();
    test_schedule_units();
    test_config();
    test_channels();
    test_augment();
    test_augment_ranges();
    test_sampling();
    test_images();
    test_eval_xform();
    test_cli();
    scratch_close();
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
