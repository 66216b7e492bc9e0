// flow-dpm.h: the multi-step SANA sampler, DPM-Solver++ on flow-matching sigmas.
//
// Mirrors diffusers src/diffusers/schedulers/scheduling_dpmsolver_multistep.py
// (DPMSolverMultistepScheduler.set_timesteps with use_flow_sigmas, convert_model_output for
// prediction_type "flow_prediction", dpm_solver_first_order_update and
// multistep_dpm_solver_second_order_update for algorithm_type "dpmsolver++", step's choice of
// order) and the denoising loop of pipelines/sana/pipeline_sana.py and
// pipeline_sana_controlnet.py (SanaPipeline / SanaControlNetPipeline.__call__). Spec:
// ../shared/spec/transformer-sampler.md section 3.6.
//
// Schedule (float64 as numpy computes it, then float32 sigmas):
//   s_i = 1 - linspace(1, 1/T, n + 1)[i]; sigma = flip(shift s / (1 + (shift - 1) s))[:-1]
//   timesteps = int64(sigma * T) (truncated), sigmas = float32(sigma ++ [0])    (T = 1000)
// Step i (flow convention x = (1 - sigma) x0 + sigma eps, v = eps - x0; alpha = 1 - sigma,
// lambda = log(alpha) - log(sigma), h = lambda_{i+1} - lambda_i, all float32):
//   m_i = x - sigma_i v                          (the data prediction)
//   first order (i = 0, the last step, or solver_order 1):
//     x = (sigma_{i+1} / sigma_i) x - alpha_{i+1} (e^-h - 1) m_i
//   second order (otherwise): r = (lambda_i - lambda_{i-1}) / h, D1 = (1 / r)(m_i - m_{i-1}),
//     midpoint: x = (sigma_{i+1} / sigma_i) x - alpha_{i+1} (e^-h - 1) m_i
//                   - 0.5 alpha_{i+1} (e^-h - 1) D1
//     heun:     ... + alpha_{i+1} ((e^-h - 1) / h + 1) D1
// The last step (sigma_{i+1} = 0) gives lambda = +inf, e^-h = 0, and x = m_i exactly.
// The loop draws no noise: the initial latents are the only random numbers (plain randn, no
// sigma_data scaling; init_noise_sigma is 1).
//
// What it is not: it knows no model (the velocity is a callback, which does classifier-free
// guidance and the ControlNet); solver_order 3, the SDE variants, Karras/exponential/beta/lu
// sigmas and thresholding are refused when the config asks for them (config.h).
#ifndef SANA_FLOW_DPM_H
#define SANA_FLOW_DPM_H

#include <stdbool.h>
#include <stdint.h>

#include "../arena.h"
#include "../backend.h"
#include "../config.h"

#define SANA_FLOW_DPM_MAX_STEPS 1000

// sigmas (steps + 1 floats) and timesteps (steps int64) for `steps` in 1..min(1000,
// num_train_timesteps). Errors name the value and the accepted range.
sana_status sana_flow_dpm_set_timesteps(const sana_flow_dpm_config *c, int steps, float *sigmas,
                                        int64_t *timesteps, sana_error *err);

typedef struct sana_flow_dpm_model {
    // v (B, C, h, w) = the guided flow velocity (upstream's noise_pred after CFG) at x for
    // step i, whose scheduler timestep is t (0..num_train_timesteps).
    void (*velocity)(void *user, sana_tensor *v, const sana_tensor *x, int step, int64_t t);
    // After step i with the new latent x. Return false to cancel. May be NULL.
    bool (*step_done)(void *user, int step, const sana_tensor *x);
    void *user;
} sana_flow_dpm_model;

// Runs the loop. x (B, C, h, w): in, the initial latents (randn); out, the final latents (the
// pipeline's output_type="latent"). Returns SANA_STATUS_CANCELLED when step_done says so;
// backend failures surface through sana_backend_sync.
sana_status sana_flow_dpm_sample(sana_backend *be, sana_arena *arena, const sana_flow_dpm_config *c,
                                 const float *sigmas, const int64_t *timesteps, int steps,
                                 const sana_flow_dpm_model *model, sana_tensor *x, sana_error *err);

#endif // SANA_FLOW_DPM_H
