"""Random full-size DC-AE f32c32 (SANA 1.0/1.1 architecture) weights for bench-dcae.

Writes DIR/config.json and DIR/diffusion_pytorch_model.safetensors in diffusers layout:
AutoencoderDC with the published dc-ae-f32c32-sana-1.x config, every parameter random (normal,
scaled by 1/sqrt(fan-in); norm weights around 1; never zeros: timing on zeros flatters), stored
in bf16 by default (the core keeps the stored dtype and widens per use) or fp32 (as the Sprint
checkpoints ship their VAE) with --fp32. About 0.6 GB (bf16) / 1.25 GB (fp32). Never commit it.

usage: python tests/bench/make_dcae_weights.py DIR [--fp32]
then:  SANA_BENCH_DCAE=DIR meson test -C build --suite bench
"""

import os
import sys

import torch
from diffusers import AutoencoderDC

SANA_1_1 = dict(
    in_channels=3, latent_channels=32, attention_head_dim=32,
    encoder_block_types=["ResBlock", "ResBlock", "ResBlock", "EfficientViTBlock", "EfficientViTBlock", "EfficientViTBlock"],
    decoder_block_types=["ResBlock", "ResBlock", "ResBlock", "EfficientViTBlock", "EfficientViTBlock", "EfficientViTBlock"],
    encoder_block_out_channels=[128, 256, 512, 512, 1024, 1024],
    decoder_block_out_channels=[128, 256, 512, 512, 1024, 1024],
    encoder_layers_per_block=[2, 2, 2, 3, 3, 3], decoder_layers_per_block=[3, 3, 3, 3, 3, 3],
    encoder_qkv_multiscales=[[], [], [], [5], [5], [5]], decoder_qkv_multiscales=[[], [], [], [5], [5], [5]],
    upsample_block_type="interpolate", downsample_block_type="Conv",
    decoder_norm_types="rms_norm", decoder_act_fns="silu",
    encoder_out_shortcut=True, decoder_in_shortcut=True, decoder_conv_act_fn="relu", scaling_factor=0.41407,
)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    dtype = torch.float32 if "--fp32" in sys.argv[2:] else torch.bfloat16
    torch.manual_seed(0)
    model = AutoencoderDC(**SANA_1_1).eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.ndim == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p[0].numel() ** 0.5)
    n = sum(p.numel() for p in model.parameters())
    model.to(dtype).save_pretrained(out, safe_serialization=True, max_shard_size="10GB")
    print(f"{out}: AutoencoderDC, {n} parameters, {dtype}", file=sys.stderr)


if __name__ == "__main__":
    main()
