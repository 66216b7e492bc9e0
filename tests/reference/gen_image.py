"""Reference for the pipeline's host-side image steps (tests/unit/test-image.c):
resolution binning (PixArtImageProcessor.classify_height_width_bin with ASPECT_RATIO_1024_BIN),
resize_and_crop_tensor, and postprocess(output_type="pil") to 8 bits.

Run from the repository root:  python tests/reference/gen_image.py
Writes tests/data/image/image.safetensors.
"""

import os

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from diffusers.image_processor import PixArtImageProcessor
from diffusers.pipelines.pixart_alpha.pipeline_pixart_alpha import ASPECT_RATIO_1024_BIN

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "image")


def main():
    os.makedirs(OUT, exist_ok=True)
    proc = PixArtImageProcessor(vae_scale_factor=32)
    out = {}
    # Binning over every request size (multiples of 32, 32..4096 by 96 and a few odd ones).
    sizes = list(range(32, 4097, 96)) + [500, 1000, 1023, 1025, 77]
    req, res = [], []
    for h in sizes:
        for w in sizes:
            req.append((h, w))
            res.append(proc.classify_height_width_bin(h, w, ratios=ASPECT_RATIO_1024_BIN))
    out["bin.request"] = torch.tensor(req, dtype=torch.int32)
    out["bin.result"] = torch.tensor(res, dtype=torch.int32)
    # Resize and crop a decoded image from its bin size back to the requested size.
    g = torch.Generator().manual_seed(7)
    cases = [((64, 96), (50, 80)), ((64, 96), (96, 96)), ((40, 72), (41, 39)), ((32, 32), (32, 32)),
             ((64, 32), (128, 40))]
    for i, ((h, w), (nh, nw)) in enumerate(cases):
        img = torch.rand(1, 3, h, w, generator=g) * 2 - 1
        out[f"resize{i}.input"] = img
        out[f"resize{i}.output"] = proc.resize_and_crop_tensor(img, nw, nh).contiguous().clone()
    # [-1, 1] -> uint8, including values that land exactly on .5 after scaling.
    x = torch.rand(1, 3, 16, 24, generator=g) * 2.4 - 1.2
    halves = (torch.arange(0, 256, dtype=torch.float32) + 0.5) / 255 * 2 - 1
    x.view(-1)[: halves.numel()] = halves
    out["rgb8.input"] = x
    pil = proc.postprocess(x, output_type="pil")[0]
    out["rgb8.output"] = torch.from_numpy(np.array(pil).astype(np.int32))
    # Sizes where int() leaves the resized side short of the request (11 * (15 / 11) = 14.99...):
    # diffusers' crop then starts at -1 and returns one row or column, so the expected image is
    # the bilinear resize with that side at the request, cropped as diffusers crops (our choice).
    for i, ((h, w), (nh, nw)) in enumerate([((11, 8), (15, 10)), ((9, 11), (24, 30))], start=5):
        img = torch.rand(1, 3, h, w, generator=g) * 2 - 1
        ratio = max(nh / h, nw / w)
        rh, rw = max(int(h * ratio), nh), max(int(w * ratio), nw)
        assert (rh, rw) != (int(h * ratio), int(w * ratio))
        big = F.interpolate(img, size=(rh, rw), mode="bilinear", align_corners=False)
        y0, x0 = (rh - nh) // 2, (rw - nw) // 2
        out[f"resize{i}.input"] = img
        out[f"resize{i}.output"] = big[:, :, y0 : y0 + nh, x0 : x0 + nw].contiguous().clone()
    save_file(out, os.path.join(OUT, "image.safetensors"))


if __name__ == "__main__":
    main()
