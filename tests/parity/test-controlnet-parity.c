// test-controlnet-parity: SanaControlNetModel and its injection into SanaTransformer2DModel against
// diffusers, in fp32.
//
// usage: test-controlnet-parity FIXTURE_DIR
// FIXTURE_DIR (tests/reference/gen_controlnet.py) holds transformer/, controlnet/ and
// taps.safetensors: the inputs ("input.*", with a (1, C, h, w) control latent shared by a batch of
// 2 and a conditioning scale), the ControlNet's block outputs ("controlnet.transformer_blocks.k"),
// its residuals after the scale ("controlnet.controlnet_blocks.k"), the transformer's output with
// them ("output") and without ("output.no_control"), and the NVlabs wiring of the spec (section
// 4.3) over the same modules ("nvlabs.controlnet_blocks.k", "nvlabs.output"). Each must be within
// max|d|/max|ref| <= 1e-4 and cosine >= 0.99999, and every tap of the fixture must be checked.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/compare.h"
#include "../common/fixture.h"
#include "models/sana-controlnet.h"
#include "ops.h"
#include "util.h"

#define MAX_REL 1e-4
#define MIN_COS 0.99999

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURE_DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    char path[4096], cn_dir[4096];
    sana_error err = {0};
    sana_backend *be = fx_backend("cpu", false);
    sana_dit *base;
    sana_controlnet *cn;
    fx_check(sana_dit_load(sana_path_join(path, sizeof path, dir, "transformer"), be, &base, &err), &err,
             "load transformer");
    fx_check(sana_controlnet_load(sana_path_join(cn_dir, sizeof cn_dir, dir, "controlnet"), be, &cn, &err), &err,
             "load controlnet");
    fx_check(sana_controlnet_check(cn, cn_dir, base, path, &err), &err, "controlnet fits the transformer");
    printf("controlnet: %d layers, D %d, %s, %s\n", cn->trunk->config.num_layers, cn->trunk->config.inner_dim,
           cn->trunk->config.guidance_embeds ? "guidance embedding" : "no guidance embedding",
           cn->trunk->config.qk_norm ? "qk norm" : "no qk norm");
    sana_safetensors *ref = fx_open(sana_path_join(path, sizeof path, dir, "taps.safetensors"));
    sana_arena *arena = sana_arena_new(be, 0);

    sana_tensor x = fx_upload(be, arena, ref, "input.hidden_states");
    sana_tensor y = fx_upload(be, arena, ref, "input.encoder_hidden_states");
    sana_tensor t = fx_upload(be, arena, ref, "input.timestep");
    sana_tensor cond = fx_upload(be, arena, ref, "input.controlnet_cond");
    const float scale = ((const float *)fx_get(ref, "input.conditioning_scale").data)[0];
    sana_tensor mask = fx_get(ref, "input.encoder_attention_mask");
    sana_tensor g, *gp = NULL;
    if (sana_st_has(ref, "input.guidance")) {
        g = fx_upload(be, arena, ref, "input.guidance");
        gp = &g;
    }
    const int64_t B = x.shape[0], C = x.shape[1], h = x.shape[2], w = x.shape[3], N = h * w,
                  D = base->config.inner_dim;
    float *bias_h = malloc((size_t)sana_tensor_numel(&mask) * sizeof(float));
    sana_dit_mask_to_bias(bias_h, mask.data, sana_tensor_numel(&mask));
    sana_tensor bias = sana_new_f32(arena, mask.shape[0], mask.shape[1]);
    sana_upload(be, &bias, bias_h);
    free(bias_h);

    fx_taps s;
    sana_tap tap = fx_taps_begin(&s, be, ref, "controlnet.", MAX_REL, MIN_COS);
    sana_dit_caption base_cap, cn_cap;
    sana_dit_prepare_caption(base, arena, &y, &bias, &base_cap, NULL);
    sana_dit_prepare_caption(cn->trunk, arena, &y, &bias, &cn_cap, NULL);
    sana_tensor ctrl = sana_new_f32(arena, 1, N, D);
    sana_controlnet_embed_control(cn, arena, &ctrl, &cond, NULL);

    // The residuals per block (diffusers' SanaControlNetModel.forward).
    const int L = cn->trunk->config.num_layers;
    sana_tensor *res = calloc((size_t)L, sizeof *res);
    for (int k = 0; k < L; k++) res[k] = sana_new_f32(arena, B, N, D);
    sana_controlnet_forward(cn, arena, res, &x, &ctrl, scale, &cn_cap, &t, gp, &tap);

    // The transformer with them, both wirings, and without.
    sana_tensor out = sana_new_f32(arena, B, C, h, w);
    sana_controlnet_forward_base(cn, base, arena, &out, &x, &ctrl, scale, SANA_CONTROLNET_DIFFUSERS, &base_cap, &cn_cap,
                                 &t, gp, NULL, NULL);
    fx_taps_check(&s, "output", &out);
    s.prefix = "nvlabs.";
    sana_controlnet_forward_base(cn, base, arena, &out, &x, &ctrl, scale, SANA_CONTROLNET_NVLABS, &base_cap, &cn_cap,
                                 &t, gp, &tap, NULL);
    fx_taps_check(&s, "nvlabs.output", &out);
    sana_dit_forward(base, arena, &out, &x, &base_cap, &t, gp, NULL);
    fx_taps_check(&s, "output.no_control", &out);
    fx_check(sana_backend_sync(be, &err), &err, "forward");

    const int failures = fx_taps_end(&s, "input.", NULL);
    printf("%s: %d failure(s)\n", dir, failures);
    free(res);
    sana_dit_caption_free(&base_cap);
    sana_dit_caption_free(&cn_cap);
    sana_arena_free(arena);
    sana_st_free(ref);
    sana_controlnet_free(cn);
    sana_dit_free(base);
    sana_backend_free(be);
    return failures ? 1 : 0;
}
