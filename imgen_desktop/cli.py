"""``imgen``: the same engine as the GUI, from a terminal.

Exit status: 0 success, 1 user-facing error (one clear line on stderr), 2 bad usage.
Each sub-command's handler is a ``_cmd_<name>`` function below; heavy imports stay inside
handlers so ``imgen --help`` is instant.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Sequence

from imgen_desktop import __version__


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # bad usage -> exit 2 with one line
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a GAN, VAE or RNN model", description="Train a model; Ctrl+C stops and saves.")
    _add_train_options(p)


def _add_train_options(p) -> None:
    """The options of ``imgen train`` (also ``imgen queue add``'s, so the two never drift apart)."""
    from imgen_desktop.core.config import GAN_LOSS_CHOICES  # light: no torch
    p.add_argument("--family", choices=["gan", "vae", "rnn"], default=None, help="required unless --resume")
    p.add_argument("--task", choices=["generate", "upscale", "denoise", "inpaint"], default=None, help="default: generate")
    p.add_argument("--scale", type=int, choices=[2, 4], default=None, help="upscale factor")
    p.add_argument("--data", default=None, help="FOLDER or builtin:digits|builtin:faces|builtin:photos")
    p.add_argument("--preset", default=None, help="quick | standard | quality (| classic for the GAN)")
    p.add_argument("--image-size", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--sample-every", type=int, default=None, help="0 = never during the run")
    p.add_argument("--checkpoint-every", type=int, default=None, help="0 = only at the end / stop")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:N] | mps")
    p.add_argument("--name", default=None, help="run and model name")
    p.add_argument("--resume", default=None, metavar="NAME", help="continue the run NAME")
    p.add_argument("--channels", type=int, choices=[1, 3], default=None, help="force grayscale (1) or RGB (3)")
    p.add_argument("--val-split", type=float, default=None, metavar="SHARE",
                   help="hold this share of the pictures out (0-0.5, e.g. 0.05) for a validation loss at "
                        "sample time (val.loss); default 0 = off; a resumed run keeps its split")
    # remedies and family options (see the training health guide)
    p.add_argument("--loss", dest="gan_loss", choices=GAN_LOSS_CHOICES, default=None,
                   help="GAN loss (relativistic: enhancement tasks only)")
    p.add_argument("--spectral-norm", action=argparse.BooleanOptionalAction, default=None, help="GAN: spectral norm in D")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None, help="GAN: DiffAugment")
    p.add_argument("--reuse-fakes", action=argparse.BooleanOptionalAction, default=None,
                   help="GAN: the G step reuses the D step's generated batch (one G pass a step, as the DCGAN example; the classic preset)")
    p.add_argument("--temperature", type=float, default=None,
                   help="GAN: scale of the exported model's random input (below 1: cleaner, less varied pictures; the standard preset uses 0.6)")
    p.add_argument("--categories", type=int, default=None,
                   help="GAN: InfoGAN categorical code with this many categories (0 = off; the standard preset uses 10)")
    p.add_argument("--ema", type=float, default=None, help="GAN: generator EMA decay (0 = off)")
    p.add_argument("--adv-weight", type=float, default=None, help="enhancement GAN: adversarial weight (0 = plain L1)")
    p.add_argument("--beta", type=float, default=None, help="VAE: KL weight")
    p.add_argument("--kl-warmup", type=int, default=None, help="VAE: KL warm-up steps")
    p.add_argument("--free-bits", type=float, default=None, help="VAE: free bits (nats per latent dim)")
    p.add_argument("--clip-grad", type=float, default=None, help="gradient clipping norm (0 = off)")
    p.add_argument("--rnn-steps", type=int, default=None, help="RNN: unroll length")
    p.add_argument("--no-amp", action="store_true", help="disable mixed precision on CUDA")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16"], default=None,
                   help="auto: mixed precision on CUDA, fp32 on CPU; bf16: autocast on CPU too (opt-in)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="imgen", description="Imgen Desktop from the terminal: train, generate, enhance, manage models.")
    parser.add_argument("--version", action="version", version=f"imgen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    sub.add_parser("devices", help="list the compute devices (cpu, cuda:N, mps)")
    _add_train(sub)
    _add_runs(sub)
    _add_queue(sub)

    g = sub.add_parser("generate", help="sample images from a generative model")
    g.add_argument("--model", required=True, help="NAME or PATH of a generate model")
    g.add_argument("-n", type=int, default=16, help="number of images")
    g.add_argument("-o", "--output", required=True, help="OUT.png: one grid; otherwise a folder of N PNGs")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--interpolate", action="store_true", help="GAN/VAE/RNN: N steps between two random latents")
    g.add_argument("--device", default="auto")

    e = sub.add_parser(
        "enhance", help="upscale, denoise or inpaint photos",
        description="Upscale, denoise or inpaint photos. Inpainting a batch: put each photo's mask beside it as "
                    "<stem>.mask.png (photo.jpg -> photo.mask.png; white = the area to fill); mask files are "
                    "never enhanced as photos, and --mask is the mask of photos that have none of their own.")
    e.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    e.add_argument("-o", "--output", required=True, help="output file (one input) or folder")
    e.add_argument("--model", required=True, help="builtin:NAME | NAME | PATH")
    e.add_argument("--tile", type=int, default=None, help="tile size in pixels; 0 = whole image at once")
    e.add_argument("--device", default="auto")
    e.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                   help="auto: bf16 where this CPU/GPU runs it faster, else fp32")
    e.add_argument("--format", default=None, choices=["png", "jpeg", "webp", "tiff"], help="output format")
    e.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality")
    e.add_argument("--mask", default=None,
                   help="inpaint: mask image (white = fill); one photo: its mask; a batch: for photos without their own <stem>.mask.png")
    e.add_argument("--variation-seed", type=int, default=None, help="VAE models: sample a variation")
    e.add_argument("--noise-level", type=_noise_level, default=None, metavar="SIGMA",
                   help="denoise models with a noise-level input (builtin:denoise): the noise sigma on 0-255, "
                        "e.g. 25; higher removes more and smooths more (default: estimated from each photo)")
    e.add_argument("--overwrite", action="store_true", help="replace output files that exist (never an input)")
    e.add_argument("--passes", type=int, default=None, choices=[1, 2, 4],
                   help="also run the photo mirrored and average (1 = fastest; default 4 for denoise, else 1)")
    e.add_argument("--name-template", default=None, metavar="TEMPLATE",
                   help="output names in a folder, e.g. {name}_{model}{ext} (fields: {name} {model} {task} {scale} {date} {ext})")
    e.add_argument("--quiet", action="store_true")

    m = sub.add_parser("models", help="list, import, export or remove models")
    msub = m.add_subparsers(dest="models_command", metavar="ACTION", parser_class=_Parser)
    msub.required = True
    msub.add_parser("list", help="list the models in the store")
    mi = msub.add_parser("import", help="import a .safetensors model file")
    mi.add_argument("path")
    mi.add_argument("--name", default=None)
    me = msub.add_parser("export", help="export a model to .safetensors or .onnx")
    me.add_argument("name")
    me.add_argument("out")
    me.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    mr = msub.add_parser("remove", help="delete a model")
    mr.add_argument("name")
    return parser


# --- handlers -----------------------------------------------------------------------------

def _cmd_devices(args) -> int:
    from imgen_desktop.core.devices import cpu_only_build_warning, list_devices

    for dev in list_devices():
        print(dev.label())
    warning = cpu_only_build_warning()
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


_TRAIN_FLAGS = (
    "scale", "data", "image_size", "batch_size", "steps", "lr", "seed", "sample_every", "checkpoint_every",
    "channels", "gan_loss", "spectral_norm", "augment", "categories", "temperature", "reuse_fakes", "ema", "adv_weight", "beta", "kl_warmup", "free_bits",
    "clip_grad", "rnn_steps", "precision", "val_split",
)


def _format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def _train_config(args):
    """TrainConfig from the preset (or the resumed run) with the command-line flags on top."""
    import dataclasses

    from imgen_desktop.core.config import TrainConfig
    from imgen_desktop.core.errors import ImgenError
    from imgen_desktop.core.presets import DEFAULT_PRESET, apply_preset

    if args.resume is not None:
        from imgen_desktop.core.trainer import load_run_config

        config = load_run_config(args.resume)
        if (args.family and args.family != config.family) or (args.task and args.task != config.task):
            raise ImgenError(f"the run {args.resume!r} is a {config.family.upper()} {config.task} run")
        if args.name and args.name != args.resume:
            raise ImgenError("--name and --resume name different runs; --resume NAME continues the run NAME")
        config.name = args.resume
        if args.preset:
            config = apply_preset(config, args.preset)
    else:
        task = args.task or "generate"
        default_data = "builtin:digits" if task == "generate" else "builtin:photos"
        config = TrainConfig(family=args.family, task=task, data=args.data or default_data)
        config = apply_preset(config, args.preset or DEFAULT_PRESET)
        if args.name is not None:
            from imgen_desktop.core.paths import safe_name

            config.name = safe_name(args.name, "run")  # an explicit --name "" is an error, not "pick one"
    changes = {k: getattr(args, k) for k in _TRAIN_FLAGS if getattr(args, k, None) is not None}
    config = dataclasses.replace(config, **changes)
    config.device = args.device
    if args.no_amp:
        config.amp = False
    return config


def _cmd_train(args) -> int:
    from imgen_desktop.core.control import ControlToken
    from imgen_desktop.core.events import CheckpointSaved, Failed, Finished, Health, Log, Metrics, Progress
    from imgen_desktop.core.health import format_warning

    from imgen_desktop.core.distributed import under_torchrun

    config = _train_config(args)
    token = ControlToken()
    bar = None
    losses: dict[str, float] = {}
    # torchrun: rank 0 reports; the other processes print only warnings, a failure or their last line
    distributed = under_torchrun()
    rank = int(os.environ.get("RANK", "0")) if distributed else 0
    quiet = args.quiet or rank > 0

    def write(line: str, err: bool = False) -> None:
        stream = sys.stderr if err else sys.stdout
        if bar is not None:
            bar.write(line, file=stream)
        else:
            print(line, file=stream, flush=True)

    def on_event(event) -> None:
        nonlocal bar
        if isinstance(event, Progress):
            if quiet:
                return
            if bar is None:
                from tqdm import tqdm

                bar = tqdm(total=event.total, initial=event.step, unit="step", dynamic_ncols=True, file=sys.stderr, desc="training")
            bar.n = event.step
            post = {k.split(".", 1)[1]: f"{v:.3g}" for k, v in losses.items() if k.startswith("loss.")}
            post["img/s"] = f"{event.images_per_s:.0f}"
            if event.eta_s is not None:
                post["eta"] = _format_duration(event.eta_s)
            bar.set_postfix(post, refresh=False)
            bar.refresh()
        elif isinstance(event, Metrics):
            losses.update({k: v for k, v in event.values.items() if k.startswith("loss.")})
        elif isinstance(event, Health):
            if event.state in ("warn", "bad"):
                write(format_warning(event), err=True)
            elif not quiet:
                write(f"{event.key}: back to ok at step {event.step}")
        elif isinstance(event, Log):
            if event.level == "error" or (rank > 0 and event.level != "warning"):
                return  # tracebacks: the Failed line says what happened
            if event.level == "warning":
                write(f"warning: {event.message}", err=True)
            elif not quiet:
                write(event.message)
        elif isinstance(event, CheckpointSaved):
            pass

    from imgen_desktop.core.process_runner import restore_signals, stop_on_signals

    def on_stop(name: str) -> None:
        how = "Ctrl+C" if name == "SIGINT" else name
        write(f"stopping ({how}): saving the checkpoint and the model (Ctrl+C again to abort)", err=True)

    first_signal: list[float] = []

    def on_first_signal(name: str) -> None:
        first_signal.append(time.monotonic())
        if rank == 0:
            on_stop(name)

    def abort() -> None:
        # under torchrun one Ctrl+C reaches each process twice (from the terminal, and forwarded
        # by torchrun): a repeat within 2 s is that copy, not a second Ctrl+C
        if distributed and first_signal and time.monotonic() - first_signal[0] < 2.0:
            return
        raise KeyboardInterrupt

    # SIGINT (Ctrl+C), SIGTERM (kill, a scheduler) and SIGHUP (the terminal closed) all stop and save
    previous = stop_on_signals(token, on_first_signal, abort)
    from imgen_desktop.core.trainer import train

    try:
        result = train(config, on_event, token, resume=bool(args.resume))
    finally:
        restore_signals(previous)
        if bar is not None:
            bar.close()
    if isinstance(result, Failed):
        where = f" (process {rank})" if rank else ""
        print(f"imgen: error{where}: {result.message}", file=sys.stderr)
        return 1
    assert isinstance(result, Finished)
    if rank > 0:
        how = "stopped" if result.stopped_early else "finished"
        print(f"process {rank}: {how} at step {result.step} (rank 0 saved the run and the model)", flush=True)
        return 0
    elapsed = _format_duration(float(result.summary.get("elapsed_s", 0.0)))
    loss_text = ", ".join(f"{k} {v:.4g}" for k, v in result.summary.items()
                          if (k.startswith("loss.") or k == "val.loss") and isinstance(v, float))
    if result.stopped_early:
        print(f"stopped at step {result.step}, saved: model {result.model_path}; run {result.run_dir} (resume with --resume {result.model_name})")
    else:
        print(f"trained {result.model_name}: {result.step} steps in {elapsed}" + (f" ({loss_text})" if loss_text else ""))
        print(f"model: {result.model_path}")
        print(f"run:   {result.run_dir}")
    return 0


def _cmd_generate(args) -> int:
    from pathlib import Path

    from imgen_desktop.core.config import GENERATE_BOUNDS, check_bounds
    from imgen_desktop.core.errors import ImgenError
    from imgen_desktop.core.generate import load_generator, save_images

    check_bounds({"n": args.n, "seed": args.seed}, GENERATE_BOUNDS)
    if not str(args.output).strip():
        raise ImgenError("-o needs a file or folder name")
    gen = load_generator(args.model, args.device)
    if args.interpolate:
        images = gen.interpolate(args.seed, args.seed + 1, max(2, args.n))
    else:
        images = gen.sample(args.n, args.seed)
    out = Path(args.output)
    save_images(images, out, args.seed, args.interpolate)  # the Generate view saves through it too
    if out.suffix.lower() == ".png":
        print(f"wrote a grid of {len(images)} image(s) to {out}")
    else:
        print(f"wrote {len(images)} image(s) to {out}/")
    return 0


def _noise_level(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 255.0:
        raise argparse.ArgumentTypeError(f"the noise level is a sigma on the 0-255 scale (e.g. 25), not {text}")
    return value


def _cmd_enhance(args) -> int:
    from tqdm import tqdm

    from imgen_desktop.core.control import ControlToken
    from imgen_desktop.core.enhance import SKIPPED, EnhanceOptions, enhance_files

    token = ControlToken()
    bar = None
    state = {"name": ""}
    options = EnhanceOptions(
        tile=args.tile, passes=args.passes, noise_level=args.noise_level, variation_seed=args.variation_seed,
        mask=args.mask, device=args.device, format=args.format, quality=args.quality, overwrite=args.overwrite,
        precision=args.precision,
        name_template=args.name_template,
    )
    if args.precision == "bf16" and not args.quiet:
        from imgen_desktop.core.devices import resolve_device
        from imgen_desktop.core.precision import resolve_precision

        note = resolve_precision("bf16", resolve_device(args.device)).note
        if note:
            print(f"imgen: note: {note}", file=sys.stderr)

    def on_resumed(counts) -> None:
        if args.quiet:
            return
        if counts.left or counts.failed:
            print(f"Continuing the unfinished batch in {args.output}: {counts.text()}.", file=sys.stderr)
        else:
            print(f"This batch is already complete in {args.output}: {counts.text()}.", file=sys.stderr)

    def on_file_started(index: int, total: int, path, _target) -> None:
        state["name"] = f"[{index + 1}/{total}] {path.name}" if total > 1 else path.name

    def on_file_progress(_index: int, done: int, total: int) -> None:
        nonlocal bar
        if args.quiet:
            return
        if done == 0 or bar is None:
            if bar is not None:
                bar.close()
            bar = tqdm(total=total, desc=state["name"], unit="tile", leave=False, file=sys.stderr)
        bar.n = done
        bar.refresh()

    try:
        results = enhance_files(args.inputs, args.output, args.model, options, on_file_started=on_file_started,
                                on_file_progress=on_file_progress, token=token, on_resumed=on_resumed)
    finally:
        if bar is not None:
            bar.close()
    failed = 0
    for result in results:
        if result.ok:
            if not args.quiet:
                note = " (already done, skipped)" if result.status == SKIPPED else ""
                print(f"{result.input} -> {result.output}{note}")
        else:
            failed += 1
            print(f"imgen: error: {result.error}", file=sys.stderr)
    if not results:
        print("imgen: error: no images to enhance", file=sys.stderr)
        return 1
    if len(results) > 1 and not args.quiet:
        skipped = sum(r.status == SKIPPED for r in results)
        print(f"Batch finished: {len(results) - failed} done ({skipped} already done before), 0 left, {failed} failed.",
              file=sys.stderr)
    return 1 if failed else 0


def _format_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _cmd_models(args) -> int:
    import datetime

    from imgen_desktop.core.store import ModelStore

    store = ModelStore()
    action = args.models_command
    if action == "list":
        infos = store.list()
        if not infos:
            print(f"no models yet in {store.root}")
            return 0
        print(f"{'NAME':<28} {'FAMILY':<6} {'TASK':<12} {'CREATED':<16} {'SIZE':>9}")
        for info in infos:
            if not info.ok:
                print(f"{info.name:<28} unreadable: {info.error}")
                continue
            task = info.task + (f" x{info.scale}" if info.task == "upscale" else "")
            created = datetime.datetime.fromtimestamp(info.created).strftime("%Y-%m-%d %H:%M") if info.created else "-"
            print(f"{info.name:<28} {info.family.upper():<6} {task:<12} {created:<16} {_format_size(info.size_bytes):>9}")
        return 0
    if action == "import":
        info = store.import_file(args.path, args.name)
        print(f"imported {info.describe()} -> {info.path}")
        return 0
    if action == "export":
        out = store.export(args.name, args.out, overwrite=args.overwrite)
        print(f"exported {args.name} -> {out}")
        return 0
    if action == "remove":
        store.remove(args.name)
        print(f"removed {args.name}")
        return 0
    return 2


# --- runs and queue (compare runs, training queue) ----------------------------------------------

def _add_runs(sub) -> None:
    r = sub.add_parser("runs", help="list, show and compare training runs")
    rsub = r.add_subparsers(dest="runs_command", metavar="ACTION", parser_class=_Parser)
    rsub.required = True
    rsub.add_parser("list", help="every run, newest first")
    rs = rsub.add_parser("show", help="one run's settings, progress and last values")
    rs.add_argument("name")
    rp = rsub.add_parser("plot", help="overlay runs' loss curves in one PNG chart")
    rp.add_argument("names", nargs="+", metavar="NAME")
    rp.add_argument("-o", "--output", required=True, help="OUT.png")
    rp.add_argument("--x", choices=["step", "time"], default="step", help="align on step or on training time")
    rp.add_argument("--smooth", type=int, default=0, metavar="N", help="smooth: exponential moving average over about N logged points")
    rp.add_argument("--log", action="store_true", help="logarithmic loss axis")
    rp.add_argument("--metric", action="append", default=None, metavar="KEY",
                    help="plot this metric instead of the losses (repeatable), e.g. health.diversity")
    rp.add_argument("--size", default="1200x700", help="picture size WIDTHxHEIGHT in pixels")


def _add_queue(sub) -> None:
    q = sub.add_parser("queue", help="queue trainings that run one after another")
    qsub = q.add_subparsers(dest="queue_command", metavar="ACTION", parser_class=_Parser)
    qsub.required = True
    qa = qsub.add_parser("add", help="queue a training (the same options as imgen train)")
    _add_train_options(qa)
    qsub.add_parser("list", help="the queue, in order")
    qr = qsub.add_parser("remove", help="take an entry out of the queue")
    qr.add_argument("id", type=int)
    qm = qsub.add_parser("move", help="move an entry to position POS (1 = next)")
    qm.add_argument("id", type=int)
    qm.add_argument("position", type=int, metavar="POS")
    qsub.add_parser("pause", help="start no further entry (the current one finishes)")
    qsub.add_parser("resume", help="let the queue start entries again")
    qt = qsub.add_parser("retry", help="queue a failed or stopped entry again")
    qt.add_argument("id", type=int)
    qsub.add_parser("clear", help="remove the entries that are done")
    qn = qsub.add_parser("run", help="run the queue to its end (Ctrl+C stops and saves; run again to continue)")
    qn.add_argument("--quiet", action="store_true", help="no progress bar")


def _date(stamp: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M") if stamp else "-"


def _short_data(data: str) -> str:
    from pathlib import Path

    return data.split(":", 1)[1] if data.startswith("builtin:") else (Path(data).name or data)


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _losses_text(values: dict) -> str:
    return " ".join(f"{k.split('.', 1)[1]} {v:.3g}" for k, v in values.items()) or "-"


def _cmd_runs(args) -> int:
    from imgen_desktop.core import runs
    from imgen_desktop.core.errors import ImgenError
    from imgen_desktop.core.tasks import task_cli_title

    action = args.runs_command
    if action == "list":
        found = runs.list_runs()
        if not found:
            print("no runs yet; train one with imgen train")
            return 0
        w = min(32, max(4, *(len(r.name) for r in found)))
        print(f"{'NAME':<{w}}  {'FAMILY':<6} {'TASK':<11} {'DATASET':<14} {'STEPS':>13}  {'FINAL LOSSES':<34} DATE")
        for r in found:
            steps = f"{r.steps_reached:,}/{r.steps_planned:,}" if r.steps_planned else f"{r.steps_reached:,}"
            if r.problem and not r.family:
                print(f"{_fit(r.name, w):<{w}}  damaged: {r.problem} ({steps} steps recorded)")
                continue
            task = task_cli_title(r.task, r.scale)
            print(f"{_fit(r.name, w):<{w}}  {r.family.upper():<6} {task:<11} {_fit(_short_data(r.dataset), 14):<14} {steps:>13}  "
                  f"{_fit(_losses_text(r.final_losses), 34):<34} {_date(r.updated)}")
        return 0
    if action == "show":
        return _show_run(args.name)
    if action == "plot":
        from imgen_desktop.core.runplot import write_plot

        try:
            width, height = (int(v) for v in args.size.lower().split("x"))
        except ValueError:
            raise ImgenError(f"--size must be WIDTHxHEIGHT, e.g. 1200x700 (not {args.size!r})") from None
        if not (320 <= width <= 8000 and 240 <= height <= 8000):
            raise ImgenError("--size must be between 320x240 and 8000x8000 pixels")
        for name in args.names:
            _check_run_name(name)
        data = write_plot(args.names, args.output, x=args.x, smoothing=args.smooth, log=args.log, keys=args.metric,
                          size=(width, height))
        for note in data.notes:
            print(f"note: {note}", file=sys.stderr)
        print(f"wrote {len(data.series)} curve(s) of {len(data.runs)} run(s) to {args.output}")
        return 0
    return 2


def _check_run_name(name: str) -> None:
    from imgen_desktop.core.paths import run_dir

    run_dir(name)  # the one validator: no separators, '..', absolute paths or links out of runs/


def _split_text(folder) -> str:
    from imgen_desktop.core.datasets import load_split
    from imgen_desktop.core.errors import ImgenError

    try:
        split = load_split(folder)
    except ImgenError as exc:
        return str(exc)
    if split is None:
        return "off (no pictures held out)"
    return f"{len(split.held_out)} of {split.count} picture(s) held out ({split.share:.0%}), curve val.loss"


def _show_run(name: str) -> int:
    from imgen_desktop.core import runs
    from imgen_desktop.core.errors import ImgenError
    from imgen_desktop.core.tasks import task_cli_title

    _check_run_name(name)
    if not runs.run_folder(name).is_dir():
        raise ImgenError(f"no run named {name!r} in {runs.run_folder(name).parent}")
    r = runs.read_run(name)
    rows = [("run", r.name), ("folder", str(runs.run_folder(name)))]
    if r.problem:
        rows.append(("problem", r.problem))
    if r.family:
        rows += [("family", r.family.upper()), ("task", task_cli_title(r.task, r.scale)), ("dataset", r.dataset)]
    state = "finished" if r.finished else "resumable" if r.resumable else "not resumable (no checkpoint)"
    planned = f" of {r.steps_planned:,}" if r.steps_planned else ""
    rows.append(("steps", f"{r.steps_reached:,}{planned} ({state})"))
    rows.append(("training time", _format_duration(r.train_time_s)))
    rows.append(("dates", f"started {_date(r.created)}, last written {_date(r.updated)}"))
    rows.append(("model", r.model_path or "not exported yet"))
    rows.append(("validation", _split_text(runs.run_folder(name))))
    grids = runs.sample_grids(name, "samples")
    kinds = sorted({g.kind for g in runs.sample_grids(name)} - {"samples"})
    if grids:
        extra = f"; also {', '.join(kinds)}" if kinds else ""
        rows.append(("sample grids", f"{len(grids)} (steps {grids[0].step:,} to {grids[-1].step:,}){extra}"))
    else:
        rows.append(("sample grids", "none"))
    w = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{w}}  {value}")
    curves = runs.read_curves(name)
    last = [(k, c.last()) for k, c in curves.items()]
    last = [(k, v) for k, v in last if v is not None]
    if last:
        print("\nlast values")
        labels = {k: f"{runs.metric_label(k)} ({k})" for k, _ in last}
        lw = max(len(t) for t in labels.values())
        order = sorted(last, key=lambda kv: (not kv[0].startswith("loss."), not kv[0].startswith("val."),
                                             not kv[0].startswith("health."), kv[0]))
        for key, (step, value) in order:
            print(f"  {labels[key]:<{lw}}  {value:>10.4g}  at step {step:,}")
    if not r.problem or r.family:
        try:
            import json

            config = json.loads((runs.run_folder(name) / runs.CONFIG).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            config = None
        if isinstance(config, dict):
            items = [(k, json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else str(v)) for k, v in sorted(config.items())]
            print("\nsettings")
            kw = max(len(k) for k, _ in items)
            vw = max(len(v) for _, v in items if len(v) <= 24) if items else 10
            half = (len(items) + 1) // 2
            for left, right in zip(items[:half], items[half:] + [("", "")]):
                text = f"  {left[0]:<{kw}}  {_fit(left[1], 24):<{vw}}"
                if right[0]:
                    text += f"    {right[0]:<{kw}}  {_fit(right[1], 24)}"
                print(text.rstrip())
    return 0


def _stop_signals(token, on_stop) -> dict:
    """SIGINT, SIGTERM and SIGHUP stop the current training as Stop does; a second Ctrl+C aborts."""
    from imgen_desktop.core.process_runner import stop_on_signals

    def abort() -> None:
        raise KeyboardInterrupt

    return stop_on_signals(token, on_stop, abort)


def _restore_signals(previous: dict) -> None:
    from imgen_desktop.core.process_runner import restore_signals

    restore_signals(previous)


def _queue_table(queue) -> None:
    from imgen_desktop.core import runs

    entries = queue.entries()
    head = "the queue is paused" if queue.paused else "the queue is running" if queue.running else ""
    if not entries:
        print("the queue is empty; add trainings with imgen queue add" + (f" ({head})" if head else ""))
        return
    if head:
        print(head)
    w = min(32, max(4, *(len(e.name or "(automatic)") for e in entries)))
    print(f"{'ID':>3}  {'STATE':<8} {'NAME':<{w}}  {'TRAINS':<42} {'STEP':>13}  MESSAGE")
    for e in entries:
        step = e.step
        if e.state == "running" and e.name:
            step = max(step, runs.read_run(e.name).steps_reached)
        steps = f"{step:,}/{e.config.steps:,}" if (step or e.state != "queued") else "-"
        print(f"{e.id:>3}  {e.state:<8} {_fit(e.name or '(automatic)', w):<{w}}  {_fit(e.describe(), 42):<42} {steps:>13}  {e.message}".rstrip())


def _cmd_queue(args) -> int:
    from imgen_desktop.core.queue import TrainingQueue

    queue = TrainingQueue()
    action = args.queue_command

    def warn() -> None:
        for line in queue.warnings:
            print(f"warning: {line}", file=sys.stderr)
        queue.warnings.clear()

    try:
        if action == "add":
            entry = queue.add(_train_config(args), resume=bool(args.resume))
            name = f"run {entry.name}" if entry.name else "automatic run name"
            print(f"queued entry {entry.id}: {entry.describe()} ({name}); start the queue with imgen queue run")
        elif action == "list":
            _queue_table(queue)
        elif action == "remove":
            entry = queue.remove(args.id)
            print(f"removed entry {entry.id} ({entry.describe()})")
        elif action == "move":
            order = queue.move(args.id, args.position)
            print(f"moved entry {args.id} to position {[e.id for e in order].index(args.id) + 1}")
        elif action in ("pause", "resume"):
            queue.set_paused(action == "pause")
            print("the queue is paused: no further entry starts" if action == "pause" else "the queue is no longer paused")
        elif action == "retry":
            entry = queue.retry(args.id)
            print(f"entry {entry.id} is queued again")
        elif action == "clear":
            count = queue.clear_finished()
            print(f"removed {count} finished entr{'y' if count == 1 else 'ies'}")
        elif action == "run":
            return _run_queue(queue, args.quiet, warn)
        return 0
    finally:
        warn()


def _run_queue(queue, quiet: bool, warn) -> int:
    from imgen_desktop.core.control import ControlToken
    from imgen_desktop.core.errors import ImgenError
    from imgen_desktop.core.events import Health, Log, Metrics, Progress
    from imgen_desktop.core.health import format_warning

    if queue.paused:
        raise ImgenError("the queue is paused; let it run again with imgen queue resume")
    token = ControlToken()
    state = {"bar": None, "losses": {}, "count": 0}

    def write(line: str, err: bool = False) -> None:
        stream = sys.stderr if err else sys.stdout
        if state["bar"] is not None:
            state["bar"].write(line, file=stream)
        else:
            print(line, file=stream, flush=True)

    def close_bar() -> None:
        if state["bar"] is not None:
            state["bar"].close()
            state["bar"] = None

    def on_entry(entry) -> None:
        warn()
        if entry.state == "running":
            state["count"] += 1
            state["losses"] = {}
            write(f"entry {entry.id}: {entry.describe()} -> run {entry.name}" + (f" ({entry.message})" if entry.message else ""))
            return
        close_bar()
        line = f"entry {entry.id} {entry.state}: {entry.message}"
        write(line, err=entry.state == "failed")

    def on_event(event) -> None:
        if isinstance(event, Progress):
            if quiet:
                return
            if state["bar"] is None:
                from tqdm import tqdm

                state["bar"] = tqdm(total=event.total, initial=event.step, unit="step", dynamic_ncols=True, file=sys.stderr,
                                    desc="training", leave=False)
            bar = state["bar"]
            bar.n = event.step
            post = {k.split(".", 1)[1]: f"{v:.3g}" for k, v in state["losses"].items()}
            if event.eta_s is not None:
                post["eta"] = _format_duration(event.eta_s)
            bar.set_postfix(post, refresh=False)
            bar.refresh()
        elif isinstance(event, Metrics):
            state["losses"].update({k: v for k, v in event.values.items() if k.startswith("loss.")})
        elif isinstance(event, Health) and event.state in ("warn", "bad"):
            write(format_warning(event), err=True)
        elif isinstance(event, Log) and event.level == "warning":
            write(f"warning: {event.message}", err=True)

    def on_stop(signame: str) -> None:
        how = "Ctrl+C" if signame == "SIGINT" else signame
        write(f"stopping ({how}): saving the current entry's checkpoint and model (Ctrl+C again to abort)", err=True)

    previous = _stop_signals(token, on_stop)
    try:
        report = queue.run_all(on_event, token, on_entry)
    finally:
        _restore_signals(previous)
        close_bar()
    parts = [f"{len(report.done)} done"] + ([f"{len(report.failed)} failed"] if report.failed else [])
    parts += [f"{len(report.stopped)} stopped"] if report.stopped else []
    if not state["count"]:
        print("the queue has nothing to run; add trainings with imgen queue add")
        return 0
    if report.stopped:
        print(f"queue stopped ({', '.join(parts)}); imgen queue run continues it")
    elif report.paused:
        print(f"queue paused ({', '.join(parts)}); imgen queue resume, then imgen queue run, continues it")
    else:
        print(f"queue finished: {', '.join(parts)}")
    return 1 if report.failed else 0


_ONE_LINE_COMMANDS = ("train", "models", "generate", "runs", "queue")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command == "train" and not args.family and not args.resume:
        parser.error("train: --family is required (unless --resume NAME continues a run)")
    if args.command == "queue" and args.queue_command == "add" and not args.family and not args.resume:
        parser.error("queue add: --family is required (unless --resume NAME continues a run)")
    from imgen_desktop.core.errors import ImgenError

    if args.command in _ONE_LINE_COMMANDS:
        _quiet_libraries()
    _clean_stale_temporaries()
    handler = {
        "devices": _cmd_devices,
        "train": _cmd_train,
        "generate": _cmd_generate,
        "enhance": _cmd_enhance,
        "models": _cmd_models,
        "runs": _cmd_runs,
        "queue": _cmd_queue,
    }[args.command]
    try:
        return int(handler(args) or 0)
    except BrokenPipeError:
        # the reader went away (``imgen runs list | head``): stop quietly, like other tools
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except ImgenError as exc:
        print(f"imgen: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("imgen: interrupted", file=sys.stderr)
        return 1
    except MemoryError:
        print("imgen: error: out of memory; try a smaller batch, image or tile size", file=sys.stderr)
        return 1
    except OSError as exc:
        if args.command not in _ONE_LINE_COMMANDS or not exc.strerror:
            raise
        where = f": {exc.filename}" if exc.filename else ""
        print(f"imgen: error: {exc.strerror}{where}", file=sys.stderr)
        return 1


def _clean_stale_temporaries() -> None:
    """Remove temporaries that interrupted atomic writes left in the data root's own folders
    (models/, runs/; only our temp-name patterns, only stale ones). Best effort: a data root that
    cannot be used is reported by the command itself."""
    try:
        from imgen_desktop.core.atomic import clean_data_root
        from imgen_desktop.core.paths import data_root

        clean_data_root(data_root())
    except Exception:  # noqa: BLE001 - never stop a command for housekeeping
        pass


def _quiet_libraries() -> None:
    """Library warnings (torch's UserWarnings, libtorch's C++ log lines) must not break the
    one-line promise on stderr; ``IMGEN_DEBUG=1`` shows them."""
    import os
    import warnings

    if os.environ.get("IMGEN_DEBUG"):
        return
    os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "ERROR")
    warnings.filterwarnings("ignore")


if __name__ == "__main__":
    raise SystemExit(main())
