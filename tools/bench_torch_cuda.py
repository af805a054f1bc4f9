"""PyTorch on CUDA beside `pconv bench --suite` (issue 6): the same network
(shared/reference/pconv_ref.py), the same configurations and FLOP counts as
shared/reference/bench_torch.py, timed with torch.cuda.synchronize().

Usage: python3 bench_torch_cuda.py --ref DIR_WITH_pconv_ref.py --out FILE.json
Modes (--modes, all by default):
- "fp32": TF32 off for matmul and cuDNN;
- "default": PyTorch's defaults (cuDNN convolutions may use TF32);
- "amp_bf16": torch.autocast to bfloat16 around the forward pass and the
  loss (the weights and Adam stay float32), TF32 as by default: mixed
  precision as users train on Ampere and later;
- "amp_fp16": the same with float16 and a GradScaler (dynamic loss
  scaling); steps whose loss is not finite are counted ("nonfinite"), as
  float16's range may not hold the Gram sums of the style loss.
The AMP modes are tuned as people tune them for speed: tensors and weights
in channels_last (NHWC) memory format, which tensor-core convolutions
prefer, and torch.backends.cudnn.benchmark = True (cuDNN times its
algorithms on the first step of each shape, inside the warm-up). fp32 and
default run untuned, as PyTorch starts.
"""
import argparse
import json
import statistics
import sys
import time

CONFIGS = [
    {"kind": "train", "levels": 7, "width": 1.0, "size": 256, "batch": 1},
    {"kind": "train", "levels": 7, "width": 1.0, "size": 256, "batch": 4},
    {"kind": "train", "levels": 7, "width": 1.0, "size": 256, "batch": 12},
    {"kind": "train", "levels": 5, "width": 1.0, "size": 64, "batch": 12},
    {"kind": "train", "levels": 6, "width": 1.0, "size": 128, "batch": 4},
    {"kind": "train", "levels": 6, "width": 0.5, "size": 128, "batch": 16},
    {"kind": "infer", "levels": 7, "width": 1.0, "size": 256, "batch": 1},
    {"kind": "infer", "levels": 7, "width": 1.0, "size": 512, "batch": 1},
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--max-size", type=int, default=512, help="skip larger configurations (smoke tests)")
    ap.add_argument("--modes", default="fp32,default,amp_bf16,amp_fp16",
                    help="comma-separated: fp32, default, amp_bf16, amp_fp16")
    args = ap.parse_args()
    sys.path.insert(0, args.ref)
    import numpy as np
    import torch

    import pconv_ref as P
    from bench_torch import step_gflop
    from make_cases import random_hole_map

    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    results = {"device": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu",
               "torch": torch.__version__, "train": [], "infer": []}
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for mode in modes:
        if mode not in ("fp32", "default", "amp_bf16", "amp_fp16"):
            sys.exit(f"unknown mode {mode!r}")
        # PyTorch's defaults: TF32 for cuDNN convolutions, not for matmul.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = mode != "fp32"
        amp_dtype = {"amp_bf16": torch.bfloat16, "amp_fp16": torch.float16}.get(mode)
        tuned = amp_dtype is not None
        torch.backends.cudnn.benchmark = tuned
        layout = torch.channels_last if tuned else torch.contiguous_format

        def autocast():
            return torch.autocast(device_type=dev.type, dtype=amp_dtype or torch.float32,
                                  enabled=amp_dtype is not None)
        for cfg in [c for c in CONFIGS if c["size"] <= args.max_size]:
            torch.manual_seed(0)
            L, width, size, batch = cfg["levels"], cfg["width"], cfg["size"], cfg["batch"]
            model = P.PConvUNet(L, width).to(dev, memory_format=layout)
            rng = np.random.default_rng(0)
            img = torch.rand(batch, 3, size, size, device=dev).contiguous(memory_format=layout)
            holes = np.stack([random_hole_map(size, size, rng) for _ in range(batch)])
            mask = (torch.from_numpy((~holes).astype(np.float32)).unsqueeze(1).to(dev)
                    .contiguous(memory_format=layout))
            if dev.type == "cuda":
                torch.cuda.reset_peak_memory_stats()
            times = []
            nonfinite = 0
            if cfg["kind"] == "train":
                vgg = P.VGG16Features().random_init(seed=1).to(dev, memory_format=layout)
                loss_fn = P.InpaintingLoss(vgg).to(dev)
                opt = torch.optim.Adam(model.parameters(), lr=2e-4, betas=(0.9, 0.999), eps=1e-8)
                scaler = torch.amp.GradScaler(dev.type, enabled=mode == "amp_fp16")
                model.train()
                for it in range(args.warmup + args.repeats):
                    sync()
                    t0 = time.perf_counter()
                    opt.zero_grad(set_to_none=True)
                    with autocast():
                        out = model(img, mask)
                        terms = loss_fn(out, img, mask)
                    scaler.scale(terms["total"]).backward()
                    scaler.step(opt)
                    scaler.update()
                    sync()
                    if it >= args.warmup:
                        times.append(time.perf_counter() - t0)
                        nonfinite += int(not torch.isfinite(terms["total"]).item())
            else:
                model.eval()
                with torch.inference_mode(), autocast():
                    for it in range(args.warmup + args.repeats):
                        sync()
                        t0 = time.perf_counter()
                        P.inpaint(model, img, mask)
                        sync()
                        if it >= args.warmup:
                            times.append(time.perf_counter() - t0)
            flops = step_gflop(L, width, size, batch, train=cfg["kind"] == "train")
            med = statistics.median(times)
            r = dict(cfg, mode=mode, median_s=med, min_s=min(times), max_s=max(times),
                     runs=len(times), gflop=flops, gflop_per_s=flops["total"] / med,
                     channels_last=tuned, cudnn_benchmark=tuned)
            if dev.type == "cuda":
                r["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
            if cfg["kind"] == "train":
                r["images_per_s"] = batch / med
                r["nonfinite"] = nonfinite
            results[cfg["kind"]].append(r)
            print(f"{mode:8s} {cfg['kind']:5s} L{L} w{width} {size} b{batch}: {med*1e3:.1f} ms "
                  f"{r['gflop_per_s']:.0f} GFLOP/s"
                  + (f" ({nonfinite} non-finite losses)" if nonfinite else ""), flush=True)
            del model
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
