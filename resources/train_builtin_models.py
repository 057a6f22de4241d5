"""Train the four built-in enhancement models with Imgen Desktop's own trainer (reproducible).

    .venv/bin/python resources/train_builtin_models.py            # all, one after another
    .venv/bin/python resources/train_builtin_models.py upscale-x2  # just one (names below)

Each model is trained by ``core.trainer.train`` on the 432 CBSD432 photos
(``../shared/data/bsds432/``, or ``$IMGEN_BUILTIN_DATA``; never the evaluation sets in
``../shared/data/eval/``) in a scratch data root (``$IMGEN_BUILTIN_HOME``, default
``<system temp>/imgen-builtin-home``; not ``build/``, which packaging cleans), then copied to
``resources/models/<name>.safetensors`` (or ``--out DIR``) with ``builtin: true`` in its metadata.
Run each with ``OMP_NUM_THREADS=1``: on these 2 cores one training per core is fastest.

The faithful models are the GAN family's residual generator with ``adv_weight = 0`` (L1 + MSE
pixel loss, the best PSNR per CPU-second of the three families); about 30-80 minutes each on one
core. The sharp upscalers fine-tune the faithful ones adversarially (entries ``*-sharp``). The
exact commands, wall times and figures are recorded in ``benchmarks/RESULTS.md``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The training photos: CBSD432 (see ../shared/data/bsds432/SOURCE.md and resources/ATTRIBUTION.md).
# Never the evaluation sets (../shared/data/eval/: Set5, CBSD68).
TRAIN_DATA = Path(os.environ.get("IMGEN_BUILTIN_DATA", ROOT.parent / "shared" / "data" / "bsds432"))

# Second generation (issue 10): bigger bodies within 4x the first generation's multiply-adds per
# output pixel, the 432 training photos, 8-fold flips/rotations, long cosine schedules.
# ``init_from`` names another built-in whose matching weights start the net (x4 from x2, as EDSR
# does); it is trained first when it is in the same call.
INPAINT_STAGE2_STEPS = 3000
DENOISE_DARK_STEPS = 800  # the saturated-colour fine-tune of the denoiser (an experiment, below)
BORDER_STEPS = 800  # the border fine-tune of the faithful upscalers (an experiment, below)
BUILTINS: dict[str, dict] = {
    "upscale-x2": dict(task="upscale", scale=2, image_size=64, batch_size=16, steps=4500, lr=1e-3, width=48,
                       extra={"blocks": 7, "dihedral": True, "bicubic_only": True, "blur_prob": 0.0},
                       label="Upscale x2 (built-in)"),
    "upscale-x4": dict(task="upscale", scale=4, image_size=128, batch_size=16, steps=2200, lr=1e-3, width=48,
                       extra={"blocks": 7, "dihedral": True, "bicubic_only": True, "blur_prob": 0.0},
                       init_from="upscale-x2", label="Upscale x4 (built-in)"),
    # Tried (sixth session), not shipped: a fine-tune that shows the faithful upscalers the
    # photo's border as inference does (core.tiling mirrors a photo about its edge): each side of
    # a crop made an image edge with probability 0.3 (its outer 8 input pixels replaced by the
    # mirror of the next 8 and left out of the loss; core.models.restore.border_mirror), 800
    # steps at lr 2e-4 from the shipped files. The outer 8 px ring on Set5 moved by +0.08 dB (x2)
    # and +0.01 dB (x4), the whole image by +0.02 / +0.01: the ring's deficit against the interior
    # is not what the crops' zero padding taught (benchmarks/RESULTS.md). Written to the scratch home:
    #     OMP_NUM_THREADS=1 .venv/bin/python resources/train_builtin_models.py upscale-x2-border upscale-x4-border
    "upscale-x2-border": dict(task="upscale", scale=2, image_size=64, batch_size=16, steps=BORDER_STEPS, lr=2e-4, width=48,
                              extra={"blocks": 7, "dihedral": True, "bicubic_only": True, "blur_prob": 0.0,
                                     "border_mirror": {"prob": 0.3, "band": 8}},
                              init_from="upscale-x2", intermediate=True, label="Upscale x2, border fine-tune (not shipped)"),
    "upscale-x4-border": dict(task="upscale", scale=4, image_size=128, batch_size=16, steps=BORDER_STEPS, lr=2e-4, width=48,
                              extra={"blocks": 7, "dihedral": True, "bicubic_only": True, "blur_prob": 0.0,
                                     "border_mirror": {"prob": 0.3, "band": 8}},
                              init_from="upscale-x4", intermediate=True, label="Upscale x4, border fine-tune (not shipped)"),
    "denoise": dict(task="denoise", image_size=64, batch_size=16, steps=3000, lr=1e-3, width=56,
                    extra={"blocks": 5, "dihedral": True},
                    noise_sigma=55.0, camera_noise=True, label="Denoise (built-in)"),
    # Tried (sixth session), not shipped: a fine-tune on crops with saturated colours as well (a
    # quarter of them with channels pushed towards 0 or 1: core.degrade.dark_channels), where
    # noise clipped at 0 or 255 biases the input: the shipped model leaves a red cast of +1.7 to
    # +2.6 levels on resources/photos/test/flower.jpg (red below 10 on 66 % of it). 800 steps at
    # lr 2e-4 halved that red cast but pushed the green one of the same photo from -1.6 to -2.2
    # at sigma 50, and lost 0.02 dB on 10 CBSD68 photos (benchmarks/RESULTS.md). Scratch home:
    #     OMP_NUM_THREADS=1 .venv/bin/python resources/train_builtin_models.py denoise-dark
    "denoise-dark": dict(task="denoise", image_size=64, batch_size=16, steps=DENOISE_DARK_STEPS, lr=2e-4, width=56,
                         extra={"blocks": 5, "dihedral": True, "dark_channels": 0.25},
                         noise_sigma=55.0, camera_noise=True, init_from="denoise", intermediate=True,
                         label="Denoise, saturated-colour fine-tune (not shipped)"),
    # The same crops with a loss on the local mean colour as well (core.models.restore.colour_loss,
    # 16 px windows, weight 10), which a cast of a level or two over an area costs in full. Not
    # shipped either: flower.jpg's red cast +2.6 -> +1.1 at sigma 50, but -0.04 to -0.06 dB on
    # CBSD68 and -0.08 to -0.14 dB on camera.png (benchmarks/RESULTS.md):
    #     OMP_NUM_THREADS=1 .venv/bin/python resources/train_builtin_models.py denoise-colour
    "denoise-colour": dict(task="denoise", image_size=64, batch_size=16, steps=DENOISE_DARK_STEPS, lr=2e-4, width=56,
                           extra={"blocks": 5, "dihedral": True, "dark_channels": 0.25, "colour_weight": 10.0},
                           noise_sigma=55.0, camera_noise=True, init_from="denoise", intermediate=True,
                           label="Denoise, colour-loss fine-tune (not shipped)"),
    # dilated blocks (radius ~130 px at full resolution) so the receptive field covers a hole.
    # Stage 1 (an intermediate file in the scratch home; it was the shipped inpaint model of the
    # second generation) ...
    "inpaint-stage1": dict(task="inpaint", image_size=128, batch_size=8, steps=2000, lr=1e-3, width=32,
                           extra={"blocks": 8, "dilations": [1, 2, 4, 8], "dihedral": True},
                           intermediate=True, label="Inpaint (stage 1)"),
    # ... stage 2 (an intermediate file; it was the shipped model of the fifth and sixth sessions)
    # grows it to see the smooth fill it refines (``feed_base``: the head conv gains input
    # channels that start at zero, so training goes on from stage 1's function) and trains on
    # masks like the ones users paint and the benchmark draws: brushes from 2.5 px to 18 px
    # radius (stage 1: 4-15 px), boxes of 15-70 px, 3-40 % of the crop.
    "inpaint-stage2": dict(task="inpaint", image_size=128, batch_size=8, steps=INPAINT_STAGE2_STEPS, lr=5e-4, width=32,
                           extra={"blocks": 8, "dilations": [1, 2, 4, 8], "dihedral": True, "feed_base": True,
                                  "masks": {"radius": [0.02, 0.14], "rect": [0.12, 0.55], "max_cover": 0.4}},
                           init_from="inpaint-stage1", intermediate=True, label="Inpaint (stage 2)"),
    # Stage 3 (seventh session; an intermediate file): 2,000 more steps from stage 2 at lr 2.5e-4
    # (cosine again) on masks with more, thinner strokes (up to 5 strokes and 1 box, brushes
    # 2.5-15 px radius), where stage 2 missed the issue's +1.0 dB over Telea (+0.83). On the 24
    # CBSD68 photos strokes +0.91 dB over Telea, boxes 18.35 -> 18.47 dB. 4,208 s wall on one core
    # beside a CBM3D run.
    "inpaint-stage3": dict(task="inpaint", image_size=128, batch_size=8, steps=2000, lr=2.5e-4, width=32,
                           extra={"blocks": 8, "dilations": [1, 2, 4, 8], "dihedral": True, "feed_base": True,
                                  "masks": {"radius": [0.02, 0.12], "rect": [0.12, 0.55], "max_cover": 0.4,
                                            "max_strokes": 5, "max_rects": 1}},
                           init_from="inpaint-stage2", intermediate=True, label="Inpaint (stage 3)"),
    # Stage 4 (seventh session, shipped): 1,800 steps from stage 3 at lr 2e-4 with brushes like the
    # benchmark's and a user's thin retouching (2.5-10 px radius), up to 6 strokes and 1 box.
    # Strokes +0.99 dB over Telea on the 24 CBSD68 photos, boxes 18.41 dB (+1.58); beats the
    # issue-time model on all six holes of the test photos. 1,575 s wall on one idle core. Tried
    # beside it: stage 3's masks at lr 1.5e-4 (strokes +0.95, boxes 18.51). The four stages:
    #     OMP_NUM_THREADS=1 .venv/bin/python resources/train_builtin_models.py inpaint-stage1 inpaint-stage2 inpaint-stage3 inpaint
    "inpaint": dict(task="inpaint", image_size=128, batch_size=8, steps=1800, lr=2e-4, width=32,
                    extra={"blocks": 8, "dilations": [1, 2, 4, 8], "dihedral": True, "feed_base": True,
                           "masks": {"radius": [0.02, 0.08], "rect": [0.12, 0.55], "max_cover": 0.4,
                                     "max_strokes": 6, "max_rects": 1}},
                    init_from="inpaint-stage3", label="Inpaint (built-in)"),
}

# Third generation (issue 17): the sharp upscalers. The faithful net (same architecture) is
# fine-tuned with L1 + Sobel-gradient L1 + a relativistic average GAN loss (ESRGAN) against
# Real-ESRGAN's U-Net discriminator with spectral norm, on Real-ESRGAN-like degraded inputs
# (core.degrade.degrade_realistic: blur, random downscale, Gaussian/Poisson noise, JPEG). No
# perceptual (VGG) loss, whose weights would have to be downloaded; so the adversarial weight is
# half Real-ESRGAN's 0.1 against L1, against artefacts, and MSE is off (it pulls towards blur).
# The EMA of the generator is exported.
# Cost, measured (issue 17, process CPU time, one thread, OMP_NUM_THREADS=1): 2.6 s per step for
# x4-sharp (128 px crops, batch 8; the U-Net discriminator is 2/3 of it), 2.0 s for x2-sharp
# (96 px crops). So 1300 + 1000 steps are ~3,400 + ~2,000 CPU-seconds: about 60 min wall for
# both run side by side, one core each, on the idle 2-core machine (the recorded command):
#     OMP_NUM_THREADS=1 .venv/bin/python resources/train_builtin_models.py upscale-x4-sharp &
#     OMP_NUM_THREADS=1 .venv/bin/python resources/train_builtin_models.py upscale-x2-sharp; wait
# (the faithful upscale-x2 / upscale-x4 files must be in resources/models/ first).
SHARP_DESCRIPTION = ("Sharp: crisper edges and texture (GAN-trained); may invent detail. "
                     "The faithful model stays closest to the original.")
_SHARP = dict(task="upscale", width=48, lr=1e-4, adv_weight=0.05, gan_loss="relativistic", ema=0.999, spectral_norm=True)
# The degradation mix is milder than Real-ESRGAN's (and than core.degrade's defaults): with their
# full-strength noise and JPEG on 85 % of the inputs, the fine-tune learnt to paint over texture
# (skin, fabric) and at step 500 scored NIQE 11.2 on Set5, worse than bicubic's 8.45, with a dot
# grid (benchmarks/RESULTS.md). A photographer's input is mostly a clean photo: 40 % plain bicubic.
_SHARP_DEGRADATION = {"plain_prob": 0.4, "sigma_max_per_scale": 0.5, "noise_prob": 0.4, "noise_sigma": [1.0, 10.0],
                      "poisson_scale": [0.05, 1.0], "jpeg_prob": 0.5, "jpeg_quality": [60, 95]}
_SHARP_EXTRA = {"blocks": 7, "dihedral": True, "degradation": "realistic", "degradation_options": _SHARP_DEGRADATION,
                "disc": "unet", "disc_width": 16, "grad_weight": 1.0, "mse_weight": 0.0, "adv_warmup": 200}
# Two stages. Stage 1 (``*-sharp-gan``, an intermediate file in the scratch home, never shipped)
# is the adversarial fine-tune above. It left a dot grid locked to the pixel shuffle's sub-pixel
# positions (+-3 grey levels on Set5 at x4; NIQE 10.4, worse than bicubic's 8.45), so stage 2
# continues from it for 400 steps with the same losses plus a penalty on exactly that pattern
# (core.models.restore.phase_loss, weight 10) at half the learning rate:
#     OMP_NUM_THREADS=1 .venv/bin/python resources/train_builtin_models.py upscale-x4-sharp-gan upscale-x4-sharp &
#     OMP_NUM_THREADS=1 .venv/bin/python resources/train_builtin_models.py upscale-x2-sharp-gan upscale-x2-sharp; wait
_SHARP_STAGE2 = dict(steps=400, lr=5e-5)
_SHARP_EXTRA2 = dict(_SHARP_EXTRA, phase_weight=10.0, adv_warmup=100)
BUILTINS.update({
    "upscale-x2-sharp-gan": dict(_SHARP, scale=2, image_size=96, batch_size=8, steps=1000, extra=dict(_SHARP_EXTRA),
                                 init_from="upscale-x2", intermediate=True, label="Upscale x2, sharp (stage 1)"),
    "upscale-x4-sharp-gan": dict(_SHARP, scale=4, image_size=128, batch_size=8, steps=1300, extra=dict(_SHARP_EXTRA),
                                 init_from="upscale-x4", intermediate=True, label="Upscale x4, sharp (stage 1)"),
    "upscale-x2-sharp": dict(_SHARP, scale=2, image_size=96, batch_size=8, **_SHARP_STAGE2, extra=dict(_SHARP_EXTRA2),
                             init_from="upscale-x2-sharp-gan", label="Upscale x2, sharp (built-in)", description=SHARP_DESCRIPTION),
    "upscale-x4-sharp": dict(_SHARP, scale=4, image_size=128, batch_size=8, **_SHARP_STAGE2, extra=dict(_SHARP_EXTRA2),
                             init_from="upscale-x4-sharp-gan", label="Upscale x4, sharp (built-in)", description=SHARP_DESCRIPTION),
})
# Tried (fifth session), not shipped: a third x4 stage from the shipped sharp x4 with twice the
# adversarial weight (Real-ESRGAN's 0.1) and core.models.restore.texture_loss (weight 2), which
# asks for local detail of the target's strength without asking for it in the target's places.
# It drew texture, but as grain: Y-PSNR fell below bicubic's on all three sets (Set5 27.30 vs
# 28.43) and NIQE on CBSD68 rose 5.93 -> 6.08 (Set5 6.84 -> 6.40, test 5.98 -> 5.54); figures and a
# crop in benchmarks/RESULTS.md. Kept as a recorded experiment (written to the scratch home):
#     OMP_NUM_THREADS=1 .venv/bin/python resources/train_builtin_models.py upscale-x4-sharp-texture
BUILTINS["upscale-x4-sharp-texture"] = dict(_SHARP, scale=4, image_size=128, batch_size=8, steps=1200, **{"adv_weight": 0.1},
                                            extra=dict(_SHARP_EXTRA2, texture_weight=2.0), init_from="upscale-x4-sharp",
                                            intermediate=True, label="Upscale x4, sharp with texture loss (not shipped)")
MAX_BYTES = 10 * 1024 * 1024


def check_same_architecture(name: str, spec: dict, init_path: Path) -> None:
    """A sharp model fine-tunes its faithful sibling: refuse to start from a file of another
    architecture (only a few tensors would match, and the run would silently start from scratch)."""
    from imgen_desktop.core.store import read_meta

    if not init_path.is_file():
        raise SystemExit(f"[{name}] {init_path} is missing: train {init_path.stem} first")
    params = read_meta(init_path).get("arch_params") or {}
    want = {"width": spec["width"], "blocks": spec["extra"]["blocks"], "scale": spec["scale"]}
    have = {k: params.get(k) for k in want}
    if have != want:
        raise SystemExit(f"[{name}] {init_path} is {have}, this recipe needs {want}: retrain {init_path.stem} with its "
                         f"current recipe first")


def train_one(name: str, home: Path, seed: int = 0, steps: int | None = None, out_dir: Path | None = None) -> Path:
    os.environ["IMGEN_HOME"] = str(home)
    from imgen_desktop.core import trainer
    from imgen_desktop.core.config import TrainConfig
    from imgen_desktop.core.events import Failed, Log, Progress
    from imgen_desktop.core.store import load_model_file, save_model_file

    spec = dict(BUILTINS[name])
    label = spec.pop("label")
    description = spec.pop("description", None)
    init = spec.pop("init_from", None)
    if steps:
        spec["steps"] = steps  # a smoke test of the recipe, never for the shipped files
    intermediate = spec.pop("intermediate", False)
    if init:
        # --out first, then the scratch home's stages (intermediate files), then the shipped files
        places = [out_dir, home / "stages", ROOT / "resources" / "models"]
        init_path = next((d / f"{init}.safetensors" for d in places if d and (d / f"{init}.safetensors").is_file()),
                         ROOT / "resources" / "models" / f"{init}.safetensors")
        spec["extra"] = dict(spec["extra"], init_from=str(init_path))
        if "-sharp" in name:
            check_same_architecture(name, spec, init_path)
    spec.setdefault("adv_weight", 0.0)
    config = TrainConfig(family="gan", data=str(TRAIN_DATA), seed=seed, device="cpu",
                         sample_every=500, checkpoint_every=500, name=f"builtin-{name}", **spec)
    last = [0.0]

    def on_event(event) -> None:
        if isinstance(event, Progress) and (time.monotonic() - last[0] > 30 or event.step == event.total):
            last[0] = time.monotonic()
            print(f"[{name}] step {event.step}/{event.total} elapsed {event.elapsed_s:.0f}s", flush=True)
        elif isinstance(event, Log):
            print(f"[{name}] {event.message}", flush=True)

    # always a fresh run: remove what an earlier run of this script left in the scratch root
    shutil.rmtree(trainer.run_dir(config.name), ignore_errors=True)
    (home / "models" / f"{config.name}.safetensors").unlink(missing_ok=True)
    t0 = time.time()
    result = trainer.train(config, on_event)
    if isinstance(result, Failed):
        raise SystemExit(f"[{name}] training failed: {result.message}")
    tensors, meta = load_model_file(result.model_path)
    meta.update({"builtin": True, "name": name, "label": label, "train_wall_s": round(time.time() - t0, 1)})
    if description:
        meta["description"] = description
    folder = (home / "stages") if intermediate else (out_dir or ROOT / "resources" / "models")
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{name}.safetensors"
    save_model_file(out, tensors, meta)
    out.chmod(0o644)  # the atomic write's temporary file is private; shipped files are not
    size = out.stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"[{name}] {out} is {size} bytes, over the 10 MB limit")
    print(f"[{name}] wrote {out} ({size / 1e6:.2f} MB) in {time.time() - t0:.0f}s; summary {result.summary}", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"which built-ins: {', '.join(BUILTINS)} (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, help="override the step count (a quick check of a recipe)")
    parser.add_argument("--out", type=Path, help="write the model files here instead of resources/models/")
    args = parser.parse_args()
    unknown = [n for n in args.names if n not in BUILTINS]
    if unknown:
        parser.error(f"unknown built-in(s) {', '.join(unknown)}; choose from {', '.join(BUILTINS)}")
    home = Path(os.environ.get("IMGEN_BUILTIN_HOME", Path(tempfile.gettempdir()) / "imgen-builtin-home"))
    for name in args.names or list(BUILTINS):
        train_one(name, home, args.seed, args.steps, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
