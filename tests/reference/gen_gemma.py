"""Reference fixtures for the Gemma-2 text encoder and SANA-Sprint's prompt encoding.

Model fixtures (tests/data/gemma-*): tiny random-weight Gemma2Model instances built with the
transformers classes (attn_implementation="eager": the SDPA path would skip the logit
soft-capping), saved with save_pretrained (the text_encoder/ layout), run in fp32 on a padded
batch; the inputs and every module output the C model taps (module path = tap name) go to
taps.safetensors. The generator checks that each fixture exercises what it claims (soft-capping
and the sliding window change the output).

Prompt fixture (tests/data/gemma-prompt): SanaSprintPipeline(tokenizer, text_encoder) with the
tiny tokenizer of tests/data/tokenizer-gemma (run gen_tokenizer.py first) and a tiny
Gemma2Model; encode_prompt() output (prompt_embeds, prompt_attention_mask) for prompts of 1,
30 and 400 tokens with the default complex human instruction (CHI), a prompt whose first
character does not merge with the CHI's trailing space, upper case and white space, no CHI,
a replaced CHI, another max_sequence_length, and a batch of two.

Run from the repository root:  python tests/reference/gen_gemma.py
Writes tests/data/gemma-a/, gemma-b/, gemma-prompt/.
"""

import inspect
import json
import os
import sys

import torch
from safetensors.torch import save_file

import diffusers
import transformers
from diffusers import SanaSprintPipeline
from transformers import AutoTokenizer, Gemma2Config, Gemma2Model

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_tokenizer import CHI, WORDS  # noqa: E402

# A: grouped-query attention with 2 KV groups, q width 96 != hidden 64, a scale from
#    query_pre_attn_scalar (20) != head_dim (24), soft-capping at 4 that binds, sliding window 5
#    shorter than the 12-token sequence; fp32 weights.
# B: multi-query attention, attention biases, explicit layer_types, RoPE theta 500, no
#    soft-capping (null), a window longer than the sequence; bf16 weights in 3 shards, as the
#    published checkpoint.
GEMMA_A = dict(vocab_size=1000, hidden_size=64, intermediate_size=96, num_hidden_layers=3, num_attention_heads=4,
               num_key_value_heads=2, head_dim=24, query_pre_attn_scalar=20, sliding_window=5,
               attn_logit_softcapping=4.0, rms_norm_eps=1e-6)
GEMMA_B = dict(vocab_size=1000, hidden_size=48, intermediate_size=80, num_hidden_layers=2, num_attention_heads=2,
               num_key_value_heads=1, head_dim=32, query_pre_attn_scalar=32, sliding_window=4096,
               attn_logit_softcapping=None, attention_bias=True, layer_types=["full_attention", "sliding_attention"],
               rope_parameters={"rope_type": "default", "rope_theta": 500.0})
GEMMA_P = dict(vocab_size=1000, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
               num_key_value_heads=1, head_dim=16, query_pre_attn_scalar=16, attn_logit_softcapping=5.0)
FIXTURES = {
    # batch of 2: row 1 has 3 padding tokens (fewer than the window: every padded query still
    # sees a real key, so upstream's padded rows are defined values)
    "gemma-a": dict(config=GEMMA_A, L=12, valid=(12, 9), dtype=torch.float32, shard=None),
    "gemma-b": dict(config=GEMMA_B, L=10, valid=(10,), dtype=torch.bfloat16, shard="50KB"),
}


def randomize(model, seed, qk_gain=1.0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:  # (1 + w) norms: w around 0
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            elif p.ndim == 1:  # biases
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in name:  # x sqrt(H) in the model: unit-size rows
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[1] ** 0.5)
            else:
                gain = qk_gain if ("q_proj" in name or "k_proj" in name) else 1.0
                p.copy_(gain * torch.randn(p.shape, generator=g) / p.shape[1] ** 0.5)


def make_model(cfg, seed, qk_gain):
    torch.manual_seed(seed)
    config = Gemma2Config(**cfg, attn_implementation="eager")
    model = Gemma2Model(config).eval()
    randomize(model, seed, qk_gain)
    return model


def run_with_taps(model, ids, mask):
    names = ["embed_tokens", "norm"]
    for i in range(model.config.num_hidden_layers):
        names += [f"layers.{i}.self_attn", f"layers.{i}.mlp", f"layers.{i}"]
    modules = dict(model.named_modules())
    taps, hooks = {}, []
    for n in names:
        def hook(mod, args, out, n=n):
            if isinstance(out, tuple):
                out = out[0]
            taps[n] = out.detach().float().contiguous().clone()
        hooks.append(modules[n].register_forward_hook(hook))
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
    for h in hooks:
        h.remove()
    assert torch.equal(out, taps["norm"])
    return taps


def rel(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def gen_model_fixture(name, spec, seed):
    folder = os.path.join(DATA, name)
    os.makedirs(folder, exist_ok=True)
    model = make_model(spec["config"], seed, qk_gain=2.5)
    if spec["dtype"] != torch.float32:  # round the weights as they are stored, compute in fp32
        model = model.to(spec["dtype"])
    kwargs = dict(safe_serialization=True)
    if spec["shard"]:
        kwargs["max_shard_size"] = spec["shard"]
    model.save_pretrained(os.path.join(folder, "text_encoder"), **kwargs)
    # The fp32 reference of the stored weights: the checkpoint loaded back in fp32 (a bf16 round
    # trip of the model object would also round its embed_scale buffer to bf16).
    model = Gemma2Model.from_pretrained(os.path.join(folder, "text_encoder"), dtype=torch.float32,
                                        attn_implementation="eager").eval()
    assert model.config._attn_implementation == "eager"

    g = torch.Generator().manual_seed(seed + 1)
    B, L = len(spec["valid"]), spec["L"]
    ids = torch.randint(0, model.config.vocab_size, (B, L), generator=g)
    mask = torch.zeros(B, L, dtype=torch.int64)
    for b, n in enumerate(spec["valid"]):
        mask[b, :n] = 1
        ids[b, n:] = 0  # the pad id, as a tokenizer pads
    taps = run_with_taps(model, ids, mask)

    # The fixture must exercise what it claims.
    c = model.config
    if c.attn_logit_softcapping:
        for layer in model.layers:
            layer.self_attn.attn_logit_softcapping = None
        d = rel(run_with_taps(model, ids, mask)["norm"], taps["norm"])
        for layer in model.layers:
            layer.self_attn.attn_logit_softcapping = c.attn_logit_softcapping
        assert d > 1e-2, f"{name}: soft-capping changes the output by only {d}"
        print(f"{name}: without soft-capping the output moves by {d:.3f} (relative)", file=sys.stderr)
    if c.sliding_window and c.sliding_window < L:
        for layer in model.layers:
            layer.self_attn.sliding_window = None
        c.sliding_window = 10 ** 6
        d = rel(run_with_taps(model, ids, mask)["norm"], taps["norm"])
        assert d > 1e-2, f"{name}: the sliding window changes the output by only {d}"
        print(f"{name}: without the window the output moves by {d:.3f} (relative)", file=sys.stderr)

    dump = {"input.input_ids": ids.float(), "input.attention_mask": mask.float()}
    dump.update(taps)
    save_file({k: v.contiguous() for k, v in dump.items()}, os.path.join(folder, "taps.safetensors"))
    print(f"{name}: {len(taps)} taps, output {tuple(taps['norm'].shape)}", file=sys.stderr)


def prompt_of(tok, n_tokens, seed, prefix=""):
    """Words (after lower/strip) that make exactly n_tokens after the CHI's last piece."""
    chi = "\n".join(CHI)
    base = len(tok.encode(chi)) - 1
    g = torch.Generator().manual_seed(seed)
    words = prefix
    while True:
        w = WORDS[int(torch.randint(0, len(WORDS), (1,), generator=g))]
        cand = (words + " " + w).strip()
        n = len(tok.encode(chi + cand)) - base
        if n > n_tokens:
            continue
        words = cand
        if n == n_tokens:
            return words


def gen_prompt_fixture(seed):
    # The instruction the fixtures use is the pipeline's default, byte for byte.
    default = inspect.signature(SanaSprintPipeline.__call__).parameters["complex_human_instruction"].default
    assert default == CHI, "diffusers' default complex_human_instruction changed"
    folder = os.path.join(DATA, "gemma-prompt")
    os.makedirs(folder, exist_ok=True)
    tok = AutoTokenizer.from_pretrained(os.path.join(DATA, "tokenizer-gemma"))
    cfg = dict(GEMMA_P, vocab_size=len(tok))
    model = make_model(cfg, seed, qk_gain=2.5)
    model.save_pretrained(os.path.join(folder, "text_encoder"), safe_serialization=True)
    pipe = SanaSprintPipeline(tokenizer=tok, text_encoder=model, vae=None, transformer=None, scheduler=None)
    chi = "\n".join(CHI)

    p1 = prompt_of(tok, 1, seed + 1)
    p30 = prompt_of(tok, 30, seed + 2)
    p400 = prompt_of(tok, 400, seed + 3)
    cases = [
        ("chi-1", [p1], CHI, 300),
        ("chi-30", [p30], CHI, 300),
        ("chi-400", [p400], CHI, 300),
        # The first character (an emoji outside the vocabulary: byte fallback) cannot merge with
        # the CHI's trailing space, which stays a token of its own inside the kept window.
        ("chi-boundary", ["\U0001f431 a fluffy cat on a warm windowsill"], CHI, 300),
        ("chi-case", ["  \tA Big RED Cat ΣΟΦΙΑ İstanbul\n "], CHI, 300),
        ("chi-msl120", [p30 + " " + p30], CHI, 120),
        ("no-chi", [p30], None, 300),
        ("custom-chi", [p30], ["Describe the picture in detail:", "Prompt: "], 300),
        ("batch", [p1, p30], CHI, 300),
    ]
    dump, meta = {}, []
    for name, prompts, instr, msl in cases:
        with torch.no_grad():
            embeds, mask = pipe.encode_prompt(prompts, device=torch.device("cpu"), complex_human_instruction=instr,
                                              max_sequence_length=msl)
        dump[f"{name}.prompt_embeds"] = embeds.float().contiguous()
        dump[f"{name}.prompt_attention_mask"] = mask.float().contiguous()
        meta.append({"name": name, "prompts": [p.encode("utf-8").hex() for p in prompts],
                     "chi": "default" if instr is CHI else instr, "max_sequence_length": msl,
                     "real": [int(m.sum()) for m in mask]})
        print(f"gemma-prompt {name}: {tuple(embeds.shape)}, real tokens {[int(m.sum()) for m in mask]}",
              file=sys.stderr)
    save_file(dump, os.path.join(folder, "prompt_embeds.safetensors"))
    with open(os.path.join(folder, "cases.json"), "w") as f:
        json.dump({"about": "tests/reference/gen_gemma.py: SanaSprintPipeline.encode_prompt cases; prompts as "
                            "UTF-8 hex; chi: \"default\" (the pipeline's), null (off) or the lines",
                   "chi_tokens": len(tok.encode(chi)), "cases": meta}, f, indent=1)


def main():
    torch.set_num_threads(2)
    for i, (name, spec) in enumerate(FIXTURES.items()):
        gen_model_fixture(name, spec, 5000 + 10 * i)
    gen_prompt_fixture(6000)
    print(f"transformers {transformers.__version__}, diffusers {diffusers.__version__}, torch {torch.__version__}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
