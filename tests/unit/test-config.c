// test-config: config.json parsing (SanaTransformer2DModel, SCMScheduler) and the transformer
// loader's checks of weights against the config. Each bad config gives its own one-line error
// naming the file and the key.
//
// usage: test-config DATA_DIR   (tests/data, for a real tiny checkpoint)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/check.h"
#include "config.h"
#include "models/sana-dit.h"

// The tiny Sprint config of tests/data/dit-sprint with one field replaced (or removed when
// value is NULL).
static const char *sprint_config(const char *key, const char *value) {
    static const char *fields[][2] = {
        {"_class_name", "\"SanaTransformer2DModel\""}, {"attention_bias", "false"},
        {"attention_head_dim", "8"}, {"caption_channels", "24"}, {"cross_attention_dim", "32"},
        {"cross_attention_head_dim", "16"}, {"dropout", "0.0"}, {"guidance_embeds", "true"},
        {"guidance_embeds_scale", "0.1"}, {"in_channels", "8"}, {"interpolation_scale", "null"},
        {"mlp_ratio", "2.5"}, {"norm_elementwise_affine", "false"}, {"norm_eps", "1e-06"},
        {"num_attention_heads", "4"}, {"num_cross_attention_heads", "2"}, {"num_layers", "2"},
        {"out_channels", "8"}, {"patch_size", "1"}, {"qk_norm", "\"rms_norm_across_heads\""},
        {"sample_size", "32"}, {"timestep_scale", "1.0"},
    };
    static char buf[4096];
    size_t n = 0;
    n += (size_t)snprintf(buf + n, sizeof buf - n, "{");
    bool first = true;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const char *v = fields[i][1];
        if (key && strcmp(key, fields[i][0]) == 0) v = value;
        if (!v) continue;
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\"%s\": %s", first ? "" : ", ", fields[i][0], v);
        first = false;
    }
    snprintf(buf + n, sizeof buf - n, "}");
    return buf;
}

static void expect_config_error(const char *what, const char *json, sana_status want, const char *sub) {
    const char *path = check_write("config.json", json, -1);
    sana_dit_config c;
    sana_error err = {0};
    sana_status s = sana_dit_config_load(path, &c, &err);
    check_error(what, s, &err, want, path, sub, NULL);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
        return 2;
    }
    char data[4096];
    if (!realpath(argv[1], data)) {
        perror(argv[1]);
        return 1;
    }

    // The good config, and the derived sizes.
    {
        const char *path = check_write("config.json", sprint_config(NULL, NULL), -1);
        sana_dit_config c;
        sana_error err = {0};
        sana_status s = sana_dit_config_load(path, &c, &err);
        check_true(s == SANA_OK && c.inner_dim == 32 && c.cross_inner_dim == 32 && c.ffn_dim == 80 && c.qk_norm &&
                       c.guidance_embeds && c.num_layers == 2,
                   "Sprint config and derived sizes", "%s", err.message);
        // Optional fields take upstream's constructor defaults.
        path = check_write("config.json",
                           "{\"in_channels\": 32, \"num_attention_heads\": 36, \"attention_head_dim\": 32,"
                           " \"num_layers\": 28, \"num_cross_attention_heads\": 16,"
                           " \"cross_attention_head_dim\": 72, \"cross_attention_dim\": 1152,"
                           " \"caption_channels\": 2304}",
                           -1);
        err = (sana_error){0};
        s = sana_dit_config_load(path, &c, &err);
        check_true(s == SANA_OK && !c.guidance_embeds && !c.qk_norm && c.out_channels == 32 && c.ffn_dim == 2880 &&
                       c.norm_eps == 1e-6f && c.guidance_embeds_scale == 0.1f,
                   "minimal config: defaults as upstream (0.6B sizes: F = 2880)", "%s", err.message);
    }

    expect_config_error("empty file", "", SANA_STATUS_BAD_FILE, "not valid JSON");
    expect_config_error("invalid JSON", "{\"in_channels\": 8,", SANA_STATUS_BAD_FILE, "not valid JSON");
    expect_config_error("root is not an object", "[1, 2]", SANA_STATUS_BAD_FILE, "not a JSON object");
    expect_config_error("missing required field", sprint_config("num_layers", NULL), SANA_STATUS_BAD_MODEL,
                        "missing required field \"num_layers\"");
    expect_config_error("null required field", sprint_config("caption_channels", "null"), SANA_STATUS_BAD_MODEL,
                        "\"caption_channels\"");
    expect_config_error("string where an integer belongs", sprint_config("num_layers", "\"20\""),
                        SANA_STATUS_BAD_MODEL, "field \"num_layers\" is \"20\"; expected an integer");
    expect_config_error("fractional integer", sprint_config("attention_head_dim", "8.5"), SANA_STATUS_BAD_MODEL,
                        "\"attention_head_dim\" is 8.5");
    expect_config_error("zero layers", sprint_config("num_layers", "0"), SANA_STATUS_BAD_MODEL,
                        "field \"num_layers\" is 0; expected 1 to 256");
    expect_config_error("absurd head count", sprint_config("num_attention_heads", "1000000000000"),
                        SANA_STATUS_BAD_MODEL, "\"num_attention_heads\"");
    expect_config_error("number as a string", sprint_config("mlp_ratio", "\"2.5\""), SANA_STATUS_BAD_MODEL,
                        "field \"mlp_ratio\" is \"2.5\"; expected a number");
    expect_config_error("negative eps", sprint_config("norm_eps", "-1"), SANA_STATUS_BAD_MODEL, "\"norm_eps\"");
    expect_config_error("bool as a string", sprint_config("guidance_embeds", "\"yes\""), SANA_STATUS_BAD_MODEL,
                        "field \"guidance_embeds\" is \"yes\"; expected true or false");
    expect_config_error("unknown qk_norm", sprint_config("qk_norm", "\"layer_norm\""), SANA_STATUS_UNSUPPORTED,
                        "\"qk_norm\" is \"layer_norm\"");
    expect_config_error("patch size 2", sprint_config("patch_size", "2"), SANA_STATUS_UNSUPPORTED,
                        "\"patch_size\" is 2");
    expect_config_error("2K/4K position embedding", sprint_config("interpolation_scale", "1.0"),
                        SANA_STATUS_UNSUPPORTED, "\"interpolation_scale\"");
    expect_config_error("affine norm2", sprint_config("norm_elementwise_affine", "true"), SANA_STATUS_UNSUPPORTED,
                        "\"norm_elementwise_affine\"");
    expect_config_error("cross_attention_dim != hidden size", sprint_config("cross_attention_dim", "100"),
                        SANA_STATUS_BAD_MODEL, "\"cross_attention_dim\" is 100; expected");
    expect_config_error("another model's config", sprint_config("_class_name", "\"UNet2DConditionModel\""),
                        SANA_STATUS_BAD_MODEL, "\"UNet2DConditionModel\"");

    // A missing config file.
    {
        sana_dit_config c;
        sana_error err = {0};
        sana_status s = sana_dit_config_load("/nonexistent/config.json", &c, &err);
        check_error("missing config file", s, &err, SANA_STATUS_IO, "/nonexistent/config.json", "cannot open", NULL);
    }

    // SCMScheduler
    {
        const char *path = check_write("scheduler_config.json",
                                       "{\"_class_name\": \"SCMScheduler\", \"num_train_timesteps\": 1000,"
                                       " \"prediction_type\": \"trigflow\", \"sigma_data\": 0.5}",
                                       -1);
        sana_scm_config c;
        sana_error err = {0};
        check_true(sana_scm_config_load(path, &c, &err) == SANA_OK && c.sigma_data == 0.5f,
                   "SCMScheduler config", "%s", err.message);
        path = check_write("scheduler_config.json", "{\"prediction_type\": \"epsilon\"}", -1);
        err = (sana_error){0};
        check_error("scheduler prediction_type", sana_scm_config_load(path, &c, &err), &err,
                    SANA_STATUS_UNSUPPORTED, "\"prediction_type\" is \"epsilon\"", NULL);
        path = check_write("scheduler_config.json", "{\"sigma_data\": 0}", -1);
        err = (sana_error){0};
        check_error("scheduler sigma_data", sana_scm_config_load(path, &c, &err), &err, SANA_STATUS_BAD_MODEL,
                    "\"sigma_data\" is 0", NULL);
    }

    // DPMSolverMultistepScheduler as the SANA pipelines configure it; everything else by name.
    {
        static const char *const sana_dpm =
            "{\"_class_name\": \"DPMSolverMultistepScheduler\", \"flow_shift\": 3.0, \"use_flow_sigmas\": true, "
            "\"prediction_type\": \"flow_prediction\", \"lambda_min_clipped\": -Infinity, \"variance_type\": null";
        char json[1024];
        snprintf(json, sizeof json, "%s}", sana_dpm);
        const char *path = check_write("scheduler_config.json", json, -1);
        sana_flow_dpm_config c;
        sana_error err = {0};
        check_true(sana_flow_dpm_config_load(path, &c, &err) == SANA_OK && c.flow_shift == 3.0 && c.solver_order == 2 &&
                       !c.heun && c.num_train_timesteps == 1000,
                   "DPMSolverMultistepScheduler config (with -Infinity, as Python writes it)", "%s", err.message);
        static const struct {
            const char *what, *extra, *needle;
        } bad[] = {
            {"Karras sigmas", "\"use_karras_sigmas\": true", "\"use_karras_sigmas\" is true"},
            {"SDE solver", "\"algorithm_type\": \"sde-dpmsolver++\"", "\"algorithm_type\" is \"sde-dpmsolver++\""},
            {"third order", "\"solver_order\": 3", "\"solver_order\" is 3"},
            {"sigma_min final sigma", "\"final_sigmas_type\": \"sigma_min\"", "\"final_sigmas_type\" is \"sigma_min\""},
            {"epsilon prediction", "\"prediction_type\": \"epsilon\"", "\"prediction_type\" is \"epsilon\""},
            {"no flow sigmas", "\"use_flow_sigmas\": false", "\"use_flow_sigmas\" is not true"},
            {"unknown solver type", "\"solver_type\": \"rk4\"", "\"solver_type\" is \"rk4\""},
            {"another scheduler class", "\"_class_name\": \"FlowMatchEulerDiscreteScheduler\"",
             "\"FlowMatchEulerDiscreteScheduler\"; expected \"DPMSolverMultistepScheduler\""},
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            snprintf(json, sizeof json, "{%s, %s}", bad[i].extra, sana_dpm + 1); // yyjson: the first key wins
            path = check_write("scheduler_config.json", json, -1);
            err = (sana_error){0};
            sana_status st = sana_flow_dpm_config_load(path, &c, &err);
            check_error(bad[i].what, st, &err, st == SANA_STATUS_BAD_MODEL ? SANA_STATUS_BAD_MODEL : SANA_STATUS_UNSUPPORTED,
                        bad[i].needle, NULL);
        }
    }

    // The loader checks the weights against the config: a missing key and a wrong shape.
    {
        char weights[4200];
        snprintf(weights, sizeof weights, "%s/dit-sprint/transformer/diffusion_pytorch_model.safetensors", data);
        char link[1024];
        snprintf(link, sizeof link, "%s/model/diffusion_pytorch_model.safetensors", check_tmpdir());
        check_write("model/config.json", sprint_config("num_layers", "3"), -1);
        if (symlink(weights, link) != 0) perror("symlink");
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/model", check_tmpdir());
        sana_backend *be;
        sana_error err = {0};
        sana_backend_cpu_new(1, &be, &err);
        sana_dit *m = NULL;
        sana_status s = sana_dit_load(dir, be, &m, &err);
        check_error("config with more layers than the weights", s, &err, SANA_STATUS_BAD_MODEL,
                    "diffusion_pytorch_model.safetensors", "missing tensor 'transformer_blocks.2.scale_shift_table'",
                    NULL);
        sana_dit_free(m);
        check_write("model/config.json", sprint_config("caption_channels", "25"), -1);
        err = (sana_error){0};
        s = sana_dit_load(dir, be, &m, &err);
        check_error("config and weights disagree on a shape", s, &err, SANA_STATUS_BAD_MODEL,
                    "'caption_projection.linear_1.weight' has shape [32, 24]; expected [32, 25]", NULL);
        sana_dit_free(m);
        check_write("model/config.json", sprint_config(NULL, NULL), -1);
        err = (sana_error){0};
        s = sana_dit_load(dir, be, &m, &err);
        check_true(s == SANA_OK, "the matching config loads", "%s", err.message);
        sana_dit_free(m);
        sana_backend_free(be);
    }
    return check_summary("config");
}
