/* Reference optim kernels: the plainest correct loops, same signatures with a _ref
 * suffix (see rt_kernels.h; held to the fast kernels in optim.c by test_kernels). */
#include "kernel_util.h"

/* ---- optimizers: param, buf/m/v, grad all [n] ---- */

void rt_sgd_update_ref(float *param, float *buf, const float *grad, size_t n, float lr,
                       float momentum, float dampening, float weight_decay, int nesterov,
                       int t)
{
    for (size_t i = 0; i < n; i++) {
        float g = grad[i] + weight_decay * param[i];
        if (momentum != 0.0f) {
            if (t == 1)
                buf[i] = g;
            else
                buf[i] = momentum * buf[i] + (1.0f - dampening) * g;
            if (nesterov)
                g = g + momentum * buf[i];
            else
                g = buf[i];
        }
        param[i] -= lr * g;
    }
}

void rt_adam_update_ref(float *param, float *m, float *v, const float *grad, size_t n,
                        float lr, float beta1, float beta2, float eps, float weight_decay,
                        int t)
{
    double bias_correction1 = 1.0 - pow(beta1, t);
    double bias_correction2 = 1.0 - pow(beta2, t);
    for (size_t i = 0; i < n; i++) {
        float g = grad[i] + weight_decay * param[i];
        m[i] = beta1 * m[i] + (1.0f - beta1) * g;
        v[i] = beta2 * v[i] + (1.0f - beta2) * g * g;
        float m_hat = (float)(m[i] / bias_correction1);
        float v_hat = (float)(v[i] / bias_correction2);
        param[i] -= lr * m_hat / (sqrtf(v_hat) + eps);
    }
}

void rt_adamw_update_ref(float *param, float *m, float *v, const float *grad, size_t n,
                         float lr, float beta1, float beta2, float eps, float weight_decay,
                         int t)
{
    for (size_t i = 0; i < n; i++)
        param[i] -= lr * weight_decay * param[i];
    rt_adam_update_ref(param, m, v, grad, n, lr, beta1, beta2, eps, 0.0f, t);
}
