/* train_schedule.c — learning-rate schedules, as PyTorch's schedulers compute them.
 *
 * Each schedule is a closed-form function of the epoch (0-based) and the global optimizer
 * step (0-based) the learning rate is for.  PyTorch steps its schedulers and keeps their
 * state; a closed form needs no state beyond the position that checkpoints already hold,
 * so a resumed run cannot drift from an uninterrupted one.  The formulas are the ones the
 * PyTorch documentation gives (CosineAnnealingLR's recursive form equals its closed form
 * up to rounding):
 *   cosine         eta_min + (lr - eta_min) (1 + cos(pi e / T_max)) / 2, per epoch
 *   step           lr gamma^floor(e / step_size), per epoch
 *   warm_restarts  as cosine over T_cur / T_i, T_i = T_0 t_mult^k, restarting, per epoch
 *   cyclic         triangular: base + (max - base) max(0, 1 - |s / step_size - 2c + 1|),
 *                  c = floor(1 + s / (2 step_size)), per step s (momentum is not cycled).
 * The schedule is its enum (common/settings.def): one switch per batch, no string compare. */
#include <math.h>
#include "rt_trainer.h"

static const double PI = 3.14159265358979323846;

static double cosine(double base, double eta_min, double t_cur, double t_max)
{
    return eta_min + (base - eta_min) * (1.0 + cos(PI * t_cur / t_max)) / 2.0;
}

/* CosineAnnealingWarmRestarts: where epoch e falls in its cycle (T_cur of T_i). */
static void warm_restart_position(long long e, long long t_0, long long t_mult, long long *t_cur, long long *t_i)
{
    long long len = t_0 > 0 ? t_0 : 1;
    while (e >= len) {
        e -= len;
        if (t_mult > 1 && len < (1LL << 40))
            len *= t_mult;
    }
    *t_cur = e;
    *t_i = len;
}

double rt_lr_at(const rt_train_config *c, long long epoch, long long step)
{
    switch (c->schedule) {
    case SCHEDULE_CONSTANT: break;
    case SCHEDULE_COSINE: {
        long long t_max = c->set[SETTING_t_max] ? c->t_max : c->epochs;
        return cosine(c->lr, c->eta_min, (double)epoch, (double)(t_max > 0 ? t_max : 1));
    }
    case SCHEDULE_STEP:
        return c->lr * pow(c->gamma, (double)(epoch / (c->step_size > 0 ? c->step_size : 1)));
    case SCHEDULE_WARM_RESTARTS: {
        long long t_cur, t_i;
        warm_restart_position(epoch, c->t_0, c->t_mult, &t_cur, &t_i);
        return cosine(c->lr, c->eta_min, (double)t_cur, (double)t_i);
    }
    case SCHEDULE_CYCLIC: {
        double size = (double)(c->step_size > 0 ? c->step_size : 1);
        double cycle = floor(1.0 + (double)step / (2.0 * size));
        double x = fabs((double)step / size - 2.0 * cycle + 1.0);
        return c->base_lr + (c->max_lr - c->base_lr) * fmax(0.0, 1.0 - x);
    }
    }
    return c->lr;
}
