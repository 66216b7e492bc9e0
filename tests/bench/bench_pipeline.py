"""Side-by-side CPU benchmark: our `sana bench` against diffusers' SanaSprintPipeline (fp32, CPU)
on the same full-size random-weight SANA-Sprint 0.6B folder (make_sprint_bench.py), per stage,
with each side's peak RSS, and the ratios. A benchmark, never a test: it prints numbers.

usage (from the repository root, on the Debian 12 host with the reference's Python packages):
  cp -al /work/bench-data/sana-sprint-0.6b build/bench-sprint   # the chroot sees the checkout only
  python tests/bench/bench_pipeline.py build/bench-sprint [--size 512] [--steps 1] [--runs 3] [--threads 2]

Our side runs `build/tools/sana bench` inside the build environment (.ci/trixie run); diffusers
runs here in a child process (so its peak RSS is its own). Both use the same number of threads,
the same prompt, size and step count, resolution binning off.
"""

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time

PROMPT = "a photo of a red fox in a snowy forest, soft morning light, detailed fur"


def diffusers_side(model, size, steps, runs, threads):
    import torch
    from diffusers import SanaSprintPipeline

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    pipe = SanaSprintPipeline.from_pretrained(model, torch_dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    load = time.perf_counter() - t0
    results = []
    for r in range(runs + 1):
        g = torch.Generator("cpu").manual_seed(42)
        with torch.no_grad():
            t = time.perf_counter()
            embeds, mask = pipe.encode_prompt(PROMPT, device="cpu")
            t_enc = time.perf_counter() - t
            t = time.perf_counter()
            latents = pipe(prompt_embeds=embeds, prompt_attention_mask=mask, num_inference_steps=steps,
                           intermediate_timesteps=1.3 if steps == 2 else None, width=size, height=size,
                           use_resolution_binning=False, generator=g, output_type="latent").images
            t_den = time.perf_counter() - t
            t = time.perf_counter()
            image = pipe.vae.decode(latents / pipe.vae.config.scaling_factor, return_dict=False)[0]
            pipe.image_processor.postprocess(image, output_type="pil")
            t_dec = time.perf_counter() - t
        results.append(dict(encode=t_enc * 1e3, denoise=t_den * 1e3, decode=t_dec * 1e3,
                            total=(t_enc + t_den + t_dec) * 1e3))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(dict(load=load * 1e3, first=results[0], runs=results[1:], peak_mb=peak)))


def ours(sana, model, size, steps, runs, threads):
    # --vary prompt: every timed run encodes a new prompt (PROMPT + ", variation N"), as diffusers
    # encodes its prompt on every call; the instruction's cache is warm after the untimed run.
    cmd = [".ci/trixie", "run", "env", f"OMP_NUM_THREADS={threads}", sana, "bench", "--model", model,
           "--prompt", PROMPT, "--vary", "prompt", "--warmup", "1", "--width", str(size), "--height", str(size),
           "--steps", str(steps), "--runs", str(runs), "--no-binning", "--device", "cpu", "--threads", str(threads)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"our side failed: {p.stderr.strip()}")
    out = p.stdout
    print(out, end="")
    stages = {}
    for key, name in (("encode", r"encode \(wall\)"), ("denoise", r"denoise \(wall\)"),
                      ("decode", r"decode \(wall\)"), ("total", "total")):
        m = re.search(rf"^\s+{name}\s+([\d.]+)\s+([\d.]+)", out, re.M)  # first, median
        if not m:
            sys.exit(f"our side: no '{name}' line in the output of sana bench")
        stages[key] = (float(m.group(1)), float(m.group(2)))
    peak = float(re.search(r"peak RSS (\d+) MB", out).group(1))
    return stages, peak


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sana", default="build/tools/sana", help="our binary, relative to the checkout")
    ap.add_argument("--child", action="store_true")
    a = ap.parse_args()
    if a.child:
        diffusers_side(a.model, a.size, a.steps, a.runs, a.threads)
        return
    print(f"SANA-Sprint 0.6B (random full-size weights), {a.size}x{a.size}, {a.steps} step(s), fp32 CPU, "
          f"{a.threads} threads, {os.cpu_count()} CPUs; first run + median of {a.runs}")
    print("--- ours (sana bench)")
    our, our_peak = ours(a.sana, a.model, a.size, a.steps, a.runs, a.threads)
    print("--- diffusers (SanaSprintPipeline, torch fp32)")
    p = subprocess.run([sys.executable, __file__, a.model, "--size", str(a.size), "--steps", str(a.steps),
                        "--runs", str(a.runs), "--threads", str(a.threads), "--child"],
                       capture_output=True, text=True, check=True)
    ref = json.loads(p.stdout.strip().splitlines()[-1])
    print(f"  loaded in {ref['load']:.0f} ms, peak RSS {ref['peak_mb']:.0f} MB")
    print(f"\n{'stage':<10} {'ours first':>11} {'theirs first':>13} {'ratio':>7}   {'ours median':>12} "
          f"{'theirs median':>14} {'ratio':>7}")
    for key in ("encode", "denoise", "decode", "total"):
        med = statistics.median(r[key] for r in ref["runs"])
        o_first, o_med = our[key]
        print(f"{key:<10} {o_first:>11.0f} {ref['first'][key]:>13.0f} {o_first / ref['first'][key]:>7.2f}   "
              f"{o_med:>12.0f} {med:>14.0f} {o_med / med:>7.2f}")
    print(f"{'peak RSS':<10} {our_peak:>10.0f}M {ref['peak_mb']:>12.0f}M {our_peak / ref['peak_mb']:>7.2f}")
    print("(ratio = ours / diffusers: below 1 is faster or smaller)")


if __name__ == "__main__":
    main()
