"""Reference fixtures for the SANA transformer and the SCM sampler.

Builds tiny random-weight SanaTransformer2DModel instances with the diffusers classes, saves
them with save_pretrained (diffusers layout), runs them in fp32 and dumps the inputs and every
module output the C model taps (module path = tap name) to taps.safetensors. For the Sprint
config it also runs SanaSprintPipeline's denoising loop for 1-4 steps and dumps the schedule,
the noise the scheduler drew, and the latents after every step to scm.safetensors.

Run from the repository root:  python tests/reference/gen_dit.py
Writes tests/data/dit-*/ (see FIXTURES below).
"""

import os
import sys

import torch
from safetensors.torch import save_file

import diffusers
from diffusers import SanaSprintPipeline, SanaTransformer2DModel, SCMScheduler
import diffusers.schedulers.scheduling_scm as scheduling_scm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from random_weights import randomize  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")

# Each fixture: transformer config, latent shape (B, C, h, w), caption length L, valid caption
# tokens per batch entry, timesteps, guidance (None for non-guidance models), weight dtype on
# disk, shard size (None: one file).
SPRINT = dict(
    in_channels=8, out_channels=8, num_attention_heads=4, attention_head_dim=8, num_layers=2,
    num_cross_attention_heads=2, cross_attention_head_dim=16, cross_attention_dim=32,
    caption_channels=24, mlp_ratio=2.5, sample_size=32, patch_size=1,
    qk_norm="rms_norm_across_heads", guidance_embeds=True,
)
SANA = dict(
    in_channels=8, out_channels=6, num_attention_heads=3, attention_head_dim=8, num_layers=3,
    num_cross_attention_heads=2, cross_attention_head_dim=16, cross_attention_dim=24,
    caption_channels=20, mlp_ratio=2.5, sample_size=32, patch_size=1,
)
FIXTURES = {
    # Sprint-style (qk-norm, guidance embedding), non-square latent, fp32 weights, plus the
    # SCM sampler fixture.
    "dit-sprint": dict(config=SPRINT, latent=(2, 8, 6, 10), L=12, valid=(12, 5),
                       timestep=[1.0000037, 0.78270799], guidance=[0.45, 0.45], dtype=torch.float32,
                       shard=None, scm=True),
    # The same architecture stored as bf16 and sharded, as the published checkpoints are: the
    # reference runs in fp32 on the bf16-rounded weights, which is what the C model computes.
    "dit-sprint-bf16": dict(config=SPRINT, latent=(1, 8, 5, 4), L=9, valid=(7,),
                            timestep=[0.5], guidance=[0.44921875], dtype=torch.bfloat16,
                            shard="40KB", scm=False),
    # Multi-step SANA style (AdaLayerNormSingle, no qk-norm), cross-attention inner size 32 !=
    # hidden size 24, out_channels != in_channels, timesteps on the 0..1000 scale.
    "dit-sana": dict(config=SANA, latent=(2, 8, 4, 7), L=10, valid=(10, 1),
                     timestep=[999.0, 417.0], guidance=None, dtype=torch.float32,
                     shard=None, scm=False),
}


def tap_modules(model):
    names = ["patch_embed", "time_embed.timestep_embedder", "time_embed.guidance_embedder",
             "time_embed.emb", "time_embed.linear", "caption_projection", "caption_norm",
             "norm_out", "proj_out"]
    for i in range(len(model.transformer_blocks)):
        names += [f"transformer_blocks.{i}.attn1", f"transformer_blocks.{i}.attn2",
                  f"transformer_blocks.{i}.ff", f"transformer_blocks.{i}"]
    modules = dict(model.named_modules())
    return [n for n in names if n in modules], modules


def run_with_taps(model, inputs):
    names, modules = tap_modules(model)
    taps, hooks = {}, []
    for n in names:
        def hook(mod, args, out, n=n):
            if isinstance(out, tuple):
                out = out[0]
            if n.endswith(".ff"):  # GLUMBConv works on (B, D, h, w); the C model on tokens (B, N, D)
                out = out.flatten(2).transpose(1, 2)
            taps[n] = out.detach().float().contiguous().clone()
        hooks.append(modules[n].register_forward_hook(hook))
    with torch.no_grad():
        out = model(**inputs, return_dict=False)[0]
    for h in hooks:
        h.remove()
    taps["output"] = out.float().contiguous()
    return taps


def make_inputs(spec, seed):
    g = torch.Generator().manual_seed(seed)
    B, C, h, w = spec["latent"]
    L = spec["L"]
    E = spec["config"]["caption_channels"]
    mask = torch.zeros(B, L, dtype=torch.int64)
    for b, n in enumerate(spec["valid"]):
        mask[b, :n] = 1
    inputs = dict(
        hidden_states=torch.randn(B, C, h, w, generator=g),
        encoder_hidden_states=torch.randn(B, L, E, generator=g),
        encoder_attention_mask=mask,
        timestep=torch.tensor(spec["timestep"], dtype=torch.float32),
    )
    if spec["guidance"] is not None:
        inputs["guidance"] = torch.tensor(spec["guidance"], dtype=torch.float32)
    return inputs


def gen_scm(model, folder, seed):
    """SanaSprintPipeline's loop (output_type="latent") for 1-4 steps; noise and latents per step."""
    scheduler = SCMScheduler(num_train_timesteps=1000, prediction_type="trigflow", sigma_data=0.5)
    scheduler.save_pretrained(os.path.join(folder, "scheduler"))
    pipe = SanaSprintPipeline(tokenizer=None, text_encoder=None, vae=None, transformer=model,
                              scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)
    g = torch.Generator().manual_seed(seed)
    B, C, h, w, L, E = 1, 8, 7, 5, 11, model.config.caption_channels
    prompt_embeds = torch.randn(B, L, E, generator=g)
    mask = torch.ones(B, L, dtype=torch.int64)
    mask[:, 8:] = 0
    latents = torch.randn(B, C, h, w, generator=g)
    out = {"input.prompt_embeds": prompt_embeds, "input.prompt_attention_mask": mask.float(),
           "input.latents": latents}

    drawn = []
    real_randn = scheduling_scm.randn_tensor

    def recording_randn(*args, **kwargs):
        z = real_randn(*args, **kwargs)
        drawn.append(z.clone())
        return z

    scheduling_scm.randn_tensor = recording_randn
    cases = [("steps1", 1, None), ("steps2", 2, 1.3), ("steps2-linspace", 2, None),
             ("steps3", 3, None), ("steps4", 4, None)]
    try:
        for name, n, inter in cases:
            drawn.clear()
            seen = []
            real_step = scheduler.step

            def recording_step(*args, **kwargs):  # latents and denoised after each step
                res = real_step(*args, **kwargs)
                seen.append((res[0].clone(), res[1].clone()))
                return res

            scheduler.step = recording_step
            res = pipe(prompt_embeds=prompt_embeds, prompt_attention_mask=mask, num_inference_steps=n,
                       intermediate_timesteps=inter, latents=latents, height=h * 32, width=w * 32,
                       use_resolution_binning=False, output_type="latent", guidance_scale=4.5,
                       generator=torch.Generator().manual_seed(seed + n))
            del scheduler.step
            out[f"{name}.timesteps"] = pipe.scheduler.timesteps.float().clone()
            for i, (lat, den) in enumerate(seen):
                out[f"{name}.noise.{i}"] = drawn[i]
                out[f"{name}.latents.{i}"] = lat
                out[f"{name}.denoised.{i}"] = den
            out[f"{name}.output"] = res.images.float()
    finally:
        scheduling_scm.randn_tensor = real_randn
    # The guidance value the pipeline feeds (fp32 prompt embeddings): float32(4.5) * 0.1
    out["guidance"] = (torch.full([1], 4.5, dtype=torch.float32) * model.config.guidance_embeds_scale)
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(folder, "scm.safetensors"))


def main():
    torch.set_num_threads(2)
    for i, (name, spec) in enumerate(FIXTURES.items()):
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        torch.manual_seed(1000 + i)
        model = SanaTransformer2DModel(**spec["config"]).eval()
        randomize(model, 2000 + i)
        if spec["dtype"] != torch.float32:  # round the weights as they are stored, compute in fp32
            model = model.to(spec["dtype"])
        save_kwargs = dict(safe_serialization=True)
        if spec["shard"]:
            save_kwargs["max_shard_size"] = spec["shard"]
        model.save_pretrained(os.path.join(folder, "transformer"), **save_kwargs)
        model = model.float()
        inputs = make_inputs(spec, 3000 + i)
        taps = run_with_taps(model, inputs)
        dump = {f"input.{k}": v.float().contiguous() for k, v in inputs.items()}
        dump.update(taps)
        save_file(dump, os.path.join(folder, "taps.safetensors"))
        if spec["scm"]:
            gen_scm(model, folder, 4000 + i)
        print(f"{name}: {len(taps)} taps, output {tuple(taps['output'].shape)}", file=sys.stderr)
    print(f"diffusers {diffusers.__version__}, torch {torch.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
