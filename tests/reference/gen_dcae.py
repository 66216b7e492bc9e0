"""Reference fixtures for the DC-AE autoencoder (AutoencoderDC).

Builds tiny random-weight AutoencoderDC instances with the diffusers class, saves them with
save_pretrained (diffusers layout), runs them in fp32 and writes:

  taps.safetensors   batch 1: the decoder and encoder inputs and every module output the C model
                     taps (module path = tap name; "decoder.norm_out" moved back to NCHW), plus
                     output.decode / output.encode
  tiled.safetensors  batch 2, non-square: output.decode / output.encode untiled, and
                     output.tiled_decode / output.tiled_encode after enable_tiling() with the
                     small tiles of input.tile = [min_h, min_w, stride_h, stride_w] (pixels), so
                     that several rows and columns of tiles, edge tiles and blends occur

Together the two configs cover every block type and norm of the published DC-AE configs:
"dcae-sana" is dc-ae-f32c32-sana-1.x scaled down (ResBlock and EfficientViTBlock stages,
multi-scale 5x5 attention, stride-2 conv down / nearest-interpolate up blocks, RMSNorm, the
latent shortcuts); its lowest stage is small enough for upstream's quadratic attention branch.
"dcae-mix" follows dc-ae-f32c32-in/mix-1.0 (empty first stage, pixel_unshuffle/pixel_shuffle,
batch_norm and relu stages) and adds two scales, none, a head count that does not divide the
channels, no shortcuts and bf16 storage (the reference runs fp32 on the rounded weights).

Run from the repository root:  python tests/reference/gen_dcae.py
Writes tests/data/dcae-*/ (see FIXTURES below).
"""

import os
import sys

import torch
from safetensors.torch import save_file

import diffusers
from diffusers import AutoencoderDC

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")

SANA = dict(
    in_channels=3, latent_channels=4, attention_head_dim=16,
    encoder_block_types=["ResBlock", "ResBlock", "EfficientViTBlock", "EfficientViTBlock"],
    decoder_block_types=["ResBlock", "ResBlock", "EfficientViTBlock", "EfficientViTBlock"],
    encoder_block_out_channels=[8, 16, 32, 32], decoder_block_out_channels=[8, 16, 32, 32],
    encoder_layers_per_block=[1, 1, 2, 2], decoder_layers_per_block=[2, 1, 1, 2],
    encoder_qkv_multiscales=[[], [], [5], [5]], decoder_qkv_multiscales=[[], [], [5], [5]],
    upsample_block_type="interpolate", downsample_block_type="Conv",
    decoder_norm_types="rms_norm", decoder_act_fns="silu",
    encoder_out_shortcut=True, decoder_in_shortcut=True, decoder_conv_act_fn="relu",
    scaling_factor=0.41407,
)
MIX = dict(
    in_channels=3, latent_channels=8, attention_head_dim=16,
    encoder_block_types=["ResBlock", "ResBlock", "EfficientViTBlock", "EfficientViTBlock"],
    decoder_block_types=["ResBlock", "ResBlock", "EfficientViTBlock", "EfficientViTBlock"],
    encoder_block_out_channels=[6, 12, 24, 24], decoder_block_out_channels=[6, 12, 24, 24],
    encoder_layers_per_block=[0, 1, 2, 1], decoder_layers_per_block=[0, 2, 1, 1],
    encoder_qkv_multiscales=[[], [], [3, 5], []], decoder_qkv_multiscales=[[], [], [3, 5], []],
    upsample_block_type="pixel_shuffle", downsample_block_type="pixel_unshuffle",
    decoder_norm_types=["rms_norm", "batch_norm", "batch_norm", "rms_norm"],
    decoder_act_fns=["silu", "relu", "silu", "swish"],
    encoder_out_shortcut=False, decoder_in_shortcut=False, decoder_conv_act_fn="silu",
    scaling_factor=1.0,
)
# Each fixture: config, weight dtype on disk, tap latent (h, w), tiled batch latent (B, h, w),
# tile geometry [min_h, min_w, stride_h, stride_w] in pixels.
FIXTURES = {
    "dcae-sana": dict(config=SANA, dtype=torch.float32, latent=(3, 5), batch=(2, 7, 9), tile=[32, 32, 24, 24]),
    "dcae-mix": dict(config=MIX, dtype=torch.bfloat16, latent=(2, 3), batch=(2, 5, 7), tile=[24, 32, 16, 24]),
}


def randomize(model, seed):
    """Random weights everywhere (the default init leaves norms at 1 and their biases at 0)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and name.endswith("weight"):  # norm weights: around 1
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.ndim == 1:  # biases
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:  # conv kernels and matrices: unit-variance outputs
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in**0.5)
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.2 * torch.randn(b.shape, generator=g))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=g))


def tap_names(model):
    names = []
    for side, blocks in (("encoder", "down_blocks"), ("decoder", "up_blocks")):
        names += [f"{side}.conv_in", f"{side}.conv_out"]
        for i, seq in enumerate(getattr(getattr(model, side), blocks)):
            names.append(f"{side}.{blocks}.{i}")
            for j, blk in enumerate(seq):
                names.append(f"{side}.{blocks}.{i}.{j}")
                if type(blk).__name__ == "EfficientViTBlock":
                    names += [f"{side}.{blocks}.{i}.{j}.attn", f"{side}.{blocks}.{i}.{j}.conv_out"]
    return names + ["decoder.norm_out", "decoder.conv_act"]


def run_with_taps(model, fn):
    modules = dict(model.named_modules())
    taps, hooks = {}, []
    for n in tap_names(model):
        def hook(mod, args, out, n=n):
            if n == "decoder.norm_out":  # applied to x.movedim(1, -1): back to NCHW
                out = out.movedim(-1, 1)
            taps[n] = out.detach().float().contiguous().clone()
        hooks.append(modules[n].register_forward_hook(hook))
    with torch.no_grad():
        out = fn()
    for h in hooks:
        h.remove()
    return out, taps


def main():
    torch.set_num_threads(2)
    for i, (name, spec) in enumerate(FIXTURES.items()):
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        torch.manual_seed(5000 + i)
        model = AutoencoderDC(**spec["config"]).eval()
        randomize(model, 6000 + i)
        if spec["dtype"] != torch.float32:  # round the weights as they are stored, compute in fp32
            model = model.to(spec["dtype"])
        model.save_pretrained(os.path.join(folder, "vae"), safe_serialization=True)
        model = model.float()
        r = model.spatial_compression_ratio
        C, Cl = spec["config"]["in_channels"], spec["config"]["latent_channels"]
        g = torch.Generator().manual_seed(7000 + i)

        # Batch 1, every tap, decoder then encoder.
        h, w = spec["latent"]
        latent = torch.randn(1, Cl, h, w, generator=g)
        image = torch.rand(1, C, h * r, w * r, generator=g) * 2 - 1
        dec, taps = run_with_taps(model, lambda: model.decode(latent).sample)
        enc, etaps = run_with_taps(model, lambda: model.encode(image).latent)
        taps = {k: v for k, v in taps.items() if k.startswith("decoder.")}
        taps.update({k: v for k, v in etaps.items() if k.startswith("encoder.")})
        dump = {"input.latent": latent, "input.image": image, "output.decode": dec, "output.encode": enc}
        dump.update(taps)
        save_file({k: v.float().contiguous() for k, v in dump.items()}, os.path.join(folder, "taps.safetensors"))

        # Batch 2, non-square, untiled and tiled.
        B, h, w = spec["batch"]
        latent = torch.randn(B, Cl, h, w, generator=g)
        image = torch.rand(B, C, h * r, w * r, generator=g) * 2 - 1
        tile = spec["tile"]
        with torch.no_grad():
            out = {"input.latent": latent, "input.image": image,
                   "input.tile": torch.tensor(tile, dtype=torch.float32),
                   "output.decode": model.decode(latent).sample, "output.encode": model.encode(image).latent}
            model.enable_tiling(tile_sample_min_height=tile[0], tile_sample_min_width=tile[1],
                                tile_sample_stride_height=tile[2], tile_sample_stride_width=tile[3])
            out["output.tiled_decode"] = model.decode(latent).sample
            out["output.tiled_encode"] = model.encode(image).latent
            model.disable_tiling()
        d = (out["output.tiled_decode"] - out["output.decode"]).abs().max().item()
        save_file({k: v.float().contiguous() for k, v in out.items()}, os.path.join(folder, "tiled.safetensors"))
        print(f"{name}: {len(taps)} taps, decode {tuple(dec.shape)}, encode {tuple(enc.shape)}, "
              f"tiled decode differs from untiled by {d:.3g}", file=sys.stderr)
    print(f"diffusers {diffusers.__version__}, torch {torch.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
