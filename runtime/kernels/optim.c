/* The optimizers' flat update loops over all parameters (scalar twins in optim_ref.c),
 * and the step that picks one.  Built with -fno-math-errno, like every fast kernel
 * file, so that sqrtf is an instruction and Adam's loop vectorises. */
#include "kernel_util.h"

/* ---- optimizers: param, buf/m/v, grad all [n]; the operation order follows
 * torch.optim's single-tensor code, with every branch taken outside the loop ---- */

void rt_sgd_update(float *param, float *buf, const float *grad, size_t n, float lr,
                   float momentum, float dampening, float weight_decay, int nesterov, int t)
{
    if (momentum == 0.0f) {
        for (size_t i = 0; i < n; i++)
            param[i] -= lr * (grad[i] + weight_decay * param[i]);
        return;
    }
    /* buf = g on the first step (a select, so whatever buf held is never read into it). */
    int first = t == 1;
    if (nesterov)
        for (size_t i = 0; i < n; i++) {
            float g = grad[i] + weight_decay * param[i];
            buf[i] = first ? g : momentum * buf[i] + (1.0f - dampening) * g;
            param[i] -= lr * (g + momentum * buf[i]);
        }
    else
        for (size_t i = 0; i < n; i++) {
            float g = grad[i] + weight_decay * param[i];
            buf[i] = first ? g : momentum * buf[i] + (1.0f - dampening) * g;
            param[i] -= lr * buf[i];
        }
}

/* Shared by Adam and AdamW: the moment updates (m by lerp, as torch does) and the step
 * param -= step_size * m / (sqrt(v)/sqrt(bias_correction2) + eps).  This file is built
 * with -fno-math-errno, so sqrtf is an instruction and the loop vectorises. */
typedef struct {
    float *param, *m, *v;
    const float *grad;
    float beta1, beta2, eps, weight_decay, step_size, bc2_sqrt;
} adam_job;

static void adam_range(void *ctx, size_t lo, size_t hi)
{
    const adam_job *j = ctx;
    float *param = j->param, *m = j->m, *v = j->v;
    const float *grad = j->grad;
    float beta1 = j->beta1, beta2 = j->beta2, eps = j->eps, weight_decay = j->weight_decay;
    float step_size = j->step_size, bc2_sqrt = j->bc2_sqrt;
    for (size_t i = lo; i < hi; i++) {
        float g = grad[i] + weight_decay * param[i];
        m[i] += (1.0f - beta1) * (g - m[i]);
        v[i] = v[i] * beta2 + (1.0f - beta2) * g * g;
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        param[i] -= step_size * (m[i] / denom);
    }
}

static void adam_core(float *param, float *m, float *v, const float *grad, size_t n, float lr,
                      float beta1, float beta2, float eps, float weight_decay, int t)
{
    adam_job j = { param, m, v, grad, beta1, beta2, eps, weight_decay,
                   (float)(lr / (1.0 - pow(beta1, t))), (float)sqrt(1.0 - pow(beta2, t)) };
    parallel_ranges(n, GRAIN, 16, adam_range, &j);
}

void rt_adam_update(float *param, float *m, float *v, const float *grad, size_t n, float lr,
                    float beta1, float beta2, float eps, float weight_decay, int t)
{
    adam_core(param, m, v, grad, n, lr, beta1, beta2, eps, weight_decay, t);
}

void rt_adamw_update(float *param, float *m, float *v, const float *grad, size_t n, float lr,
                     float beta1, float beta2, float eps, float weight_decay, int t)
{
    float keep = 1.0f - lr * weight_decay;
    for (size_t i = 0; i < n; i++)
        param[i] *= keep;
    adam_core(param, m, v, grad, n, lr, beta1, beta2, eps, 0.0f, t);
}

void rt_optimizer_step(rt_net *net, size_t n)
{
    const rt_hparams *h = &net->h;
    int t = (int)++net->t;
    switch (h->optimizer) {
    case RT_SGD:
        rt_sgd_update(net->params, net->opt1, net->grads, n, h->lr, h->momentum, 0.0f, h->weight_decay, h->nesterov, t);
        break;
    case RT_ADAM:
        rt_adam_update(net->params, net->opt1, net->opt2, net->grads, n, h->lr, h->beta1, h->beta2, h->eps,
                       h->weight_decay, t);
        break;
    case RT_ADAMW:
        rt_adamw_update(net->params, net->opt1, net->opt2, net->grads, n, h->lr, h->beta1, h->beta2, h->eps,
                        h->weight_decay, t);
        break;
    }
}
