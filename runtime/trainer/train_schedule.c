/* train_schedule.c — learning-rate schedules, as PyTorch's schedulers compute them, and
 * the `schedule` command that prints one.
 *
 * Each schedule is a closed-form function of its position p: the epoch (0-based) when
 * the schedule counts epochs, or the global optimizer step (0-based) when it counts
 * steps (schedule.unit; cyclic counts steps unless told, the others epochs).  That is
 * PyTorch's scheduler.step() called after every epoch or after every batch: the
 * learning rate of step k is the scheduler's after k calls.  PyTorch keeps state and
 * updates it; a closed form needs no state beyond the position that checkpoints already
 * hold, so a resumed run, even one resumed mid-epoch, cannot drift from an uninterrupted
 * one.  The formulas are the PyTorch documentation's (CosineAnnealingLR's recursive form
 * equals its closed form up to rounding; tests/golden/make_schedule_golden.py compares
 * them with torch's own values):
 *   cosine         eta_min + (lr - eta_min) (1 + cos(pi p / T_max)) / 2
 *   step           lr gamma^floor(p / step_size)
 *   warm_restarts  as cosine over T_cur / T_i, T_i = T_0 t_mult^k, restarting
 *   cyclic         base + (max - base) max(0, 1 - |p / step_size - 2c + 1|) scale,
 *                  c = floor(1 + p / (2 step_size)); scale 1 (triangular), 1 / 2^(c-1)
 *                  (triangular2) or gamma^p (exp_range); momentum is not cycled.
 * The schedule is its enum (common/settings.def): one switch per batch, no string compare. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "rt_trainer.h"

static const double PI = 3.14159265358979323846;

static long long at_least_1(long long n)
{
    return n > 0 ? n : 1;
}

static double cosine(double base, double eta_min, double t_cur, double t_max)
{
    return eta_min + (base - eta_min) * (1.0 + cos(PI * t_cur / t_max)) / 2.0;
}

/* CosineAnnealingWarmRestarts: where position p falls in its cycle (T_cur of T_i).
 * Equal cycles by division; growing ones are few (t_mult^k passes p in k steps). */
static void warm_restart_position(long long p, long long t_0, long long t_mult, long long *t_cur, long long *t_i)
{
    long long len = at_least_1(t_0);
    if (t_mult <= 1)
        p %= len;
    while (p >= len) {
        p -= len;
        if (len < (1LL << 40))
            len *= t_mult;
    }
    *t_cur = p;
    *t_i = len;
}

/* gamma's default is the call's own, as PyTorch's: StepLR 0.1, CyclicLR 1. */
static double gamma_of(const rt_train_config *c)
{
    return c->set[SETTING_gamma] ? c->gamma : c->schedule == SCHEDULE_STEP ? 0.1 : 1.0;
}

static double cyclic(const rt_train_config *c, long long p)
{
    double size = (double)at_least_1(c->step_size);
    double cycle = floor(1.0 + (double)p / (2.0 * size));
    double x = fabs((double)p / size - 2.0 * cycle + 1.0);
    double scale = 1.0;
    switch (c->cyclic_mode) {
    case CYCLIC_TRIANGULAR: break;
    case CYCLIC_TRIANGULAR2: scale = 1.0 / pow(2.0, cycle - 1.0); break;
    case CYCLIC_EXP_RANGE: scale = pow(gamma_of(c), (double)p); break;
    }
    return c->base_lr + (c->max_lr - c->base_lr) * fmax(0.0, 1.0 - x) * scale;
}

setting_unit rt_schedule_unit(const rt_train_config *c)
{
    if (c->set[SETTING_schedule_unit])
        return c->schedule_unit;
    return c->schedule == SCHEDULE_CYCLIC ? UNIT_STEP : UNIT_EPOCH;
}

double rt_lr_at(const rt_train_config *c, long long epoch, long long step)
{
    long long p = rt_schedule_unit(c) == UNIT_STEP ? step : epoch;
    switch (c->schedule) {
    case SCHEDULE_CONSTANT: break;
    case SCHEDULE_COSINE: {
        long long t_max = c->set[SETTING_t_max] ? c->t_max : c->epochs;
        return cosine(c->lr, c->eta_min, (double)p, (double)at_least_1(t_max));
    }
    case SCHEDULE_STEP: return c->lr * pow(gamma_of(c), (double)(p / at_least_1(c->step_size)));
    case SCHEDULE_WARM_RESTARTS: {
        long long t_cur, t_i;
        warm_restart_position(p, c->t_0, c->t_mult, &t_cur, &t_i);
        return cosine(c->lr, c->eta_min, (double)t_cur, (double)t_i);
    }
    case SCHEDULE_CYCLIC: return cyclic(c, p);
    }
    return c->lr;
}

void rt_schedule_resolve(rt_train_config *c, long long steps_per_epoch)
{
    if (c->schedule != SCHEDULE_COSINE || c->set[SETTING_t_max])
        return;
    long long t_max = at_least_1(c->epochs);
    if (rt_schedule_unit(c) == UNIT_STEP)
        t_max *= at_least_1(steps_per_epoch);
    char v[32];
    snprintf(v, sizeof v, "%lld", t_max);
    rt_config_set(c, &setting_specs[SETTING_t_max], v, NULL, 0);
}

long long rt_lr_series(const rt_train_config *c, long long epochs, long long steps_per_epoch, rt_lr_point **out)
{
    int per_step = rt_schedule_unit(c) == UNIT_STEP;
    long long spe = at_least_1(steps_per_epoch);
    *out = NULL;
    if (epochs < 0 || (per_step && epochs > RT_LR_SERIES_MAX / spe) || epochs > RT_LR_SERIES_MAX)
        return -1;
    long long n = per_step ? epochs * spe : epochs;
    rt_lr_point *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    if (!p)
        return -1;
    for (long long i = 0; i < n; i++) {
        long long epoch = per_step ? i / spe : i, step = per_step ? i : i * spe;
        p[i] = (rt_lr_point){ epoch, step, rt_lr_at(c, epoch, step) };
    }
    *out = p;
    return n;
}

/* ---- the schedule command ---- */

/* The settings the command prints the schedule of: the model's, then the options'. */
static int schedule_config(rt_train_config *c, const rt_model *m, const rt_cli_args *a, char *err, size_t errlen)
{
    rt_config_init(c);
    if (rt_config_parse_text(c, m->settings ? m->settings : "", "the model's train settings", err, errlen))
        return -1;
    for (int i = 0; i < a->ngiven; i++) {
        const setting_spec *e = rt_config_find(a->given[i].name);
        if (e && rt_config_set(c, e, a->given[i].value, err, errlen))
            return -1;
    }
    return rt_config_check(c, m, err, errlen);
}

/* The batches an epoch of training would take on c's data. */
static long long data_steps_per_epoch(const rt_train_config *c, const rt_model *m, char *err, size_t errlen)
{
    rt_data d;
    rt_split s;
    char why[1024];
    if (rt_trainer_load_data(&d, c, m, why, sizeof why))
        return rt_fail(err, errlen, "%s (give --steps-per-epoch to print the schedule without the data)", why);
    int rc = rt_trainer_split(&s, &d.train, c, why, sizeof why);
    long long n = rc ? -1 : (long long)rt_batch_count(s.ntrain, (size_t)c->batch);
    if (rc)
        rt_fail(err, errlen, "%s", why);
    else
        rt_split_free(&s);
    rt_data_free(&d);
    return n;
}

int rt_cmd_schedule(const rt_model *m, const rt_cli_args *a)
{
    rt_train_config c;
    char err[1400];
    long long spe = 0;   /* --steps-per-epoch, else the batches of an epoch on c's data */
    if (schedule_config(&c, m, a, err, sizeof err)) {
        fprintf(stderr, "%s schedule: %s\n", a->prog, err);
        return 1;
    }
    if (rt_cli_whole(a, "schedule", "steps-per-epoch", 1, LLONG_MAX, &spe))
        return 1;
    if (spe == 0 && (spe = data_steps_per_epoch(&c, m, err, sizeof err)) < 0) {
        fprintf(stderr, "%s schedule: %s\n", a->prog, err);
        return 1;
    }
    rt_schedule_resolve(&c, spe);
    rt_lr_point *p;
    long long n = rt_lr_series(&c, c.epochs, spe, &p);
    if (n < 0) {
        fprintf(stderr, "%s schedule: %lld epochs of %lld steps are too many to print\n", a->prog, c.epochs, spe);
        return 1;
    }
    printf("epoch,step,lr\n");
    for (long long i = 0; i < n; i++)
        printf("%lld,%lld,%.9g\n", p[i].epoch + 1, p[i].step + 1, p[i].lr);
    free(p);
    return 0;
}
