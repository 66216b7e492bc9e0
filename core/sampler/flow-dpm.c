// flow-dpm.c: DPM-Solver++ on flow sigmas and the multi-step loop (see flow-dpm.h).
#include "flow-dpm.h"

#include <math.h>

#include "../ops.h"
#include "../util.h"

sana_status sana_flow_dpm_set_timesteps(const sana_flow_dpm_config *c, int steps, float *sigmas,
                                        int64_t *timesteps, sana_error *err) {
    const int T = c->num_train_timesteps, max = SANA_MIN(T, SANA_FLOW_DPM_MAX_STEPS);
    if (steps < 1 || steps > max)
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "steps is %d; expected 1 to %d", steps, max);
    // alphas = np.linspace(1, 1/T, n + 1) in float64: start + i * step, the last value exactly
    // `stop` (numpy's linspace with endpoint=True).
    const int n = steps + 1;
    const double start = 1.0, stop = 1.0 / T, delta = (stop - start) / (double)(n - 1);
    const double shift = c->flow_shift;
    for (int k = 0; k < steps; k++) {
        // flip(...)[:-1]: entry k of the result is entry n - 1 - k of the forward order.
        const int i = n - 1 - k;
        const double alpha = i == n - 1 ? stop : start + (double)i * delta;
        const double s = 1.0 - alpha;
        const double sigma = shift * s / (1.0 + (shift - 1.0) * s);
        timesteps[k] = (int64_t)(sigma * (double)T); // torch .to(int64): truncation toward zero
        sigmas[k] = (float)sigma;
    }
    sigmas[steps] = 0.0f; // final_sigmas_type "zero"
    return SANA_OK;
}

// lambda = log(alpha) - log(sigma) with alpha = 1 - sigma, in float32 (+inf at sigma = 0).
static float lambda_of(float sigma) { return logf(1.0f - sigma) - logf(sigma); }

sana_status sana_flow_dpm_sample(sana_backend *be, sana_arena *arena, const sana_flow_dpm_config *c,
                                 const float *sigmas, const int64_t *timesteps, int steps,
                                 const sana_flow_dpm_model *model, sana_tensor *x, sana_error *err) {
    sana_arena_mark mark = sana_arena_get_mark(arena);
    sana_tensor v = sana_arena_tensor(arena, SANA_DTYPE_F32, x->ndim, x->shape);
    sana_tensor m_buf[2] = {sana_arena_tensor(arena, SANA_DTYPE_F32, x->ndim, x->shape),
                            sana_arena_tensor(arena, SANA_DTYPE_F32, x->ndim, x->shape)};
    sana_tensor *m_cur = &m_buf[0], *m_prev = &m_buf[1]; // model_outputs[-1], [-2]
    int lower_order_nums = 0;
    sana_status status = SANA_OK;
    for (int i = 0; i < steps; i++) {
        model->velocity(model->user, &v, x, i, timesteps[i]);
        // convert_model_output: x0_pred = sample - sigma_t * model_output
        sana_tensor *t = m_prev;
        m_prev = m_cur;
        m_cur = t;
        sana_op_axpby(be, m_cur, 1.0f, x, -sigmas[i], &v);

        const bool final_zero = true; // final_sigmas_type "zero" (the config accepts nothing else)
        const bool lower_order_final =
            i == steps - 1 && (c->euler_at_final || (c->lower_order_final && steps < 15) || final_zero);
        const float sigma_t = sigmas[i + 1], sigma_s0 = sigmas[i];
        const float alpha_t = 1.0f - sigma_t;
        const float lambda_t = lambda_of(sigma_t), lambda_s0 = lambda_of(sigma_s0);
        const float h = lambda_t - lambda_s0;
        const float c_x = sigma_t / sigma_s0, c_d0 = alpha_t * (expf(-h) - 1.0f);
        if (c->solver_order == 1 || lower_order_nums < 1 || lower_order_final) {
            // x_t = (sigma_t / sigma_s) * sample - (alpha_t * (exp(-h) - 1)) * m0
            sana_op_axpby(be, x, c_x, x, -c_d0, m_cur);
        } else {
            const float lambda_s1 = lambda_of(sigmas[i - 1]);
            const float h_0 = lambda_s0 - lambda_s1, r0 = h_0 / h;
            sana_tensor *d1 = &v; // v is dead: D1 = (1 / r0) * (m0 - m1)
            sana_op_axpby(be, d1, 1.0f, m_cur, -1.0f, m_prev);
            sana_op_axpby(be, d1, 1.0f / r0, d1, 0.0f, NULL);
            sana_op_axpby(be, x, c_x, x, -c_d0, m_cur);
            if (c->heun)
                sana_op_axpby(be, x, 1.0f, x, alpha_t * ((expf(-h) - 1.0f) / h + 1.0f), d1);
            else
                sana_op_axpby(be, x, 1.0f, x, -(0.5f * c_d0), d1);
        }
        if (lower_order_nums < c->solver_order) lower_order_nums++;
        if (model->step_done && !model->step_done(model->user, i, x)) {
            status = sana_errorf(err, SANA_STATUS_CANCELLED, "cancelled after step %d of %d", i + 1, steps);
            break;
        }
    }
    sana_arena_reset(arena, mark);
    return status;
}
