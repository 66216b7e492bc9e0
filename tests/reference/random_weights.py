"""Random weights for the tiny reference models (gen_dit.py, gen_pipeline.py, gen_controlnet.py).

torch is imported inside the function: the pipeline generators set ATEN_CPU_CAPABILITY before
their child process imports torch.
"""


def randomize(model, seed, norm_center=1.0):
    """Random weights everywhere (the default init leaves norms at 1, some tables and a
    ControlNet's input_block and controlnet_blocks at zero). norm_center: where 1-D norm weights
    lie (0 for Gemma's (1 + w) norms)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and p.ndim == 1:  # norm weights: around norm_center
                p.copy_(norm_center + 0.2 * torch.randn(p.shape, generator=g))
            elif p.ndim == 1:  # biases
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("scale_shift_table"):
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            else:  # matrices and conv kernels: unit-variance outputs
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in**0.5)
