"""``imgen-desktop --self-test``: a headless check that an installed or bundled app works.

It resolves the shipped resources, loads every built-in model, enhances a crop of a bundled
sample photo, trains a tiny GAN for a few steps in a spawned child process (the Train panel's
path, which in a bundle re-enters the executable through ``multiprocessing.freeze_support``) and
exports it to the model store, opens the main window offscreen, checks that user data goes
only to the per-user data folder (never inside the application folder), and reports the torch build against the GPU
that is present. One line per check, then ``self-test: N/M passed``; exit status 0 or 1.

Unless ``IMGEN_HOME`` is set, the test works in a temporary data root (removed afterwards), so
an offscreen window never overwrites the user's real window layout or settings.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable

PHOTO_PREFERENCE = ("astronaut.png", "coffee.png", "rocket.jpg")
TRAIN_STEPS = 3
CROP = 48  # pixels: enough to exercise padding and tiling, quick on any CPU


class CheckFailed(Exception):
    """A check found something wrong (the message says what)."""


def app_folder() -> Path:
    """The folder the application runs from: the bundle folder, or the resources' parent."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve().parent
    from imgen_desktop.core.paths import resources_dir

    return resources_dir().resolve()


def default_data_root() -> Path:
    """Where user data goes when ``IMGEN_HOME`` is not set (the platform's per-user folder)."""
    from imgen_desktop.core import paths

    saved = os.environ.pop("IMGEN_HOME", None)
    try:
        return paths.data_root().resolve()
    finally:
        if saved is not None:
            os.environ["IMGEN_HOME"] = saved


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Relative path -> (size, mtime_ns) of every file under ``folder``."""
    out = {}
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                st = os.stat(path)
            except OSError:
                continue
            out[os.path.relpath(path, folder)] = (st.st_size, st.st_mtime_ns)
    return out


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


class SelfTest:
    def __init__(self) -> None:
        self.results: list[tuple[str, bool, str]] = []
        self.builtin_models: list[str] = []

    # --- the checks, in order -------------------------------------------------------------
    def check_resources(self) -> str:
        from imgen_desktop.core.paths import resource_path, resources_dir

        root = resources_dir()
        missing = [p for p in ("icons/imgen-desktop.png", "imgen-desktop.desktop") if not resource_path(*p.split("/")).is_file()]
        if missing:
            raise CheckFailed(f"missing in {root}: {', '.join(missing)}")
        self.builtin_models = sorted(p.stem for p in (root / "models").glob("*.safetensors"))
        if not self.builtin_models:
            raise CheckFailed(f"no built-in models in {root / 'models'}")
        if self._sample_photo() is None:
            raise CheckFailed(f"no sample photo in {root / 'photos'}")
        return f"{root} ({len(self.builtin_models)} built-in models)"

    def check_torch(self) -> str:
        import torch

        from imgen_desktop.core.devices import cpu_only_build_warning, list_devices, nvidia_gpu_present

        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU-only build"
        devices = ", ".join(d.id for d in list_devices())
        text = f"torch {torch.__version__} ({build}); devices: {devices}; NVIDIA GPU present: {'yes' if nvidia_gpu_present() else 'no'}"
        warning = cpu_only_build_warning()
        if warning:
            text += f"; WARNING: {warning}"
        return text

    def check_models(self) -> str:
        from imgen_desktop.core.enhance import list_enhancement_models, open_model

        if not self.builtin_models:
            raise CheckFailed("no built-in models were found (see the resources check)")
        loaded = []
        for name in self.builtin_models:
            model = open_model(f"builtin:{name}", device="cpu")
            loaded.append(f"{name} ({model.task} x{model.scale})" if model.scale != 1 else f"{name} ({model.task})")
        listed = {m.spec for m in list_enhancement_models() if m.builtin}
        unlisted = [n for n in self.builtin_models if f"builtin:{n}" not in listed]
        if unlisted:
            raise CheckFailed(f"not offered in the model list: {', '.join(unlisted)}")
        return "loaded " + ", ".join(loaded)

    def check_enhance(self) -> str:
        import numpy as np

        from imgen_desktop.core.enhance import enhance_photo, open_model
        from imgen_desktop.core.imageio import load_image

        name = next((n for n in ("upscale-x2", "denoise", "upscale-x4") if n in self.builtin_models), None)
        if name is None:
            name = next((n for n in self.builtin_models if not n.startswith("inpaint")), None)
        if name is None:
            raise CheckFailed("no built-in upscale or denoise model to try")
        photo_path = self._sample_photo()
        photo = load_image(photo_path)
        h, w = photo.pixels.shape[:2]
        top, left = max(0, h // 2 - CROP // 2), max(0, w // 2 - CROP // 2)
        crop = dataclasses.replace(
            photo,
            pixels=np.ascontiguousarray(photo.pixels[top : top + CROP, left : left + CROP]),
            alpha=None if photo.alpha is None else np.ascontiguousarray(photo.alpha[top : top + CROP, left : left + CROP]),
        )
        model = open_model(f"builtin:{name}", device="cpu")
        calls = []
        out = enhance_photo(crop, model, progress=lambda done, total: calls.append((done, total)))
        ch, cw = crop.pixels.shape[:2]
        want = (ch * model.scale, cw * model.scale)
        if out.pixels.shape[:2] != want:
            raise CheckFailed(f"{name} returned {out.pixels.shape[:2]}, expected {want}")
        if out.pixels.dtype != crop.pixels.dtype:
            raise CheckFailed(f"{name} returned {out.pixels.dtype} pixels for a {crop.pixels.dtype} photo")
        if int(out.pixels.max()) == int(out.pixels.min()):
            raise CheckFailed(f"{name} returned a flat image")
        if not calls or calls[-1][0] != calls[-1][1]:
            raise CheckFailed(f"progress did not reach the end: {calls[-1:]}")
        return f"{name} on a {cw}x{ch} crop of {photo_path.name} -> {want[1]}x{want[0]}"

    def check_training(self) -> str:
        from imgen_desktop.core.config import TrainConfig
        from imgen_desktop.core.events import Finished
        from imgen_desktop.core.process_runner import train_in_process
        from imgen_desktop.core.store import ModelStore

        config = TrainConfig(family="gan", task="generate", data="builtin:digits", image_size=16, width=8, z_dim=16,
                             batch_size=8, steps=TRAIN_STEPS, sample_every=0, checkpoint_every=0, device="cpu",
                             name="self-test-gan", ema=0.0)
        events: list = []
        result = train_in_process(config, events.append)
        if not isinstance(result, Finished):
            raise CheckFailed(f"training failed: {getattr(result, 'message', result)}")
        kinds = {type(e).__name__ for e in events}
        if "Metrics" not in kinds:
            raise CheckFailed(f"no loss values arrived from the child (events: {', '.join(sorted(kinds))})")
        store = ModelStore()
        if not store.exists(result.model_name):
            raise CheckFailed(f"the trained model {result.model_name!r} is not in the model store")
        return f"GAN {TRAIN_STEPS} steps on builtin:digits in a child process; exported {store.get(result.model_name).path.name}"

    def check_window(self) -> str:
        from PySide6.QtCore import QCoreApplication, QEventLoop
        from PySide6.QtWidgets import QApplication

        from imgen_desktop.ui.application import create_main_window

        start = time.perf_counter()
        window = create_main_window()
        window.show()
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.01)
        shown = time.perf_counter() - start
        if window.objectName() != "MainWindow" or not window.isVisible():
            raise CheckFailed("the main window did not appear")
        names = ("trainPanel", "enhanceCanvas", "modelsPanel")
        from PySide6.QtWidgets import QWidget

        missing = [n for n in names if window.findChild(QWidget, n) is None]
        window.close()
        QCoreApplication.processEvents()
        app = QApplication.instance()
        platform = app.platformName() if app else "?"
        if missing:
            raise CheckFailed(f"the window lacks {', '.join(missing)}")
        return f"main window shown and closed on the {platform!r} platform ({shown:.2f} s)"

    def check_user_data(self, before: dict, folder: Path, data_root: Path) -> str:
        from imgen_desktop.core import paths

        default = default_data_root()
        if _inside(default, folder):
            raise CheckFailed(f"the default data folder {default} is inside the application folder {folder}")
        if _inside(data_root, folder):
            raise CheckFailed(f"the data root {data_root} is inside the application folder {folder}")
        after = _snapshot(folder)
        changed = sorted(k for k in after if before.get(k) != after[k] and "__pycache__" not in k)
        if changed:
            raise CheckFailed(f"files written inside the application folder {folder}: {', '.join(changed[:5])}")
        if not paths.settings_path().is_file():
            raise CheckFailed(f"the window settings were not written to {paths.settings_path()}")
        return f"default data folder {default}; nothing written inside {folder}"

    # --- running ------------------------------------------------------------------------------
    def _sample_photo(self) -> Path | None:
        from imgen_desktop.core.imageio import IMAGE_EXTENSIONS
        from imgen_desktop.core.paths import resource_path

        folder = resource_path("photos")
        for name in PHOTO_PREFERENCE:
            if (folder / name).is_file():
                return folder / name
        photos = sorted(p for p in folder.glob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
        return photos[0] if photos else None

    def _run(self, name: str, check: Callable[[], str]) -> None:
        start = time.perf_counter()
        try:
            detail = check()
            ok = True
        except CheckFailed as exc:
            ok, detail = False, str(exc)
        except Exception as exc:  # any crash is a failed check, with its cause
            ok = False
            detail = f"{type(exc).__name__}: {exc}"
            if os.environ.get("IMGEN_SELFTEST_TRACEBACK"):
                traceback.print_exc()
        elapsed = time.perf_counter() - start
        self.results.append((name, ok, detail))
        print(f"{'PASS' if ok else 'FAIL'} {name}: {detail} [{elapsed:.2f} s]", flush=True)

    def run(self) -> int:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        temp_root = None
        if not os.environ.get("IMGEN_HOME"):
            temp_root = tempfile.mkdtemp(prefix="imgen-selftest-")
            os.environ["IMGEN_HOME"] = temp_root
        try:
            from imgen_desktop.core import paths

            data_root = paths.data_root().resolve()
            try:
                folder = app_folder()
            except Exception as exc:
                folder = None
                self.results.append(("resources", False, str(exc)))
                print(f"FAIL resources: {exc}", flush=True)
            if folder is not None:
                before = _snapshot(folder)
                self._run("resources", self.check_resources)
                self._run("torch", self.check_torch)
                self._run("models", self.check_models)
                self._run("enhance", self.check_enhance)
                self._run("training", self.check_training)
                self._run("window", self.check_window)
                self._run("user data", lambda: self.check_user_data(before, folder, data_root))
        finally:
            if temp_root:
                os.environ.pop("IMGEN_HOME", None)
                shutil.rmtree(temp_root, ignore_errors=True)
        passed = sum(ok for _, ok, _ in self.results)
        total = len(self.results)
        failed = [name for name, ok, _ in self.results if not ok]
        tail = f" (failed: {', '.join(failed)})" if failed else ""
        print(f"self-test: {passed}/{total} passed{tail}", flush=True)
        return 0 if passed == total and total > 0 else 1


def run_self_test() -> int:
    """Run every check, print one line each and a summary line; 0 if all passed, else 1."""
    return SelfTest().run()
