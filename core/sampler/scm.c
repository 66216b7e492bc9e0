// scm.c: SCM schedule and TrigFlow sampling loop (see scm.h).
#include "scm.h"

#include <math.h>

#include "../ops.h"
#include "../util.h"

sana_status sana_scm_set_timesteps(int steps, float max_timestep, float intermediate_timestep,
                                   float *t, sana_error *err) {
    if (steps < 1 || steps > SANA_SCM_MAX_STEPS)
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "steps is %d; expected 1 to %d", steps, SANA_SCM_MAX_STEPS);
    if (!(max_timestep > 0.0f && max_timestep <= 1.6f))
        return sana_errorf(err, SANA_STATUS_BAD_INPUT, "max timestep is %g; expected a value in (0, 1.6]",
                           max_timestep);
    if (steps == 2 && !isnan(intermediate_timestep)) {
        if (!(intermediate_timestep > 0.0f && intermediate_timestep < max_timestep))
            return sana_errorf(err, SANA_STATUS_BAD_INPUT, "intermediate timestep is %g; expected a value in (0, %g)",
                               intermediate_timestep, max_timestep);
        t[0] = max_timestep;
        t[1] = intermediate_timestep;
        t[2] = 0.0f;
        return SANA_OK;
    }
    // torch.linspace(start, end, n) on the CPU, float32: the first half counts up from start,
    // the second half down from end (aten/src/ATen/native/cpu/RangeFactoriesKernel.cpp).
    const int n = steps + 1, halfway = n / 2;
    const float start = max_timestep, end = 0.0f, step = (end - start) / (float)(n - 1);
    for (int i = 0; i < n; i++) t[i] = i < halfway ? start + step * (float)i : end - step * (float)(n - i - 1);
    return SANA_OK;
}

float sana_scm_flow_time(float s) { return sinf(s) / (cosf(s) + sinf(s)); }

sana_status sana_scm_sample(sana_backend *be, sana_arena *arena, const sana_scm_config *cfg,
                            const float *T, int steps, const sana_scm_model *model, sana_tensor *x,
                            sana_error *err) {
    const float sd = cfg->sigma_data;
    sana_arena_mark mark = sana_arena_get_mark(arena);
    sana_tensor x_in = sana_arena_tensor(arena, SANA_DTYPE_F32, x->ndim, x->shape);
    sana_tensor v = sana_arena_tensor(arena, SANA_DTYPE_F32, x->ndim, x->shape);
    sana_tensor x0 = sana_arena_tensor(arena, SANA_DTYPE_F32, x->ndim, x->shape);
    sana_status status = SANA_OK;
    for (int i = 0; i < steps; i++) {
        const float s = T[i], t = T[i + 1];
        // Flow time and the flow-matching input: x_in = (x / sd) * sqrt(tau^2 + (1 - tau)^2)
        const float tau = sana_scm_flow_time(s);
        const float a = sqrtf(tau * tau + (1.0f - tau) * (1.0f - tau));
        sana_op_axpby(be, &x_in, 1.0f / sd, x, 0.0f, NULL);
        sana_op_axpby(be, &x_in, a, &x_in, 0.0f, NULL);
        model->velocity(model->user, &v, &x_in, tau);
        // Flow velocity -> TrigFlow prediction: F = ((1-2tau) x_in + (1-2tau+2tau^2) v) / a * sd
        const float c1 = 1.0f - 2.0f * tau, c2 = 1.0f - 2.0f * tau + 2.0f * (tau * tau);
        sana_op_axpby(be, &v, c1, &x_in, c2, &v);
        sana_op_axpby(be, &v, sd / a, &v, 0.0f, NULL);
        // SCMScheduler.step: x0 = cos(s) x - sin(s) F; x = cos(t) x0 + sin(t) sd z
        sana_op_axpby(be, &x0, cosf(s), x, -sinf(s), &v);
        // x_in is dead: reuse it for z. At t = 0 (the last step) z is multiplied by sin(0) = 0:
        // upstream still draws it, but nothing reads the generator afterwards, so the draw and its
        // upload are skipped (x_in holds finite values, so the product is the same zero).
        if (t != 0.0f) model->noise(model->user, &x_in, i);
        sana_op_axpby(be, x, cosf(t), &x0, sinf(t) * sd, &x_in);
        if (model->step_done && !model->step_done(model->user, i, x, &x0)) {
            status = sana_errorf(err, SANA_STATUS_CANCELLED, "cancelled after step %d of %d", i + 1, steps);
            break;
        }
    }
    if (!status) sana_op_axpby(be, x, 1.0f / sd, &x0, 0.0f, NULL); // latent = denoised / sd
    sana_arena_reset(arena, mark);
    return status;
}
