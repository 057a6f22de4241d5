"""Build Imgen Desktop's Linux bundle, its archive and its .deb.

    .venv/bin/python packaging/build.py            # what `make bundle` runs
    .venv/bin/python packaging/build.py --no-deb   # folder + archive only
    .venv/bin/python packaging/build.py --only-folder

Outputs (in dist/):
  ImgenDesktop/                                   the one-folder PyInstaller build
  imgen-desktop-<version>-linux-x86_64.tar.zst    (.tar.gz when zstd is not installed)
  imgen-desktop_<version>_amd64.deb               installs to /opt/imgen-desktop

On Windows and macOS only the PyInstaller step applies (see packaging/README.md).
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "imgen-desktop.spec"
APP_FOLDER = "ImgenDesktop"
PACKAGE = "imgen-desktop"
INSTALL_DIR = "/opt/imgen-desktop"
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
DEB_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
# Shared libraries the bundle takes from the system (PyInstaller leaves the C library, the GL/EGL
# drivers, fontconfig and X11/xcb/Wayland client libraries to the system; Qt's xcb plugin needs
# libxcb-cursor0 since Qt 6.5).
DEB_DEPENDS = (
    "libc6 (>= 2.28)",
    "libstdc++6",
    "libgl1",
    "libegl1",
    "libfontconfig1",
    "libfreetype6",
    "libglib2.0-0",
    "libdbus-1-3",
    "libx11-6",
    "libx11-xcb1",
    "libxkbcommon0",
    "libxkbcommon-x11-0",
    "libxcb-cursor0",
    "libxcb-icccm4",
    "libxcb-keysyms1",
    "libxcb-shape0",
    "libxcb-xkb1",
    "libwayland-client0",
    "libwayland-cursor0",
)
LAUNCHER = """#!/bin/sh
# Imgen Desktop (installed in {install_dir})
exec {install_dir}/{exe} {extra}"$@"
"""


def version() -> str:
    text = (ROOT / "imgen_desktop" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*"([^"]+)"', text, re.M)
    if not match:
        raise SystemExit("no __version__ in imgen_desktop/__init__.py")
    return match.group(1)


def machine() -> str:
    return platform.machine().lower() or "x86_64"


def archive_name(ver: str, compression: str) -> str:
    return f"{PACKAGE}-{ver}-linux-{machine()}.tar.{compression}"


def deb_name(ver: str) -> str:
    return f"{PACKAGE}_{ver}_{DEB_ARCH.get(machine(), machine())}.deb"


# --- the .deb, described as data so it can be tested without building ----------------------
def glibc_requirement(bundle: Path) -> str | None:
    """The newest ``GLIBC_x.y`` symbol version any ELF file of the bundle needs (``objdump -T``);
    None if objdump is missing. The bundle runs only on systems with at least that glibc."""
    objdump = shutil.which("objdump")
    if objdump is None:
        return None
    files = [str(p) for p in bundle.rglob("*") if p.is_file() and not p.is_symlink() and (".so" in p.name or p.name == APP_FOLDER)]
    newest = (0, 0)
    for start in range(0, len(files), 200):
        out = subprocess.run([objdump, "-T", *files[start : start + 200]], capture_output=True, text=True).stdout
        for match in re.finditer(r"GLIBC_(\d+)\.(\d+)", out):
            newest = max(newest, (int(match.group(1)), int(match.group(2))))
    return f"{newest[0]}.{newest[1]}" if newest > (0, 0) else None


def deb_control(ver: str, installed_size_kib: int, arch: str | None = None, glibc: str | None = None) -> str:
    """The DEBIAN/control file; ``glibc``: the minimum C library version (see glibc_requirement)."""
    arch = arch or DEB_ARCH.get(machine(), machine())
    depends = list(DEB_DEPENDS)
    if glibc:
        depends[0] = f"libc6 (>= {glibc})"
    fields = [
        ("Package", PACKAGE),
        ("Version", ver),
        ("Section", "graphics"),
        ("Priority", "optional"),
        ("Architecture", arch),
        ("Maintainer", "Imgen Desktop developers <imgen-desktop@users.noreply.github.com>"),
        ("Installed-Size", str(int(installed_size_kib))),
        ("Depends", ", ".join(depends)),
        ("Recommends", "hicolor-icon-theme, desktop-file-utils"),
        ("Homepage", "https://github.com/imgen-desktop/imgen-desktop"),
        (
            "Description",
            "train image models and enhance photos on the desktop\n"
            " Imgen Desktop trains GAN, VAE and RNN image models on your own pictures with\n"
            " live feedback, generates new images with them, and upscales, denoises and\n"
            " inpaints photos dropped onto a canvas. Built-in models work out of the box.\n"
            " .\n"
            " This package bundles its own Python, PyTorch (CPU build) and Qt in " + INSTALL_DIR + ".",
        ),
    ]
    return "".join(f"{key}: {value}\n" for key, value in fields)


def deb_layout(bundle: Path) -> dict[str, tuple[str, object]]:
    """Package path -> (kind, source): kind "tree" (copy a folder), "file" (copy a file, 0644),
    "text" (write text, 0644) or "script" (write text, 0755). Paths are relative to the root."""
    resources = ROOT / "resources"
    layout: dict[str, tuple[str, object]] = {
        INSTALL_DIR.lstrip("/"): ("tree", bundle),
        "usr/bin/imgen-desktop": ("script", LAUNCHER.format(install_dir=INSTALL_DIR, exe=APP_FOLDER, extra="")),
        "usr/bin/imgen": ("script", LAUNCHER.format(install_dir=INSTALL_DIR, exe=APP_FOLDER, extra="--cli ")),
        "usr/share/applications/imgen-desktop.desktop": ("file", resources / "imgen-desktop.desktop"),
        "usr/share/icons/hicolor/scalable/apps/imgen-desktop.svg": ("file", resources / "icons" / "imgen-desktop.svg"),
        f"usr/share/doc/{PACKAGE}/copyright": ("text", _copyright()),
    }
    for size in ICON_SIZES:
        rel = f"{size}x{size}/apps/imgen-desktop.png"
        layout[f"usr/share/icons/hicolor/{rel}"] = ("file", resources / "icons" / "hicolor" / rel)
    return layout


def _copyright() -> str:
    return (
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        "Upstream-Name: imgen-desktop\n\n"
        "Files: *\n"
        "Copyright: Imgen Desktop developers\n"
        "License: MIT\n\n"
        f"Files: {INSTALL_DIR}/_internal/*\n"
        "Copyright: the respective authors\n"
        "License: various\n"
        " Bundled third-party components keep their own licences: Python (PSF), PyTorch (BSD-3-Clause),\n"
        " Qt and PySide6 (LGPL-3.0), NumPy and its OpenBLAS (BSD), Pillow (MIT-CMU), pyqtgraph (MIT),\n"
        " safetensors (Apache-2.0). The sample data's attributions are in resources/.\n"
    )


def folder_size(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                total += os.path.getsize(path)
    return total


def deb_compression() -> list[str]:
    """zstd where this dpkg-deb can write it (dpkg >= 1.21.18: installs on Debian 12+, Ubuntu
    21.10+; many times faster to build than xz for 600 MB), else xz. ``IMGEN_DEB_COMPRESSION=xz``
    forces xz for older target systems."""
    forced = os.environ.get("IMGEN_DEB_COMPRESSION", "")
    if forced != "xz":
        try:
            help_text = subprocess.run(["dpkg-deb", "--help"], capture_output=True, text=True).stdout
        except OSError:
            help_text = ""
        if "zstd" in help_text or forced == "zstd":
            return ["-Zzstd", "-z12"]
    return ["-Zxz", "-z6"]


def build_deb(bundle: Path, out: Path, ver: str) -> Path:
    staging = out.parent / "deb-root"
    if staging.exists():
        shutil.rmtree(staging)
    for rel, (kind, source) in deb_layout(bundle).items():
        dest = staging / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if kind == "tree":
            shutil.copytree(source, dest, symlinks=True)
        elif kind == "file":
            shutil.copyfile(source, dest)
            dest.chmod(0o644)
        else:
            dest.write_text(str(source), encoding="utf-8")
            dest.chmod(0o755 if kind == "script" else 0o644)
    for dirpath, dirs, _files in os.walk(staging):
        for d in dirs:
            os.chmod(os.path.join(dirpath, d), 0o755)
    (staging / "DEBIAN").mkdir()
    control = deb_control(ver, (folder_size(staging) + 1023) // 1024, glibc=glibc_requirement(bundle))
    (staging / "DEBIAN" / "control").write_text(control, encoding="utf-8")
    cmd = ["dpkg-deb", "--root-owner-group", *deb_compression(), "--build", str(staging), str(out)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(staging)
    return out


def build_archive(bundle: Path, dist: Path, ver: str) -> Path:
    """A tarball whose top folder is imgen-desktop-<version>/ (zstd if available, else gzip)."""
    top = f"{PACKAGE}-{ver}"
    if shutil.which("zstd") and shutil.which("tar"):
        out = dist / archive_name(ver, "zst")
        tar = subprocess.Popen(
            ["tar", "-C", str(bundle.parent), "--owner=0", "--group=0", "--numeric-owner",
             f"--transform=s,^{bundle.name},{top},", "-cf", "-", bundle.name],
            stdout=subprocess.PIPE,
        )
        with open(out, "wb") as fh:
            zst = subprocess.run(["zstd", "-q", "-15", "-T0", "--long=27", "-c"], stdin=tar.stdout, stdout=fh)
        tar.stdout.close()
        if tar.wait() != 0 or zst.returncode != 0:
            raise SystemExit("creating the .tar.zst failed")
        return out
    out = dist / archive_name(ver, "gz")
    with tarfile.open(out, "w:gz", compresslevel=6) as tf:
        tf.add(bundle, arcname=top)
    return out


def run_pyinstaller(dist: Path, work: Path, clean: bool = False) -> Path:
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
           "--distpath", str(dist), "--workpath", str(work), str(SPEC)]
    if clean:
        cmd.insert(3, "--clean")
    subprocess.run(cmd, check=True, cwd=ROOT)
    return dist / APP_FOLDER


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dist", default=str(ROOT / "dist"), help="output folder (default: dist/)")
    parser.add_argument("--work", default=str(ROOT / "build" / "pyinstaller"), help="PyInstaller's work folder")
    parser.add_argument("--only-folder", action="store_true", help="build dist/ImgenDesktop/ only")
    parser.add_argument("--no-deb", action="store_true", help="skip the .deb")
    parser.add_argument("--clean", action="store_true", help="empty PyInstaller's caches first")
    parser.add_argument("--skip-pyinstaller", action="store_true", help="package an existing dist/ImgenDesktop/")
    args = parser.parse_args(argv)
    dist, ver = Path(args.dist), version()
    dist.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    bundle = dist / APP_FOLDER
    if not args.skip_pyinstaller:
        bundle = run_pyinstaller(dist, Path(args.work), clean=args.clean)
    if not (bundle / APP_FOLDER).exists() and not (bundle / f"{APP_FOLDER}.exe").exists():
        raise SystemExit(f"no bundle in {bundle}")
    print(f"bundle:  {bundle}  {folder_size(bundle) / 1e6:.0f} MB  ({time.perf_counter() - t0:.0f} s)")
    if args.only_folder or not sys.platform.startswith("linux"):
        return 0
    t1 = time.perf_counter()
    archive = build_archive(bundle, dist, ver)
    print(f"archive: {archive}  {archive.stat().st_size / 1e6:.0f} MB  ({time.perf_counter() - t1:.0f} s)")
    if not args.no_deb:
        if shutil.which("dpkg-deb") is None:
            print("dpkg-deb not found: no .deb built")
        else:
            t2 = time.perf_counter()
            deb = build_deb(bundle, dist / deb_name(ver), ver)
            print(f"deb:     {deb}  {deb.stat().st_size / 1e6:.0f} MB  ({time.perf_counter() - t2:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
