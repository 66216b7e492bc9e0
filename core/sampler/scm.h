// scm.h: the SCM / TrigFlow sampler of SANA-Sprint.
//
// Mirrors diffusers src/diffusers/schedulers/scheduling_scm.py (SCMScheduler.set_timesteps,
// step with prediction_type "trigflow") and the denoising loop of
// pipelines/sana/pipeline_sana_sprint.py (SanaSprintPipeline.__call__), including the
// training-free flow-to-TrigFlow transformation around the model call (paper Prop. 3.1) and
// the order of operations. Spec: ../shared/spec/transformer-sampler.md section 2.
//
// One deliberate difference: diffusers raises when intermediate_timesteps is set and steps != 2
// (and its pipeline default is 1.3, so 1, 3 and 4 steps fail unless the caller passes None,
// diffusers issue #11136). Here the intermediate timestep applies to 2 steps only and other
// step counts use the linspace schedule, as NVlabs' SCMScheduler does.
//
// What it is not: it knows no model. The velocity model and the noise source are callbacks.
#ifndef SANA_SCM_H
#define SANA_SCM_H

#include <stdbool.h>

#include "../arena.h"
#include "../backend.h"
#include "../config.h"

#define SANA_SCM_MAX_STEPS 16
#define SANA_SCM_DEFAULT_MAX_TIMESTEP 1.57080f          // float32: 1.5707999467849731
#define SANA_SCM_DEFAULT_INTERMEDIATE_TIMESTEP 1.3f

// The schedule T (steps + 1 values, descending to 0): [max, intermediate, 0] when steps == 2
// and intermediate is a number, else linspace(max, 0, steps + 1) in float32 as torch computes
// it. intermediate may be NAN ("None"). Errors name the argument and its accepted range.
sana_status sana_scm_set_timesteps(int steps, float max_timestep, float intermediate_timestep,
                                   float *t_out, sana_error *err);

// The flow time the model is called with at TrigFlow time s: sin s / (cos s + sin s).
float sana_scm_flow_time(float s);

typedef struct sana_scm_model {
    // v (B, C, h, w) = the model's flow velocity at x_in for flow time tau.
    void (*velocity)(void *user, sana_tensor *v, const sana_tensor *x_in, float tau);
    // z (B, C, h, w) = standard normal noise for step i (0-based). Called once per step whose
    // next time is not 0; the reference also draws one for the last step (t = 0), where it is
    // multiplied by sin 0 = 0 and the generator is not read again, so that draw is skipped.
    void (*noise)(void *user, sana_tensor *z, int step);
    // After step i: the new latent x and the denoised x0. Return false to cancel. May be NULL.
    bool (*step_done)(void *user, int step, const sana_tensor *x, const sana_tensor *x0);
    void *user;
} sana_scm_model;

// Runs the loop over T[0..steps-1]. x (B, C, h, w): in, the initial latent already scaled by
// sigma_data (x = sigma_data * randn); out, the final denoised latent divided by sigma_data
// (the pipeline's `output_type="latent"`). Returns SANA_STATUS_CANCELLED when step_done says so;
// backend failures surface through sana_backend_sync.
sana_status sana_scm_sample(sana_backend *be, sana_arena *arena, const sana_scm_config *cfg,
                            const float *timesteps, int steps, const sana_scm_model *model,
                            sana_tensor *x, sana_error *err);

#endif // SANA_SCM_H
