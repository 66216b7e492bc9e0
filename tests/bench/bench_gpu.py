"""The GPU benchmark: our engine (`sana bench`) against diffusers' SanaSprintPipeline (bf16, eager)
on the same GPU, in the same run, on the same random full-size weights; per stage and per
transformer step with device events, end to end with the wall clock, medians of many runs after
a warm-up, peak device memory, the ratios and the goals of issue 8 (docs/performance.md).
A benchmark, never a test: it prints numbers. tests/bench/bench_gpu.sh runs every part of it in
one go on a borrowed GPU machine (no network: diffusers travels as a wheel); the parts:

  python3 tests/bench/bench_gpu.py weights DIR [--models 0.6b,1.6b] [--tiny]
      random full-size weights in diffusers layout, made with torch on the GPU (normal values
      scaled like trained ones, never zeros): DIR/gemma (Gemma-2-2B text encoder + a 256000-piece
      tokenizer), DIR/vae (DC-AE f32c32, fp32 as the Sprint checkpoints ship it), DIR/sprint-0.6b
      and DIR/sprint-1.6b (transformer + scheduler + model_index.json, the rest linked).
      --tiny: small shapes, for a smoke test of this script on a CPU.
  python3 tests/bench/bench_gpu.py diffusers MODEL --size S --steps N --runs R --json FILE
      diffusers' side, one configuration per process (its own peak memory).
  python3 tests/bench/bench_gpu.py compare OURS.png THEIRS.png
      how far our image is from diffusers' for the same prompt and seed (bf16 on both sides).
  python3 tests/bench/bench_gpu.py table DIR
      the summary table of every DIR/*.json that the parts above and `sana bench --json` wrote.
"""

import argparse
import glob
import json
import os
import statistics
import sys
import time

PROMPT = "a photo of a red fox in a snowy forest, soft morning light, detailed fur"
VOCAB = 256000
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Published configurations (diffusers scripts/convert_sana_to_diffusers.py, Sprint variants).
SPRINT = {
    "0.6b": dict(num_attention_heads=36, attention_head_dim=32, num_layers=28, num_cross_attention_heads=16,
                 cross_attention_head_dim=72, cross_attention_dim=1152),
    "1.6b": dict(num_attention_heads=70, attention_head_dim=32, num_layers=20, num_cross_attention_heads=20,
                 cross_attention_head_dim=112, cross_attention_dim=2240),
}
SPRINT_COMMON = dict(in_channels=32, out_channels=32, caption_channels=2304, mlp_ratio=2.5, dropout=0.0,
                     attention_bias=False, sample_size=32, patch_size=1, norm_elementwise_affine=False, norm_eps=1e-6,
                     interpolation_scale=None, guidance_embeds=True, guidance_embeds_scale=0.1,
                     qk_norm="rms_norm_across_heads", timestep_scale=1.0)
DCAE = dict(
    in_channels=3, latent_channels=32, attention_head_dim=32,
    encoder_block_types=["ResBlock", "ResBlock", "ResBlock", "EfficientViTBlock", "EfficientViTBlock",
                         "EfficientViTBlock"],
    decoder_block_types=["ResBlock", "ResBlock", "ResBlock", "EfficientViTBlock", "EfficientViTBlock",
                         "EfficientViTBlock"],
    encoder_block_out_channels=[128, 256, 512, 512, 1024, 1024],
    decoder_block_out_channels=[128, 256, 512, 512, 1024, 1024],
    encoder_layers_per_block=[2, 2, 2, 3, 3, 3], decoder_layers_per_block=[3, 3, 3, 3, 3, 3],
    encoder_qkv_multiscales=[[], [], [], [5], [5], [5]], decoder_qkv_multiscales=[[], [], [], [5], [5], [5]],
    upsample_block_type="interpolate", downsample_block_type="Conv", decoder_norm_types="rms_norm",
    decoder_act_fns="silu", encoder_out_shortcut=True, decoder_in_shortcut=True, decoder_conv_act_fn="relu",
    scaling_factor=0.41407,
)
GEMMA = dict(vocab_size=VOCAB, hidden_size=2304, intermediate_size=9216, num_hidden_layers=26, num_attention_heads=8,
             num_key_value_heads=4, head_dim=256)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------
# weights


def random_state(model, rule, dtype, device):
    """Random values for every entry of model's state dict (a model on the meta device: shapes
    only), made on `device` in fp32 by rule(name, shape, generator) and stored as `dtype` on the
    host."""
    import torch

    g = torch.Generator(device=device).manual_seed(0)
    out = {}
    for name, p in model.state_dict().items():
        t = rule(name, tuple(p.shape), g, device)
        t[t == 0] = 1e-3  # never zeros
        out[name] = t.to(dtype).cpu().contiguous()
    return out


def fan_in(shape):
    n = 1
    for d in shape[1:]:
        n *= d
    return max(n, 1)


def dit_rule(name, shape, g, device):  # as tests/bench/make_sprint_bench.py
    import torch

    r = torch.randn(shape, generator=g, device=device)
    if "norm" in name and len(shape) == 1:
        return 1.0 + 0.1 * r
    if name.endswith("scale_shift_table"):
        return 0.1 * r
    if len(shape) == 1:
        return 0.02 * r
    return r / fan_in(shape) ** 0.5


def vae_rule(name, shape, g, device):  # as tests/bench/make_dcae_weights.py
    import torch

    r = torch.randn(shape, generator=g, device=device)
    if "running_var" in name:
        return 1.0 + 0.1 * r.abs()
    if "norm" in name and name.endswith("weight"):
        return 1.0 + 0.2 * r
    if len(shape) == 1:
        return 0.1 * r
    return r / fan_in(shape) ** 0.5


def gemma_rule(name, shape, g, device):  # as tests/bench/gen_gemma_bench.py
    import torch

    r = torch.randn(shape, generator=g, device=device)
    if len(shape) == 1:  # RMSNorm weights, used as (1 + w)
        return 0.1 * r
    if "embed_tokens" in name:
        return r * shape[1] ** -0.5
    return r / fan_in(shape) ** 0.5


def pad_tokenizer(folder, src):
    """A tokenizer of VOCAB pieces from a small one: tokenizer.json with private-use pieces and
    their merges appended (no prompt contains them), so loading costs what the real one does."""
    import random
    import shutil

    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(src):
        if name.startswith("tokenizer"):
            shutil.copy(os.path.join(src, name), os.path.join(folder, name))
    path = os.path.join(folder, "tokenizer.json")
    with open(path) as f:
        tj = json.load(f)
    vocab, merges = tj["model"]["vocab"], tj["model"]["merges"]
    rng = random.Random(7)
    pieces = []
    for cp in range(0xE000, 0xE000 + 1024):
        if chr(cp) not in vocab:
            vocab[chr(cp)] = len(vocab)
            pieces.append(chr(cp))
    while len(vocab) < VOCAB:
        a, b = rng.choice(pieces), rng.choice(pieces)
        if a + b in vocab or len(a + b) > 12:
            continue
        vocab[a + b] = len(vocab)
        merges.append([a, b] if merges and isinstance(merges[0], list) else f"{a} {b}")
        pieces.append(a + b)
    with open(path, "w") as f:
        json.dump(tj, f, ensure_ascii=False)


def make_tokenizer(folder, tiny):
    """Gemma-like tokenization of English (a SentencePiece BPE trained on text with the complex
    human instruction, as tests/bench/gen_gemma_bench.py makes it) padded to 256000 pieces; where
    that cannot run (no sentencepiece, another transformers), the test fixture's small tokenizer
    padded the same way (prompts then take more tokens than with Gemma's)."""
    if not tiny:
        try:
            import importlib.util

            spec = importlib.util.spec_from_file_location("gen_gemma_bench", os.path.join(HERE, "gen_gemma_bench.py"))
            mod = importlib.util.module_from_spec(spec)
            argv, sys.argv = sys.argv, sys.argv[:1]
            try:
                spec.loader.exec_module(mod)
            finally:
                sys.argv = argv
            mod.tokenizer(folder)
            return "sentencepiece BPE (gen_gemma_bench.py)"
        except Exception as e:  # noqa: BLE001 - any failure: the fallback below
            log(f"  tokenizer: gen_gemma_bench.py failed ({type(e).__name__}: {e}); padding the fixture's")
    pad_tokenizer(folder, os.path.join(ROOT, "tests", "data", "pipeline-sprint", "tokenizer"))
    return "tests/data/pipeline-sprint tokenizer, padded"


def link(src, dst):
    if os.path.lexists(dst):
        os.remove(dst)
    os.symlink(os.path.relpath(src, os.path.dirname(dst)), dst)


def cmd_weights(a):
    import torch
    from safetensors.torch import save_file

    dev = "cuda" if torch.cuda.is_available() else "cpu"
    t0 = time.perf_counter()
    os.makedirs(a.dir, exist_ok=True)
    info = {"tiny": a.tiny}

    # Gemma-2-2B decoder stack (Gemma2Model: no LM head), bf16.
    from transformers import AutoTokenizer, Gemma2Config, Gemma2Model

    te = os.path.join(a.dir, "gemma", "text_encoder")
    os.makedirs(te, exist_ok=True)
    gcfg = dict(GEMMA)
    if a.tiny:
        gcfg.update(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
                    num_key_value_heads=1, head_dim=32)
    cfg = Gemma2Config(**gcfg)
    cfg.architectures = ["Gemma2Model"]
    with torch.device("meta"):
        model = Gemma2Model(cfg)
    cfg.dtype = "bfloat16"
    cfg.save_pretrained(te)
    save_file(random_state(model, gemma_rule, torch.bfloat16, dev), os.path.join(te, "model.safetensors"),
              metadata={"format": "pt"})
    log(f"  gemma: {sum(p.numel() for p in model.parameters()) / 1e9:.2f} B parameters ({time.perf_counter() - t0:.0f} s)")
    tok = os.path.join(a.dir, "gemma", "tokenizer")
    info["tokenizer"] = make_tokenizer(tok, a.tiny)
    t = AutoTokenizer.from_pretrained(tok)
    from diffusers import SanaSprintPipeline
    import inspect

    chi = inspect.signature(SanaSprintPipeline.__call__).parameters["complex_human_instruction"].default
    info["chi_tokens"] = len(t("\n".join(chi)).input_ids)
    info["prompt_tokens"] = len(t(PROMPT).input_ids)
    log(f"  tokenizer: {info['tokenizer']}, {len(t)} pieces; instruction {info['chi_tokens']} tokens, "
        f"prompt {info['prompt_tokens']}")

    # DC-AE f32c32 (SANA 1.0/1.1 architecture), fp32.
    from diffusers import AutoencoderDC, SanaTransformer2DModel, SCMScheduler

    vcfg = dict(DCAE)
    if a.tiny:
        vcfg.update(encoder_block_out_channels=[8, 8, 16, 16, 32, 32], decoder_block_out_channels=[8, 8, 16, 16, 32, 32],
                    encoder_layers_per_block=[1, 1, 1, 1, 1, 1], decoder_layers_per_block=[1, 1, 1, 1, 1, 1],
                    attention_head_dim=8)
    with torch.device("meta"):
        vae = AutoencoderDC(**vcfg)
    vdir = os.path.join(a.dir, "vae")
    os.makedirs(vdir, exist_ok=True)
    vae.save_config(vdir)
    save_file(random_state(vae, vae_rule, torch.float32, dev), os.path.join(vdir, "diffusion_pytorch_model.safetensors"),
              metadata={"format": "pt"})
    log(f"  vae: {sum(p.numel() for p in vae.parameters()) / 1e6:.0f} M parameters ({time.perf_counter() - t0:.0f} s)")

    for m in a.models.split(","):
        tcfg = dict(SPRINT_COMMON, **SPRINT[m])
        if a.tiny:
            tcfg.update(num_attention_heads=2, attention_head_dim=16, num_layers=2, num_cross_attention_heads=2,
                        cross_attention_head_dim=16, cross_attention_dim=32, caption_channels=gcfg["hidden_size"])
        with torch.device("meta"):
            tr = SanaTransformer2DModel(**tcfg)
        out = os.path.join(a.dir, f"sprint-{m}")
        tdir = os.path.join(out, "transformer")
        os.makedirs(tdir, exist_ok=True)
        tr.save_config(tdir)
        save_file(random_state(tr, dit_rule, torch.bfloat16, dev), os.path.join(tdir, "diffusion_pytorch_model.safetensors"),
                  metadata={"format": "pt"})
        SCMScheduler(num_train_timesteps=1000, prediction_type="trigflow", sigma_data=0.5).save_pretrained(
            os.path.join(out, "scheduler"))
        link(te, os.path.join(out, "text_encoder"))
        link(tok, os.path.join(out, "tokenizer"))
        link(vdir, os.path.join(out, "vae"))
        with open(os.path.join(out, "model_index.json"), "w") as f:
            json.dump({"_class_name": "SanaSprintPipeline", "_diffusers_version": "0.42.1",
                       "scheduler": ["diffusers", "SCMScheduler"], "text_encoder": ["transformers", "Gemma2Model"],
                       "tokenizer": ["transformers", "GemmaTokenizerFast"],
                       "transformer": ["diffusers", "SanaTransformer2DModel"], "vae": ["diffusers", "AutoencoderDC"]},
                      f, indent=2)
        log(f"  sprint {m}: {sum(p.numel() for p in tr.parameters()) / 1e6:.0f} M parameters "
            f"({time.perf_counter() - t0:.0f} s)")
    with open(os.path.join(a.dir, "info.json"), "w") as f:
        json.dump(info, f)
    log(f"weights in {a.dir} ({time.perf_counter() - t0:.0f} s)")


# ------------------------------------------------------------------------------------------------
# diffusers


def cmd_diffusers(a):
    import torch
    from diffusers import SanaSprintPipeline

    dev = a.device
    cuda = dev.startswith("cuda")
    t0 = time.perf_counter()
    pipe = SanaSprintPipeline.from_pretrained(a.model, torch_dtype=torch.bfloat16).to(dev)
    pipe.set_progress_bar_config(disable=True)
    if cuda:
        torch.cuda.synchronize()
    load_ms = (time.perf_counter() - t0) * 1e3
    weights = torch.cuda.memory_allocated() if cuda else 0

    # Device events around the text encoder, every transformer call and the VAE decode.
    spans = {"encode": [], "step": [], "decode": []}

    def event():
        if cuda:
            e = torch.cuda.Event(enable_timing=True)
            e.record()
            return e
        return time.perf_counter()

    def hooks(module, key):
        module.register_forward_pre_hook(lambda m, args: spans[key].append([event(), None]))
        module.register_forward_hook(lambda m, args, out: spans[key][-1].__setitem__(1, event()))

    hooks(pipe.text_encoder, "encode")
    hooks(pipe.transformer, "step")
    decode = pipe.vae.decode

    def timed_decode(*args, **kw):
        spans["decode"].append([event(), None])
        out = decode(*args, **kw)
        spans["decode"][-1][1] = event()
        return out

    pipe.vae.decode = timed_decode

    def ms(e):
        return e[0].elapsed_time(e[1]) if cuda else (e[1] - e[0]) * 1e3

    runs = []
    total_runs = a.warmup + a.runs
    for r in range(total_runs):
        for v in spans.values():
            v.clear()
        prompt = PROMPT if r == 0 or a.vary != "prompt" else f"{PROMPT}, variation {r}"
        seed = a.seed + (r if a.vary == "seed" else 0)
        g = torch.Generator("cpu").manual_seed(seed)
        if cuda:
            torch.cuda.synchronize()
        start = event()
        t = time.perf_counter()
        with torch.no_grad():
            image = pipe(prompt=prompt, num_inference_steps=a.steps, intermediate_timesteps=1.3 if a.steps == 2 else None,
                         height=a.size, width=a.size, use_resolution_binning=False, generator=g,
                         output_type="pil").images[0]
        end = event()
        if cuda:
            torch.cuda.synchronize()
        wall = (time.perf_counter() - t) * 1e3
        row = dict(run=r - a.warmup, total_ms=wall, device_total_ms=ms([start, end]),
                   encode_ms=sum(ms(e) for e in spans["encode"]), step_ms=[ms(e) for e in spans["step"]],
                   decode_ms=sum(ms(e) for e in spans["decode"]))
        row["host_ms"] = wall - row["encode_ms"] - sum(row["step_ms"]) - row["decode_ms"]
        runs.append(row)
        if r == 0 and a.png:
            image.save(a.png)
    res = dict(side="diffusers", model=a.model, size=a.size, steps=a.steps, vary=a.vary, load_ms=load_ms,
               warmup=a.warmup, runs=runs[a.warmup:], first=runs[0], weights_bytes=weights)
    if cuda:
        free, total = torch.cuda.mem_get_info()
        res.update(max_allocated=torch.cuda.max_memory_allocated(), max_reserved=torch.cuda.max_memory_reserved(),
                   device_used=total - free, device_total=total, gpu=torch.cuda.get_device_name(),
                   torch=torch.__version__)
    import diffusers
    import transformers

    res.update(diffusers=diffusers.__version__, transformers=transformers.__version__)
    with open(a.json, "w") as f:
        json.dump(res, f)
    med = statistics.median(x["total_ms"] for x in res["runs"])
    log(f"diffusers {os.path.basename(a.model)} {a.size}px {a.steps} step(s): median {med:.1f} ms over "
        f"{len(res['runs'])} runs (load {load_ms / 1e3:.1f} s)")


# ------------------------------------------------------------------------------------------------
# compare


def cmd_compare(a):
    import numpy as np
    from PIL import Image

    x = np.asarray(Image.open(a.ours).convert("RGB"), dtype=np.float64)
    y = np.asarray(Image.open(a.theirs).convert("RGB"), dtype=np.float64)
    if x.shape != y.shape:
        print(f"compare: sizes differ: {x.shape} vs {y.shape}")
        return
    d = np.abs(x - y)
    mse = float((d ** 2).mean())
    psnr = 10 * np.log10(255.0 ** 2 / mse) if mse > 0 else float("inf")
    res = dict(mean_abs=float(d.mean()), max_abs=float(d.max()), within_2=float((d <= 2).mean()), psnr=psnr)
    print(f"ours vs diffusers, same prompt and seed (bf16 both): mean |d| {res['mean_abs']:.2f}/255, max "
          f"{res['max_abs']:.0f}, {100 * res['within_2']:.1f} % of values within 2/255, PSNR {psnr:.1f} dB")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f)


# ------------------------------------------------------------------------------------------------
# table


def med(v):
    v = [x for x in v if x is not None and x >= 0]
    return statistics.median(v) if v else float("nan")


def summarize(d):
    """Medians of one configuration, either side: total, encode, per step, decode, host."""
    runs = d["runs"] if d.get("side") == "diffusers" else [r for r in d["runs"] if r["run"] >= 0]
    if d.get("side") == "diffusers":
        steps = len(runs[0]["step_ms"]) if runs else 0
        return dict(n=len(runs), total=med([r["total_ms"] for r in runs]), encode=med([r["encode_ms"] for r in runs]),
                    step=[med([r["step_ms"][i] for r in runs if len(r["step_ms"]) > i]) for i in range(steps)],
                    decode=med([r["decode_ms"] for r in runs]), host=med([r["host_ms"] for r in runs]),
                    mem=d.get("max_reserved", 0), mem_alloc=d.get("max_allocated", 0), used=d.get("device_used", 0))
    steps = len(runs[0]["step_ms"]) if runs else 0
    dev = [sum(r["device_ms"]) for r in runs]
    return dict(n=len(runs), total=med([r["total_ms"] for r in runs]), encode=med([r["device_ms"][0] for r in runs]),
                step=[med([r["step_ms"][i] for r in runs if len(r["step_ms"]) > i]) for i in range(steps)],
                denoise=med([r["device_ms"][1] for r in runs]), decode=med([r["device_ms"][2] for r in runs]),
                host=med([r["total_ms"] - x for r, x in zip(runs, dev)]), mem=d.get("mem_peak", 0),
                used=d.get("device_used", 0), graphs=runs[-1].get("graph_launches", 0) if runs else 0,
                cached=runs[-1].get("prompt_cached", False) if runs else False)


def cmd_table(a):
    files = sorted(glob.glob(os.path.join(a.dir, "*.json")))
    data = {}
    for f in files:
        try:
            with open(f) as fh:
                data[os.path.basename(f)[:-5]] = json.load(fh)
        except (OSError, ValueError) as e:
            log(f"table: {f}: {e}")
    gpu = next((d.get("gpu") for d in data.values() if d.get("gpu")), "?")
    dv = next((d for d in data.values() if d.get("side") == "diffusers"), {})
    GB = 1e9
    print()
    print(f"=== SANA-Sprint on {gpu}: ours vs diffusers {dv.get('diffusers', '?')} SanaSprintPipeline bf16 eager "
          f"(torch {dv.get('torch', '?')}, transformers {dv.get('transformers', '?')})")
    print("    same random full-size weights, same run; medians over the timed runs after a warm-up; ms; "
          "enc/step/dec: device time (events), host: wall - device")
    cases = [
        ("G1", "0.6B 1024 1 step, new prompt", "ours-0.6b-1024-s1-prompt", "diffusers-0.6b-1024-s1", 30.0, 4.0),
        ("G2", "0.6B 1024 1 step, same prompt", "ours-0.6b-1024-s1-seed", "diffusers-0.6b-1024-s1", 22.0, None),
        ("G3", "1.6B 1024 1 step, new prompt", "ours-1.6b-1024-s1-prompt", "diffusers-1.6b-1024-s1", 40.0, None),
        ("G4", "0.6B 512 1 step, new prompt", "ours-0.6b-512-s1-prompt", "diffusers-0.6b-512-s1", 10.0, None),
        ("G5", "0.6B 1024 2 steps, new prompt", "ours-0.6b-1024-s2-prompt", "diffusers-0.6b-1024-s2", None, None),
    ]
    hdr = (f"{'goal':4} {'case':31} | {'ours':>7} {'enc':>6} {'step':>6} {'dec':>6} {'host':>5} | {'diffusers':>9} "
           f"{'enc':>6} {'step':>6} {'dec':>6} {'host':>6} | {'x e2e':>6} {'x step':>6} | verdict")
    print(hdr)
    print("-" * len(hdr))
    for goal, name, ok, dk, limit, ratio in cases:
        o = summarize(data[ok]) if ok in data else None
        d = summarize(data[dk]) if dk in data else None
        if not o and not d:
            continue

        def cols(s, w):
            if not s:
                return f"{'-':>{w}} {'-':>6} {'-':>6} {'-':>6} {'-':>{5 if w == 7 else 6}}"
            st = sum(s["step"]) / max(len(s["step"]), 1)
            return f"{s['total']:{w}.1f} {s['encode']:6.2f} {st:6.2f} {s['decode']:6.2f} {s['host']:{5 if w == 7 else 6}.1f}"

        x = d["total"] / o["total"] if o and d else float("nan")
        xs = (sum(d["step"]) / len(d["step"])) / (sum(o["step"]) / len(o["step"])) if o and d and o["step"] and d["step"] \
            else float("nan")
        verdict = []
        if o and limit:
            verdict.append(f"{'MET' if o['total'] <= limit else 'MISSED'} <= {limit:.0f} ms")
        if o and d and ratio:
            verdict.append(f"{'MET' if x >= ratio else 'MISSED'} >= {ratio:.0f}x")
        print(f"{goal:4} {name:31} | {cols(o, 7)} | {cols(d, 9)} | {x:6.2f} {xs:6.2f} | {', '.join(verdict)}")
    o = data.get("ours-0.6b-1024-s1-prompt")
    d = data.get("diffusers-0.6b-1024-s1")
    if o or d:
        om = o.get("mem_peak", 0) / GB if o else float("nan")
        ou = o.get("device_used", 0) / GB if o else float("nan")
        dm = d.get("max_reserved", 0) / GB if d else float("nan")
        da = d.get("max_allocated", 0) / GB if d else float("nan")
        du = d.get("device_used", 0) / GB if d else float("nan")
        print(f"peak memory 0.6B 1024: ours {om:.2f} GB held by the engine (device used {ou:.2f} GB with the context) "
              f"[{'MET' if om <= 8 else 'MISSED'} <= 8 GB]; diffusers {dm:.2f} GB reserved / {da:.2f} GB allocated "
              f"(device used {du:.2f} GB)")
    extra = sorted(k for k in data if k.startswith("ours-extra-"))
    for k in extra:
        s = summarize(data[k])
        print(f"  {k[11:]:40} total {s['total']:7.2f}  enc {s['encode']:6.2f}  step {med(s['step']):6.2f}  "
              f"dec {s['decode']:6.2f}  graphs {s['graphs']}")
    if "compare" in data:
        c = data["compare"]
        print(f"numerics, 0.6B 1024 same prompt and seed: mean |d| {c['mean_abs']:.2f}/255, max {c['max_abs']:.0f}, "
              f"PSNR {c['psnr']:.1f} dB (random weights: a sanity check, not a gate)")
    info = data.get("info", {})
    if info:
        print(f"tokenizer: {info.get('tokenizer')}; instruction {info.get('chi_tokens')} tokens, prompt "
              f"{info.get('prompt_tokens')}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("weights")
    w.add_argument("dir")
    w.add_argument("--models", default="0.6b,1.6b")
    w.add_argument("--tiny", action="store_true")
    d = sub.add_parser("diffusers")
    d.add_argument("model")
    d.add_argument("--size", type=int, default=1024)
    d.add_argument("--steps", type=int, default=1)
    d.add_argument("--runs", type=int, default=20)
    d.add_argument("--warmup", type=int, default=3)
    d.add_argument("--seed", type=int, default=42)
    d.add_argument("--vary", default="prompt", choices=["none", "seed", "prompt"])
    d.add_argument("--device", default="cuda")
    d.add_argument("--png")
    d.add_argument("--json", required=True)
    c = sub.add_parser("compare")
    c.add_argument("ours")
    c.add_argument("theirs")
    c.add_argument("--json")
    t = sub.add_parser("table")
    t.add_argument("dir")
    a = ap.parse_args()
    {"weights": cmd_weights, "diffusers": cmd_diffusers, "compare": cmd_compare, "table": cmd_table}[a.cmd](a)


if __name__ == "__main__":
    main()
