"""``imgen``: the same engine as the GUI, from a terminal.

Exit status: 0 success, 1 user-facing error (one clear line on stderr), 2 bad usage.
Each sub-command's handler is a ``_cmd_<name>`` function below; heavy imports stay inside
handlers so ``imgen --help`` is instant.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from imgen_desktop import __version__


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # bad usage -> exit 2 with one line
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a GAN, VAE or RNN model", description="Train a model; Ctrl+C stops and saves.")
    p.add_argument("--family", choices=["gan", "vae", "rnn"], required=True)
    p.add_argument("--task", choices=["generate", "upscale", "denoise", "inpaint"], default="generate")
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
    # remedies and family options (see the training health guide)
    p.add_argument("--loss", dest="gan_loss", choices=["nonsat", "hinge", "wgan-gp", "bce"], default=None, help="GAN loss")
    p.add_argument("--spectral-norm", action=argparse.BooleanOptionalAction, default=None, help="GAN: spectral norm in D")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None, help="GAN: DiffAugment")
    p.add_argument("--ema", type=float, default=None, help="GAN: generator EMA decay (0 = off)")
    p.add_argument("--adv-weight", type=float, default=None, help="enhancement GAN: adversarial weight (0 = plain L1)")
    p.add_argument("--beta", type=float, default=None, help="VAE: KL weight")
    p.add_argument("--kl-warmup", type=int, default=None, help="VAE: KL warm-up steps")
    p.add_argument("--free-bits", type=float, default=None, help="VAE: free bits (nats per latent dim)")
    p.add_argument("--clip-grad", type=float, default=None, help="gradient clipping norm (0 = off)")
    p.add_argument("--rnn-steps", type=int, default=None, help="RNN: unroll length")
    p.add_argument("--no-amp", action="store_true", help="disable mixed precision on CUDA")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="imgen", description="Imgen Desktop from the terminal: train, generate, enhance, manage models.")
    parser.add_argument("--version", action="version", version=f"imgen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    sub.add_parser("devices", help="list the compute devices (cpu, cuda:N, mps)")
    _add_train(sub)

    g = sub.add_parser("generate", help="sample images from a generative model")
    g.add_argument("--model", required=True, help="NAME or PATH of a generate model")
    g.add_argument("-n", type=int, default=16, help="number of images")
    g.add_argument("-o", "--output", required=True, help="OUT.png: one grid; otherwise a folder of N PNGs")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--interpolate", action="store_true", help="GAN/VAE/RNN: N steps between two random latents")
    g.add_argument("--device", default="auto")

    e = sub.add_parser("enhance", help="upscale, denoise or inpaint photos")
    e.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    e.add_argument("-o", "--output", required=True, help="output file (one input) or folder")
    e.add_argument("--model", required=True, help="builtin:NAME | NAME | PATH")
    e.add_argument("--tile", type=int, default=None, help="tile size in pixels; 0 = whole image at once")
    e.add_argument("--device", default="auto")
    e.add_argument("--format", default=None, choices=["png", "jpeg", "webp", "tiff"], help="output format")
    e.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality")
    e.add_argument("--mask", default=None, help="inpaint: mask image (white = fill)")
    e.add_argument("--variation-seed", type=int, default=None, help="VAE models: sample a variation")
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


def _cmd_train(args) -> int:
    raise NotImplementedError("imgen train")


def _cmd_generate(args) -> int:
    raise NotImplementedError("imgen generate")


def _cmd_enhance(args) -> int:
    raise NotImplementedError("imgen enhance")


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
        out = store.export(args.name, args.out)
        print(f"exported {args.name} -> {out}")
        return 0
    if action == "remove":
        store.remove(args.name)
        print(f"removed {args.name}")
        return 0
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    from imgen_desktop.core.errors import ImgenError

    handler = {
        "devices": _cmd_devices,
        "train": _cmd_train,
        "generate": _cmd_generate,
        "enhance": _cmd_enhance,
        "models": _cmd_models,
    }[args.command]
    try:
        return int(handler(args) or 0)
    except ImgenError as exc:
        print(f"imgen: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("imgen: interrupted", file=sys.stderr)
        return 1
    except MemoryError:
        print("imgen: error: out of memory; try a smaller batch, image or tile size", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
