"""A full-size SANA-Sprint 0.6B model folder with random weights, for bench_pipeline.py.

Diffusers layout, as users download it: model_index.json, scheduler/, transformer/ (a
SanaTransformer2DModel with the published Sprint 0.6B config, random bf16 weights scaled by
1/sqrt(fan-in), never zeros), and text_encoder/, tokenizer/, vae/ hard-linked from the folders
tests/bench/gen_gemma_bench.py and make_dcae_weights.py --fp32 wrote (random full-size Gemma-2-2B
with a 256000-piece tokenizer; random DC-AE f32c32, fp32 as the Sprint checkpoints ship it).
About 7.5 GB; never commit it.

usage: python tests/bench/make_sprint_bench.py OUT --gemma DIR --vae DIR
"""

import argparse
import json
import os

import torch
from diffusers import SanaTransformer2DModel, SCMScheduler

SPRINT_0_6B = dict(
    in_channels=32, out_channels=32, num_attention_heads=36, attention_head_dim=32, num_layers=28,
    num_cross_attention_heads=16, cross_attention_head_dim=72, cross_attention_dim=1152, caption_channels=2304,
    mlp_ratio=2.5, dropout=0.0, attention_bias=False, sample_size=32, patch_size=1, norm_elementwise_affine=False,
    norm_eps=1e-6, interpolation_scale=None, guidance_embeds=True, guidance_embeds_scale=0.1,
    qk_norm="rms_norm_across_heads", timestep_scale=1.0,
)


def link_tree(src, dst):
    os.makedirs(dst, exist_ok=True)
    for name in os.listdir(src):
        target = os.path.join(dst, name)
        if not os.path.exists(target):
            os.link(os.path.join(src, name), target)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--gemma", required=True, help="folder with text_encoder/ and tokenizer/")
    ap.add_argument("--vae", required=True, help="AutoencoderDC folder (config.json + weights)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    model = SanaTransformer2DModel(**SPRINT_0_6B).eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and p.ndim == 1:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif p.ndim == 1:
                p.copy_(0.02 * torch.randn(p.shape, generator=g))
            elif name.endswith("scale_shift_table"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p[0].numel() ** 0.5)
    model.to(torch.bfloat16).save_pretrained(os.path.join(a.out, "transformer"), safe_serialization=True)
    SCMScheduler(num_train_timesteps=1000, prediction_type="trigflow", sigma_data=0.5).save_pretrained(
        os.path.join(a.out, "scheduler"))
    link_tree(os.path.join(a.gemma, "text_encoder"), os.path.join(a.out, "text_encoder"))
    link_tree(os.path.join(a.gemma, "tokenizer"), os.path.join(a.out, "tokenizer"))
    link_tree(a.vae, os.path.join(a.out, "vae"))
    with open(os.path.join(a.out, "model_index.json"), "w") as f:
        json.dump({"_class_name": "SanaSprintPipeline", "_diffusers_version": "0.42.1",
                   "scheduler": ["diffusers", "SCMScheduler"], "text_encoder": ["transformers", "Gemma2Model"],
                   "tokenizer": ["transformers", "GemmaTokenizerFast"],
                   "transformer": ["diffusers", "SanaTransformer2DModel"], "vae": ["diffusers", "AutoencoderDC"]},
                  f, indent=2)
    print(a.out)


if __name__ == "__main__":
    main()
