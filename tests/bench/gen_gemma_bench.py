"""Random full-size Gemma-2-2B weights and a Gemma-size tokenizer for tests/bench/bench-gemma.c.

Never committed (5.2 GB): writes OUT (default /work/bench-data/gemma2-2b, or the first
argument) as a diffusers model folder's text side:
- text_encoder/: Gemma2Config() (its defaults are gemma-2-2b's) and random bf16 weights in
  Gemma2Model's key layout, 6 shards + model.safetensors.index.json. Values are random normal
  (no zeros), scaled like trained weights (unit-variance activations), so the encoder does the
  same arithmetic as the real one; the numbers it produces mean nothing.
- tokenizer/: a SentencePiece BPE model trained with Gemma's options on English text that
  includes the complex human instruction (so common words are single tokens, about as the real
  256000-piece vocabulary tokenizes English), converted by transformers as
  tests/reference/gen_tokenizer.py does, then padded to 256000 pieces with private-use-area
  pieces and their merges (which no prompt contains), so loading costs what the real file does.

Run:  python tests/bench/gen_gemma_bench.py [OUT]      (a few minutes, about 2 GB of RAM)
"""

import json
import os
import random
import shutil
import sys
import tempfile

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from gen_tokenizer import CHI, USER_DEFINED, WORDS  # noqa: E402

import sentencepiece as spm  # noqa: E402
from transformers import Gemma2Config, GemmaTokenizer  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "/work/bench-data/gemma2-2b"
VOCAB = 256000


def weights(cfg, folder):
    H, F, L = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    Q, KV = cfg.num_attention_heads * cfg.head_dim, cfg.num_key_value_heads * cfg.head_dim
    g = torch.Generator().manual_seed(0)

    def rand(shape, std):
        out = torch.empty(shape, dtype=torch.bfloat16)
        flat = out.view(-1, shape[-1])
        step = max(1, (1 << 24) // shape[-1])
        for i in range(0, flat.shape[0], step):
            n = min(step, flat.shape[0] - i)
            flat[i:i + n] = (torch.randn(n, shape[-1], generator=g) * std).to(torch.bfloat16)
        out[out == 0] = torch.tensor(std * 1e-3, dtype=torch.bfloat16)  # never zeros
        return out

    shards, current, size, index = [], {}, 0, {}

    def add(name, t):
        nonlocal current, size
        current[name] = t
        size += t.numel() * 2
        if size > 900 << 20:
            flush()

    def flush():
        nonlocal current, size
        if current:
            shards.append(current)
            name = f"model-{len(shards):05d}.safetensors"
            save_file(current, os.path.join(folder, name), metadata={"format": "pt"})
            for k in current:
                index[k] = name
            print(f"  {name}: {size >> 20} MB", file=sys.stderr)
        current, size = {}, 0

    add("embed_tokens.weight", rand((VOCAB, H), H ** -0.5))
    for i in range(L):
        p = f"layers.{i}."
        for n in ("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                  "post_feedforward_layernorm"):
            add(p + n + ".weight", rand((H,), 0.1))
        add(p + "self_attn.q_proj.weight", rand((Q, H), H ** -0.5))
        add(p + "self_attn.k_proj.weight", rand((KV, H), H ** -0.5))
        add(p + "self_attn.v_proj.weight", rand((KV, H), H ** -0.5))
        add(p + "self_attn.o_proj.weight", rand((H, Q), Q ** -0.5))
        add(p + "mlp.gate_proj.weight", rand((F, H), H ** -0.5))
        add(p + "mlp.up_proj.weight", rand((F, H), H ** -0.5))
        add(p + "mlp.down_proj.weight", rand((H, F), F ** -0.5))
    add("norm.weight", rand((H,), 0.1))
    flush()
    # Rename to the -of-N form the index names.
    n = len(shards)
    final = {}
    for k, old in index.items():
        final[k] = old.replace(".safetensors", f"-of-{n:05d}.safetensors")
    for i in range(1, n + 1):
        os.rename(os.path.join(folder, f"model-{i:05d}.safetensors"),
                  os.path.join(folder, f"model-{i:05d}-of-{n:05d}.safetensors"))
    total = sum(t.numel() * 2 for s in shards for t in s.values())
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": final}, f, indent=2)


def tokenizer(folder):
    rng = random.Random(7)
    tmp = tempfile.mkdtemp()
    try:
        lines = list(CHI) * 50
        for _ in range(20000):
            words = [rng.choice(WORDS) for _ in range(rng.randint(3, 16))]
            lines.append(" ".join(words) + rng.choice(["", ".", ","]))
        with open(os.path.join(tmp, "corpus.txt"), "w") as f:
            f.write("\n".join(lines))
        spm.SentencePieceTrainer.train(
            input=os.path.join(tmp, "corpus.txt"), model_prefix=os.path.join(tmp, "tokenizer"), model_type="bpe",
            vocab_size=4000, hard_vocab_limit=False, byte_fallback=True, pad_id=0, eos_id=1, bos_id=2, unk_id=3,
            pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>", unk_piece="<unk>",
            user_defined_symbols=USER_DEFINED, add_dummy_prefix=False, normalization_rule_name="identity",
            remove_extra_whitespaces=False, split_digits=True, allow_whitespace_only_pieces=True,
            split_by_whitespace=True, character_coverage=1.0, num_threads=2, minloglevel=2)
        spmdir = os.path.join(tmp, "spm")
        os.makedirs(spmdir)
        shutil.copy(os.path.join(tmp, "tokenizer.model"), os.path.join(spmdir, "tokenizer.model"))
        GemmaTokenizer.from_pretrained(spmdir, add_bos_token=True, add_eos_token=False).save_pretrained(folder)
    finally:
        shutil.rmtree(tmp)
    path = os.path.join(folder, "tokenizer.json")
    with open(path) as f:
        tj = json.load(f)
    vocab, merges = tj["model"]["vocab"], tj["model"]["merges"]
    pieces = []
    for cp in range(0xE000, 0xE000 + 1024):  # private-use single characters
        vocab[chr(cp)] = len(vocab)
        pieces.append(chr(cp))
    while len(vocab) < VOCAB:
        a, b = rng.choice(pieces), rng.choice(pieces)
        if a + b in vocab or len(a + b) > 12:
            continue
        vocab[a + b] = len(vocab)
        merges.append([a, b])
        pieces.append(a + b)
    with open(path, "w") as f:
        json.dump(tj, f, ensure_ascii=False)
    cfg_path = os.path.join(folder, "tokenizer_config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    cfg.pop("vocab_file", None)
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=2)
    print(f"  tokenizer: {len(vocab)} pieces, {len(merges)} merges, {os.path.getsize(path) >> 20} MB", file=sys.stderr)


def main():
    torch.set_num_threads(2)
    te = os.path.join(OUT, "text_encoder")
    os.makedirs(te, exist_ok=True)
    os.makedirs(os.path.join(OUT, "tokenizer"), exist_ok=True)
    cfg = Gemma2Config()  # gemma-2-2b
    cfg.architectures = ["Gemma2Model"]
    cfg.save_pretrained(te)
    tokenizer(os.path.join(OUT, "tokenizer"))
    weights(cfg, te)
    print(f"{OUT}: done", file=sys.stderr)


if __name__ == "__main__":
    main()
