// test-flow-dpm-parity: the multi-step SANA sampler against diffusers' DPMSolverMultistepScheduler
// with flow sigmas (flow_prediction, dpmsolver++), in fp32.
//
// usage: test-flow-dpm-parity FIXTURE_DIR
// FIXTURE_DIR (tests/reference/gen_controlnet.py) holds scheduler/scheduler_config.json as SANA
// saves it, schedule.safetensors (sigmas and int64 timesteps for each step count and shift in
// cases.json), and steps.safetensors (per case: the initial sample, the model output injected at
// each step, and the latents the scheduler's step() returned). Timesteps must be equal; sigmas
// within 1 ulp-ish (1e-6 relative); latents within max|d|/max|ref| <= 1e-5, cos >= 0.999999.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

#include "../common/compare.h"
#include "../common/fixture.h"
#include "ops.h"
#include "sampler/flow-dpm.h"
#include "util.h"

typedef struct run_state {
    sana_backend *be;
    const sana_safetensors *ref;
    const char *name;
    int failures;
} run_state;

static void velocity(void *user, sana_tensor *v, const sana_tensor *x, int step, int64_t t) {
    run_state *s = user;
    (void)x, (void)t;
    char key[128];
    snprintf(key, sizeof key, "%s.v.%d", s->name, step);
    sana_upload(s->be, v, fx_get(s->ref, key).data);
}

static bool step_done(void *user, int step, const sana_tensor *x) {
    run_state *s = user;
    char key[128];
    snprintf(key, sizeof key, "%s.latents.%d", s->name, step);
    sana_tensor ref = fx_get(s->ref, key);
    float *got = fx_download(s->be, x);
    if (!compare_report(key, got, ref.data, (size_t)sana_tensor_numel(&ref), 1e-5, 0.999999)) s->failures++;
    free(got);
    return true;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURE_DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    char path[4096];
    sana_error err = {0};
    int failures = 0;

    // The scheduler config SANA ships: flow_shift 3, order 2, midpoint.
    sana_flow_dpm_config sana;
    fx_check(sana_flow_dpm_config_load(sana_path_join(path, sizeof path, dir, "scheduler/scheduler_config.json"), &sana,
                                       &err),
             &err, "scheduler config");
    const bool cfg_ok = sana.flow_shift == 3.0 && sana.solver_order == 2 && !sana.heun && sana.num_train_timesteps == 1000;
    printf("%s scheduler_config.json: shift %g, order %d, %s, T %d\n", cfg_ok ? "ok  " : "FAIL", sana.flow_shift,
           sana.solver_order, sana.heun ? "heun" : "midpoint", sana.num_train_timesteps);
    failures += !cfg_ok;

    snprintf(path, sizeof path, "%s/cases.json", dir);
    yyjson_doc *doc = yyjson_read_file(path, 0, NULL, NULL);
    yyjson_val *root = doc ? yyjson_doc_get_root(doc) : NULL;
    yyjson_val *steps = yyjson_obj_get(root, "steps"), *shifts = yyjson_obj_get(root, "shifts"),
               *cases = yyjson_obj_get(root, "cases");
    if (!yyjson_is_arr(steps) || !yyjson_is_arr(shifts) || !yyjson_is_arr(cases)) {
        fprintf(stderr, "FAIL %s: cannot read the cases\n", path);
        return 1;
    }

    // Schedules: every step count x shift.
    sana_safetensors *sched = fx_open(sana_path_join(path, sizeof path, dir, "schedule.safetensors"));
    size_t i, n, j, m;
    yyjson_val *sv, *nv;
    int schedules = 0, sched_fail = 0;
    yyjson_arr_foreach(shifts, i, n, sv) {
        yyjson_arr_foreach(steps, j, m, nv) {
            const int ns = (int)yyjson_get_int(nv);
            const double shift = yyjson_get_num(sv);
            sana_flow_dpm_config c = sana;
            c.flow_shift = shift;
            float *sig = malloc(sizeof(float) * (size_t)(ns + 1));
            int64_t *ts = malloc(sizeof(int64_t) * (size_t)ns);
            fx_check(sana_flow_dpm_set_timesteps(&c, ns, sig, ts, &err), &err, "set_timesteps");
            char key[64];
            snprintf(key, sizeof key, "%d.%g.sigmas", ns, shift);
            sana_tensor rs = fx_get(sched, key);
            snprintf(key, sizeof key, "%d.%g.timesteps", ns, shift);
            sana_tensor rt = fx_get_as(sched, key, SANA_DTYPE_I64);
            bool ok = sana_tensor_numel(&rs) == ns + 1 && sana_tensor_numel(&rt) == ns;
            double worst = 0;
            for (int k = 0; ok && k <= ns; k++) {
                const float r = ((const float *)rs.data)[k];
                const double d = fabs((double)sig[k] - r) / fmax(fabs(r), 1e-30);
                worst = fmax(worst, d);
                if (d > 1e-6 || (k < ns && ts[k] != ((const int64_t *)rt.data)[k])) {
                    printf("FAIL schedule %d steps, shift %g: index %d sigma %.9g vs %.9g, timestep %lld vs %lld\n",
                           ns, shift, k, sig[k], r, k < ns ? (long long)ts[k] : -1LL,
                           k < ns ? (long long)((const int64_t *)rt.data)[k] : -1LL);
                    ok = false;
                }
            }
            schedules++;
            sched_fail += !ok;
            free(sig);
            free(ts);
        }
    }
    printf("%s %d schedules (sigmas, int64 timesteps) equal to diffusers\n", sched_fail ? "FAIL" : "ok  ", schedules);
    failures += sched_fail;

    // Loops with injected model outputs.
    sana_backend *be = fx_backend("cpu", false);
    sana_arena *arena = sana_arena_new(be, 0);
    run_state s = {.be = be, .ref = fx_open(sana_path_join(path, sizeof path, dir, "steps.safetensors"))};
    yyjson_val *cv;
    yyjson_arr_foreach(cases, i, n, cv) {
        s.name = yyjson_get_str(yyjson_obj_get(cv, "name"));
        const int ns = (int)yyjson_get_int(yyjson_obj_get(cv, "steps"));
        sana_flow_dpm_config c = sana;
        c.flow_shift = yyjson_get_num(yyjson_obj_get(cv, "flow_shift"));
        c.solver_order = (int)yyjson_get_int(yyjson_obj_get(cv, "solver_order"));
        c.heun = strcmp(yyjson_get_str(yyjson_obj_get(cv, "solver_type")), "heun") == 0;
        float *sig = malloc(sizeof(float) * (size_t)(ns + 1));
        int64_t *ts = malloc(sizeof(int64_t) * (size_t)ns);
        fx_check(sana_flow_dpm_set_timesteps(&c, ns, sig, ts, &err), &err, "set_timesteps");
        char key[128];
        snprintf(key, sizeof key, "%s.x", s.name);
        sana_tensor x = fx_upload(be, arena, s.ref, key);
        sana_flow_dpm_model model = {.velocity = velocity, .step_done = step_done, .user = &s};
        fx_check(sana_flow_dpm_sample(be, arena, &c, sig, ts, ns, &model, &x, &err), &err, "sample");
        free(sig);
        free(ts);
    }
    fx_check(sana_backend_sync(be, &err), &err, "backend");
    failures += s.failures;

    printf("%s: %d failure(s)\n", dir, failures);
    sana_arena_free(arena);
    sana_st_free((sana_safetensors *)s.ref);
    sana_st_free(sched);
    sana_backend_free(be);
    yyjson_doc_free(doc);
    return failures ? 1 : 0;
}
