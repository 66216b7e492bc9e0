// test-dcae-errors: AutoencoderDC config parsing, the loader's checks against the weights, and
// bad inputs to decode / encode / tiling. Each gives one line naming the file or tensor, the key
// or value, and what is accepted.
//
// usage: test-dcae-errors DATA_DIR   (tests/data, for the tiny checkpoint dcae-sana)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/check.h"
#include "config.h"
#include "models/dc-ae.h"

// The config of tests/data/dcae-sana with one field replaced (or removed when value is NULL).
static const char *dcae_config(const char *key, const char *value) {
    static const char *fields[][2] = {
        {"_class_name", "\"AutoencoderDC\""},
        {"attention_head_dim", "16"},
        {"decoder_act_fns", "\"silu\""},
        {"decoder_block_out_channels", "[8, 16, 32, 32]"},
        {"decoder_block_types", "[\"ResBlock\", \"ResBlock\", \"EfficientViTBlock\", \"EfficientViTBlock\"]"},
        {"decoder_conv_act_fn", "\"relu\""},
        {"decoder_in_shortcut", "true"},
        {"decoder_layers_per_block", "[2, 1, 1, 2]"},
        {"decoder_norm_types", "\"rms_norm\""},
        {"decoder_qkv_multiscales", "[[], [], [5], [5]]"},
        {"downsample_block_type", "\"Conv\""},
        {"encoder_block_out_channels", "[8, 16, 32, 32]"},
        {"encoder_block_types", "[\"ResBlock\", \"ResBlock\", \"EfficientViTBlock\", \"EfficientViTBlock\"]"},
        {"encoder_layers_per_block", "[1, 1, 2, 2]"},
        {"encoder_out_shortcut", "true"},
        {"encoder_qkv_multiscales", "[[], [], [5], [5]]"},
        {"in_channels", "3"},
        {"latent_channels", "4"},
        {"scaling_factor", "0.41407"},
        {"upsample_block_type", "\"interpolate\""},
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
    sana_dcae_config c;
    sana_error err = {0};
    sana_status s = sana_dcae_config_load(path, &c, &err);
    check_error(what, s, &err, want, path, sub, NULL);
}

static sana_tensor host(int64_t b, int64_t c, int64_t h, int64_t w) {
    sana_tensor t = {.dtype = SANA_DTYPE_F32, .ndim = 4, .shape = {b, c, h, w}};
    t.data = calloc((size_t)sana_tensor_numel(&t) + 1, sizeof(float));
    return t;
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

    // The good config, the published SANA one (all fields at upstream's defaults but the
    // published values), and the derived sizes.
    {
        const char *path = check_write("config.json", dcae_config(NULL, NULL), -1);
        sana_dcae_config c;
        sana_error err = {0};
        sana_status s = sana_dcae_config_load(path, &c, &err);
        check_true(s == SANA_OK && c.n_stages == 4 && c.spatial_compression_ratio == 8 && c.upsample_interpolate &&
                       !c.downsample_pixel_unshuffle && c.decoder[3].block_type == SANA_DCAE_EFFICIENTVIT_BLOCK &&
                       c.decoder[3].n_scales == 1 && c.decoder[3].scales[0] == 5 && c.decoder[0].layers == 2,
                   "tiny SANA config", "%s", err.message);
        path = check_write("config.json",
                           "{\"_class_name\": \"AutoencoderDC\", \"encoder_block_types\": [\"ResBlock\", \"ResBlock\","
                           " \"ResBlock\", \"EfficientViTBlock\", \"EfficientViTBlock\", \"EfficientViTBlock\"],"
                           " \"decoder_block_types\": [\"ResBlock\", \"ResBlock\", \"ResBlock\", \"EfficientViTBlock\","
                           " \"EfficientViTBlock\", \"EfficientViTBlock\"], \"decoder_layers_per_block\": [3, 3, 3, 3, 3, 3],"
                           " \"downsample_block_type\": \"Conv\", \"upsample_block_type\": \"interpolate\","
                           " \"scaling_factor\": 0.41407}",
                           -1);
        err = (sana_error){0};
        s = sana_dcae_config_load(path, &c, &err);
        check_true(s == SANA_OK && c.n_stages == 6 && c.spatial_compression_ratio == 32 && c.latent_channels == 32 &&
                       c.encoder[0].layers == 2 && c.encoder[5].layers == 3 && c.decoder[5].out_channels == 1024 &&
                       c.decoder[3].n_scales == 1 && c.decoder[2].n_scales == 0 && c.decoder_conv_act_fn == SANA_DCAE_RELU &&
                       c.encoder_out_shortcut && c.decoder_in_shortcut,
                   "dc-ae-f32c32-sana config: defaults as upstream", "%s", err.message);
    }

    expect_config_error("unknown block type",
                        dcae_config("encoder_block_types", "[\"ResBlock\", \"ConvNeXtBlock\", \"EfficientViTBlock\", "
                                                           "\"EfficientViTBlock\"]"),
                        SANA_STATUS_UNSUPPORTED,
                        "field \"encoder_block_types\"[1] is \"ConvNeXtBlock\"; expected \"ResBlock\" or \"EfficientViTBlock\"");
    expect_config_error("unknown block type as a single string", dcae_config("decoder_block_types", "\"ViTBlock\""),
                        SANA_STATUS_UNSUPPORTED, "field \"decoder_block_types\"[0] is \"ViTBlock\"");
    expect_config_error("block type list of the wrong length",
                        dcae_config("decoder_block_types", "[\"ResBlock\", \"ResBlock\"]"), SANA_STATUS_BAD_MODEL,
                        "expected a string or an array of 4 strings");
    expect_config_error("unknown norm", dcae_config("decoder_norm_types", "\"layer_norm\""), SANA_STATUS_UNSUPPORTED,
                        "field \"decoder_norm_types\"[0] is \"layer_norm\"; expected \"rms_norm\" or \"batch_norm\"");
    expect_config_error("unknown activation", dcae_config("decoder_act_fns", "[\"silu\", \"gelu\", \"silu\", \"silu\"]"),
                        SANA_STATUS_UNSUPPORTED, "field \"decoder_act_fns\"[1] is \"gelu\"");
    expect_config_error("misspelt down-sampling", dcae_config("downsample_block_type", "\"pixel_unshufle\""),
                        SANA_STATUS_UNSUPPORTED, "\"downsample_block_type\" is \"pixel_unshufle\"");
    expect_config_error("unknown up-sampling", dcae_config("upsample_block_type", "\"bilinear\""), SANA_STATUS_UNSUPPORTED,
                        "\"upsample_block_type\" is \"bilinear\"; expected \"pixel_shuffle\" or \"interpolate\"");
    expect_config_error("layers and channels disagree", dcae_config("encoder_layers_per_block", "[1, 1, 2]"),
                        SANA_STATUS_BAD_MODEL, "field \"encoder_layers_per_block\" has 3 entries; expected 4");
    expect_config_error("even multi-scale kernel", dcae_config("decoder_qkv_multiscales", "[[], [], [4], [5]]"),
                        SANA_STATUS_BAD_MODEL, "field \"decoder_qkv_multiscales\"[2][0] is 4; expected an odd kernel size");
    expect_config_error("encoder and decoder depths differ",
                        dcae_config("decoder_block_out_channels", "[8, 16, 32]"), SANA_STATUS_BAD_MODEL,
                        "\"decoder_layers_per_block\" has 4 entries; expected 3");
    expect_config_error("empty middle stage", dcae_config("decoder_layers_per_block", "[2, 0, 1, 2]"),
                        SANA_STATUS_UNSUPPORTED, "field \"decoder_layers_per_block\"[1] is 0");
    expect_config_error("channel step the shortcut cannot map",
                        dcae_config("encoder_block_out_channels", "[8, 24, 32, 32]"), SANA_STATUS_BAD_MODEL,
                        "encoder_block_out_channels 8 -> 24");
    expect_config_error("attention stage narrower than a head",
                        dcae_config("attention_head_dim", "64"), SANA_STATUS_BAD_MODEL,
                        "fewer than attention_head_dim 64");
    expect_config_error("latent channels that do not divide the last stage", dcae_config("latent_channels", "5"),
                        SANA_STATUS_BAD_MODEL, "not a multiple of latent_channels 5");
    expect_config_error("another model's config", dcae_config("_class_name", "\"AutoencoderKL\""), SANA_STATUS_BAD_MODEL,
                        "\"AutoencoderKL\"");
    expect_config_error("a string where channels belong", dcae_config("encoder_block_out_channels", "\"128\""),
                        SANA_STATUS_BAD_MODEL, "field \"encoder_block_out_channels\" is \"128\"");

    // A folder whose config disagrees with its weights, then the real tiny model.
    char weights[4200], link[1024], dir[1024];
    snprintf(weights, sizeof weights, "%s/dcae-sana/vae/diffusion_pytorch_model.safetensors", data);
    snprintf(link, sizeof link, "%s/vae/diffusion_pytorch_model.safetensors", check_tmpdir());
    snprintf(dir, sizeof dir, "%s/vae", check_tmpdir());
    check_write("vae/config.json", dcae_config("latent_channels", "8"), -1);
    if (symlink(weights, link) != 0) perror("symlink");
    sana_backend *be;
    sana_error err = {0};
    sana_backend_cpu_new(1, &be, &err);
    sana_dcae *m = NULL;
    sana_status s = sana_dcae_load(dir, be, SANA_DCAE_ENCODER | SANA_DCAE_DECODER, &m, &err);
    check_error("config with other latent channels than the weights", s, &err, SANA_STATUS_BAD_MODEL,
                "diffusion_pytorch_model.safetensors", "'encoder.conv_out.weight' has shape [4, 32, 3, 3]; expected [8, 32, 3, 3]",
                NULL);
    sana_dcae_free(m);
    check_write("vae/config.json", dcae_config("decoder_layers_per_block", "[2, 2, 1, 2]"), -1);
    err = (sana_error){0};
    s = sana_dcae_load(dir, be, SANA_DCAE_DECODER, &m, &err);
    check_error("config with more blocks than the weights", s, &err, SANA_STATUS_BAD_MODEL,
                "missing tensor 'decoder.up_blocks.1.2.conv1.weight'", NULL);
    sana_dcae_free(m);

    check_write("vae/config.json", dcae_config(NULL, NULL), -1);
    err = (sana_error){0};
    s = sana_dcae_load(dir, be, SANA_DCAE_DECODER, &m, &err);
    check_true(s == SANA_OK && sana_dcae_spatial_factor(m) == 8 && sana_dcae_scaling_factor(m) == 0.41407f,
               "the matching config loads (decoder only)", "%s", err.message);
    sana_arena *arena = sana_arena_new(be, 0);
    if (m) {
        sana_tensor z = host(1, 4, 3, 5), img = host(1, 3, 24, 40);
        err = (sana_error){0};
        check_true(sana_dcae_decode(m, arena, &img, &z, NULL, NULL, &err) == SANA_OK, "decode a good latent", "%s",
                   err.message);

        sana_tensor z16 = host(1, 16, 3, 5);
        err = (sana_error){0};
        check_error("latent with the wrong channel count", sana_dcae_decode(m, arena, &img, &z16, NULL, NULL, &err), &err,
                    SANA_STATUS_BAD_INPUT, "latent [1, 16, 3, 5] has 16 channels; expected 4 (latent_channels of", dir, NULL);
        sana_tensor z3 = z;
        z3.ndim = 3;
        err = (sana_error){0};
        check_error("latent that is not 4-d", sana_dcae_decode(m, arena, &img, &z3, NULL, NULL, &err), &err,
                    SANA_STATUS_BAD_INPUT, "latent is a 3-d F32 tensor", "expected F32 (B, 4, h, w)", NULL);
        sana_tensor odd = host(1, 3, 25, 40);
        err = (sana_error){0};
        check_error("image that is not a whole latent", sana_dcae_decode(m, arena, &odd, &z, NULL, NULL, &err), &err,
                    SANA_STATUS_BAD_INPUT, "image tensor is [1, 3, 25, 40]; expected F32 [1, 3, 24, 40] for latent [1, 4, 3, 5]",
                    "8 pixels per latent pixel", NULL);
        sana_dcae_tiling bad = {.mode = SANA_DCAE_TILING_ON, .tile_sample_min_height = 20};
        err = (sana_error){0};
        check_error("tile size not a multiple of the ratio", sana_dcae_decode(m, arena, &img, &z, &bad, NULL, &err), &err,
                    SANA_STATUS_BAD_INPUT, "tile_sample_min_height is 20; expected a positive multiple of 8", NULL);
        bad = (sana_dcae_tiling){.mode = SANA_DCAE_TILING_ON, .tile_sample_min_height = 32, .tile_sample_stride_height = 40};
        err = (sana_error){0};
        check_error("tile stride larger than the tile", sana_dcae_decode(m, arena, &img, &z, &bad, NULL, &err), &err,
                    SANA_STATUS_BAD_INPUT, "stride 40 x 448 exceeds the tile size 32 x 512", NULL);
        sana_dcae_plan plan;
        err = (sana_error){0};
        check_error("plan for an empty latent", sana_dcae_plan_decode(m, 0, 5, NULL, &plan, &err), &err,
                    SANA_STATUS_BAD_INPUT, "latent is 0 x 5", NULL);
        err = (sana_error){0};
        check_error("plan for an image that is not a whole latent", sana_dcae_plan_encode(m, 1004, 1000, NULL, &plan, &err),
                    &err, SANA_STATUS_BAD_INPUT, "image is 1004 x 1000 pixels; expected sides that are positive multiples of 8",
                    NULL);

        sana_tensor x = host(1, 3, 20, 40), lat = host(1, 4, 2, 5);
        err = (sana_error){0};
        check_error("encode without the encoder", sana_dcae_encode(m, arena, &lat, &x, NULL, NULL, &err), &err,
                    SANA_STATUS_BAD_INPUT, "the encoder was not loaded", NULL);
        free(z.data), free(img.data), free(z16.data), free(odd.data), free(x.data), free(lat.data);
    }
    sana_dcae_free(m);
    m = NULL;
    err = (sana_error){0};
    s = sana_dcae_load(dir, be, SANA_DCAE_ENCODER, &m, &err);
    check_true(s == SANA_OK, "the encoder alone loads", "%s", err.message);
    if (m) {
        sana_tensor x = host(1, 3, 20, 40), lat = host(1, 4, 2, 5), x4 = host(1, 4, 24, 40);
        err = (sana_error){0};
        check_error("image that is not a whole latent", sana_dcae_encode(m, arena, &lat, &x, NULL, NULL, &err), &err,
                    SANA_STATUS_BAD_INPUT, "image [1, 3, 20, 40] is 20 x 40 pixels; expected sides that are positive multiples of 8",
                    NULL);
        err = (sana_error){0};
        check_error("image with the wrong channel count", sana_dcae_encode(m, arena, &lat, &x4, NULL, NULL, &err), &err,
                    SANA_STATUS_BAD_INPUT, "image is a 4-d F32 tensor [1, 4, 24, 40]; expected F32 (B, 3, H, W)", NULL);
        sana_tensor img = host(1, 3, 24, 40);
        err = (sana_error){0};
        check_error("latent tensor of the wrong size", sana_dcae_encode(m, arena, &lat, &img, NULL, NULL, &err), &err,
                    SANA_STATUS_BAD_INPUT, "latent tensor is [1, 4, 2, 5]; expected F32 [1, 4, 3, 5]", NULL);
        err = (sana_error){0};
        check_error("decode without the decoder", sana_dcae_decode(m, arena, &img, &lat, NULL, NULL, &err), &err,
                    SANA_STATUS_BAD_INPUT, "the decoder was not loaded", NULL);
        free(x.data), free(lat.data), free(x4.data), free(img.data);
    }
    sana_dcae_free(m);
    sana_arena_free(arena);
    sana_backend_free(be);
    return check_summary("dcae-errors");
}
