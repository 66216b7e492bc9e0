"""A tiny SANA-Sprint pipeline and the images diffusers makes with it, for the end-to-end tests.

Builds a SanaSprintPipeline from tiny random-weight components with the upstream classes (the
tiny Gemma tokenizer of tests/data/tokenizer-gemma, a Gemma2Model, a Sprint-style
SanaTransformer2DModel, an AutoencoderDC with the real 32x compression, SCMScheduler), saves it
with save_pretrained (the layout users download), then generates images in fp32 on the CPU with
torch.Generator("cpu").manual_seed(seed) for 1-4 steps, square and non-square sizes, resolution
binning on and off. The results (the pipeline's PIL images) are saved as PNG in
tests/data/pipeline-sprint/reference/, the cases in cases.json.

The noise depends on PyTorch's CPU kernel variant; this runs with ATEN_CPU_CAPABILITY=default
(the scalar Box-Muller), and the tests set the same variable.

Run from the repository root (after gen_tokenizer.py):  python tests/reference/gen_pipeline.py
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from random_weights import randomize  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
OUT = os.path.join(DATA, "pipeline-sprint")

GEMMA = dict(vocab_size=1000, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
             num_key_value_heads=1, head_dim=16, query_pre_attn_scalar=16, attn_logit_softcapping=50.0,
             final_logit_softcapping=30.0, sliding_window=4096)
TRANSFORMER = dict(in_channels=4, out_channels=4, num_attention_heads=2, attention_head_dim=8, num_layers=2,
                   num_cross_attention_heads=2, cross_attention_head_dim=8, cross_attention_dim=16,
                   caption_channels=32, mlp_ratio=2.5, sample_size=32, patch_size=1,
                   qk_norm="rms_norm_across_heads", guidance_embeds=True)
VAE = dict(in_channels=3, latent_channels=4, attention_head_dim=8,
           encoder_block_types=["ResBlock"] * 3 + ["EfficientViTBlock"] * 3,
           decoder_block_types=["ResBlock"] * 3 + ["EfficientViTBlock"] * 3,
           encoder_block_out_channels=[4, 8, 8, 16, 16, 16], decoder_block_out_channels=[4, 8, 8, 16, 16, 16],
           encoder_layers_per_block=[1, 1, 1, 1, 1, 1], decoder_layers_per_block=[1, 1, 1, 1, 1, 1],
           encoder_qkv_multiscales=[[], [], [], [5], [5], [5]], decoder_qkv_multiscales=[[], [], [], [5], [5], [5]],
           upsample_block_type="interpolate", downsample_block_type="Conv", decoder_norm_types="rms_norm",
           decoder_act_fns="silu", encoder_out_shortcut=True, decoder_in_shortcut=True, decoder_conv_act_fn="relu",
           scaling_factor=0.41407)

PROMPT = "A small red fox sleeping in the snow"
# name, steps, width, height, resolution binning, seed, guidance
CASES = [
    ("steps1", 1, 256, 256, False, 11, 4.5),
    ("steps2", 2, 256, 256, False, 12, 4.5),
    ("steps3", 3, 256, 256, False, 13, 4.5),
    ("steps4", 4, 256, 256, False, 14, 4.5),
    ("nonsquare", 2, 320, 192, False, 15, 3.0),
    ("binned-square", 2, 512, 512, True, 16, 4.5),
    ("binned-nonsquare", 2, 400, 300, True, 17, 4.5),
]


def generate():
    import numpy as np
    import torch
    from transformers import AutoTokenizer, Gemma2Config, Gemma2Model

    import diffusers
    from diffusers import AutoencoderDC, SanaSprintPipeline, SanaTransformer2DModel, SCMScheduler

    assert torch.backends.cpu.get_cpu_capability() == "DEFAULT", "run through main(): ATEN_CPU_CAPABILITY=default"
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(os.path.join(DATA, "tokenizer-gemma"))
    text_encoder = Gemma2Model(Gemma2Config(**GEMMA, attn_implementation="eager")).eval()
    randomize(text_encoder, 1, 0.0)  # Gemma's (1 + w) norms: w around 0
    transformer = SanaTransformer2DModel(**TRANSFORMER).eval()
    randomize(transformer, 2, 1.0)
    vae = AutoencoderDC(**VAE).eval()
    randomize(vae, 3, 1.0)
    scheduler = SCMScheduler(num_train_timesteps=1000, prediction_type="trigflow", sigma_data=0.5)
    pipe = SanaSprintPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
                              scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)
    pipe.save_pretrained(OUT, safe_serialization=True)

    os.makedirs(os.path.join(OUT, "reference"), exist_ok=True)
    cases = []
    for name, steps, width, height, binning, seed, guidance in CASES:
        with torch.no_grad():
            out = pipe(prompt=PROMPT, num_inference_steps=steps, width=width, height=height,
                       intermediate_timesteps=1.3 if steps == 2 else None, guidance_scale=guidance,
                       use_resolution_binning=binning, generator=torch.Generator("cpu").manual_seed(seed),
                       output_type="pil")
        image = out.images[0]
        assert np.array(image).shape == (height, width, 3)
        image.save(os.path.join(OUT, "reference", name + ".png"))
        cases.append(dict(name=name, steps=steps, width=width, height=height, binning=binning, seed=seed,
                          guidance=guidance, prompt=PROMPT))
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(dict(cases=cases, generated_with=f"diffusers {diffusers.__version__}, torch {torch.__version__}, "
                                                  "ATEN_CPU_CAPABILITY=default"), f, indent=1)


def main():
    if os.environ.get("ATEN_CPU_CAPABILITY") == "default":
        generate()
    else:
        env = dict(os.environ, ATEN_CPU_CAPABILITY="default")
        subprocess.run([sys.executable, __file__], env=env, check=True)


if __name__ == "__main__":
    main()
