"""Packaging: the PyInstaller spec, desktop integration files, icons, build.py's archive and
.deb, and the ``--self-test`` the bundle runs (here from the source tree; the bundle itself is
built and tested by ``make bundle-test``, never inside pytest)."""
from __future__ import annotations

import ast
import configparser
import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "packaging" / "imgen-desktop.spec"
ICONS = ROOT / "resources" / "icons"
DESKTOP = ROOT / "resources" / "imgen-desktop.desktop"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def build():
    return _load("imgen_build", ROOT / "packaging" / "build.py")


@pytest.fixture(scope="module")
def spec_helpers():
    """The spec's constants and helper functions, without running PyInstaller's Analysis."""
    tree = ast.parse(SPEC.read_text(encoding="utf-8"), str(SPEC))
    pyinstaller = {"Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"}

    def wanted(node) -> bool:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef)):
            return True
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            called = {n.func.id for n in ast.walk(node.value) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
            return all(isinstance(t, ast.Name) for t in targets) and not called & pyinstaller
        return False

    keep = [node for node in tree.body if wanted(node)]
    namespace = {"SPECPATH": str(SPEC.parent), "__name__": "imgen_spec"}
    exec(compile(ast.Module(body=keep, type_ignores=[]), str(SPEC), "exec"), namespace)
    return namespace


# --- the spec ---------------------------------------------------------------------------------
def test_spec_compiles_and_builds_one_folder_app():
    source = SPEC.read_text(encoding="utf-8")
    compile(source, str(SPEC), "exec")
    tree = ast.parse(source)
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert {"Analysis", "PYZ", "EXE", "COLLECT"} <= calls
    exe = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "EXE")
    kwargs = {k.arg: k.value for k in exe.keywords}
    assert ast.literal_eval(kwargs["exclude_binaries"]) is True  # one-folder, not one-file
    assert ast.literal_eval(kwargs["strip"]) is False  # PyInstaller's strip would hit numpy's OpenBLAS
    assert "resources" in ast.unparse(next(n for n in ast.walk(tree) if getattr(getattr(n, "func", None), "id", "") == "Analysis"))


@pytest.mark.parametrize(
    "dest",
    [
        "torch/bin/torch_shm_manager",
        "torch/lib/libtorch_cpu.so",
        "torch/lib/libgomp.so.1",
        "torch/nn/modules/conv.py",
        "numpy.libs/libscipy_openblas64_-32a4b2a6.so",
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/plugins/platforms/libqwayland.so",
        "PySide6/Qt/plugins/imageformats/libqjpeg.so",
        "PySide6/Qt/plugins/imageformats/libqsvg.so",
        "PySide6/Qt/plugins/wayland-shell-integration/libxdg-shell.so",
        "PySide6/Qt/plugins/xcbglintegrations/libqxcb-glx-integration.so",
        "PySide6/Qt/lib/libQt6Widgets.so.6",
        "PySide6/Qt/lib/libQt6Svg.so.6",
        "PySide6/Qt/lib/libQt6OpenGL.so.6",
        "resources/models/upscale-x2.safetensors",
        "resources/icons/imgen-desktop.png",
    ],
)
def test_spec_keeps_what_the_app_needs(spec_helpers, dest):
    assert not spec_helpers["_dropped"](dest)


@pytest.mark.parametrize(
    "dest",
    [
        "torch/bin/test_jit",
        "torch/bin/protoc",
        "torch/test/Dict_test",
        "torch/include/ATen/ATen.h",
        "torch/share/cmake/Torch/TorchConfig.cmake",
        "torch/lib/libtorchbind_test.so",
        "torch/lib/libjitbackend_test.so",
        "torch/lib/libprotobuf.a",
        "PySide6/Qt/plugins/platforms/libqeglfs.so",
        "PySide6/Qt/plugins/platforms/libqvnc.so",
        "PySide6/Qt/plugins/platforms/libqminimal.so",
        "PySide6/Qt/plugins/sqldrivers/libqsqlite.so",
        "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
        "PySide6/Qt/plugins/imageformats/libqpdf.so",
        "PySide6/Qt/lib/libQt6Quick.so.6",
        "PySide6/Qt/lib/libQt6Qml.so.6",
        "PySide6/Qt/translations/qtbase_de.qm",
    ],
)
def test_spec_drops_tests_tools_headers_and_unused_qt(spec_helpers, dest):
    assert spec_helpers["_dropped"](dest)


def test_spec_drops_compile_only_torch_sources_but_keeps_those_read_at_import(spec_helpers, tmp_path):
    """torch's config modules parse their own source when imported (training imports
    torch.distributed.config through the optimizer): dropping those broke the bundle."""
    dropped = spec_helpers["_dropped"]
    plain = tmp_path / "scheduler.py"
    plain.write_text("def f():\n    return 1\n")
    config = tmp_path / "config.py"
    config.write_text("from torch.utils._config_module import install_config_module\ninstall_config_module(sys.modules[__name__])\n")
    assert dropped("torch/_inductor/scheduler.py", str(plain))
    assert dropped("torch/distributed/fsdp/api.py", str(plain))
    assert not dropped("torch/distributed/config.py", str(config))
    assert not dropped("torch/_inductor/codegen/common.py", str(tmp_path / "missing.py"))  # unreadable: kept
    assert not dropped("torch/nn/modules/conv.py", str(plain))  # outside the compile-only folders
    assert not dropped("torch/_inductor/codegen/aoti_runtime/interface.cpp", str(plain))  # not a .py file


def test_spec_excludes_unused_modules_but_keeps_the_qt_ones_pyqtgraph_imports(spec_helpers):
    excludes = set(spec_helpers["EXCLUDES"])
    assert {"tkinter", "pytest", "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtNetwork"} <= excludes
    # pyqtgraph's PlotCurveItem imports QtOpenGL and QtOpenGLWidgets by name on Qt 6 (a bundle
    # without them fails to open the window); the UI uses QtSvg for icons
    gl = ("PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets")
    for needed in ("PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets", "PySide6.QtSvg", "torch", "numpy", *gl):
        assert needed not in excludes
    assert {"PySide6.QtSvg", *gl} <= set(spec_helpers["HIDDENIMPORTS"])
    assert "imgen_desktop.selftest" in spec_helpers["HIDDENIMPORTS"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the spec strips libraries on Linux only")
def test_spec_strips_only_torch_and_python_libraries(spec_helpers, tmp_path, monkeypatch):
    internal = tmp_path / "ImgenDesktop" / "_internal"
    ver = f"python3.{sys.version_info[1]}"
    files = [
        "torch/lib/libtorch_cpu.so",
        "torch/lib/libgomp.so.1",
        "torch/_C.cpython-311-x86_64-linux-gnu.so",
        "libpython3.11.so.1.0",
        f"{ver}/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so",
        "numpy.libs/libscipy_openblas64_-32a4b2a6.so",
        "numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
        "PySide6/Qt/lib/libQt6Core.so.6",
        "libstdc++.so.6",
    ]
    for rel in files:
        (internal / rel).parent.mkdir(parents=True, exist_ok=True)
        (internal / rel).write_bytes(b"\x7fELF")
    calls = []
    namespace = dict(spec_helpers)
    namespace["subprocess"] = SimpleNamespace(run=lambda cmd, check: calls.append(cmd))
    namespace["shutil"] = SimpleNamespace(which=lambda name: "/usr/bin/strip")
    func = spec_helpers["_strip_own_libraries"]
    stripper = type(func)(func.__code__, namespace)
    stripper(tmp_path / "ImgenDesktop")
    stripped = {Path(cmd[-1]).relative_to(internal).as_posix() for cmd in calls}
    assert stripped == set(files[:5])
    assert all(cmd[:2] == ["/usr/bin/strip", "--strip-unneeded"] for cmd in calls)


# --- desktop integration ---------------------------------------------------------------------
def test_desktop_file_is_valid():
    validator = shutil.which("desktop-file-validate")
    if validator:
        result = subprocess.run([validator, str(DESKTOP)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "error" not in (result.stdout + result.stderr).lower()
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str
    parser.read(DESKTOP, encoding="utf-8")
    entry = parser["Desktop Entry"]
    for key in ("Type", "Name", "Exec", "Icon", "Categories", "Comment"):
        assert entry.get(key), key
    assert entry["Type"] == "Application"
    assert entry["Exec"].split()[0] == "imgen-desktop"
    assert entry["Icon"] == "imgen-desktop"  # a theme name: the hicolor icons installed by the .deb
    assert entry["Categories"].endswith(";") and "Graphics" in entry["Categories"]
    assert entry["Terminal"] == "false"
    # the desktop file's name matches QGuiApplication.setDesktopFileName (Wayland app id)
    from imgen_desktop import APP_ID

    assert DESKTOP.stem == APP_ID


def test_icons_present_at_all_sizes():
    from PIL import Image

    for size in SIZES:
        path = ICONS / "hicolor" / f"{size}x{size}" / "apps" / "imgen-desktop.png"
        with Image.open(path) as im:
            assert im.size == (size, size), path
            assert im.mode == "RGBA"
            rgba = im.convert("RGBA")
            assert rgba.getpixel((0, 0))[3] == 0  # rounded tile: transparent corner
            assert rgba.getpixel((size // 2, size // 2))[3] == 255
    with Image.open(ICONS / "imgen-desktop.png") as im:
        assert im.size == (256, 256)
    root = ET.parse(ICONS / "imgen-desktop.svg").getroot()
    assert root.tag.endswith("svg") and root.get("viewBox") == "0 0 512 512"


def test_icon_pngs_are_rendered_from_the_svg(tmp_path):
    """The committed PNGs match what packaging/make_icons.py renders from the SVG now."""
    import numpy as np
    from PIL import Image

    make_icons = _load("imgen_make_icons", ROOT / "packaging" / "make_icons.py")
    (out,) = make_icons.render(icons=tmp_path, sizes=(48,))
    fresh = np.asarray(Image.open(out).convert("RGBA"), dtype=np.int16)
    committed = np.asarray(Image.open(ICONS / "hicolor" / "48x48" / "apps" / "imgen-desktop.png").convert("RGBA"), dtype=np.int16)
    assert np.abs(fresh - committed).max() <= 2


# --- build.py: the archive and the .deb ---------------------------------------------------------
def test_deb_control_fields(build):
    control = build.deb_control("1.2.3", 654321, arch="amd64")
    fields = dict(line.split(": ", 1) for line in control.splitlines() if line and not line.startswith(" "))
    assert fields["Package"] == "imgen-desktop"
    assert fields["Version"] == "1.2.3"
    assert fields["Architecture"] == "amd64"
    assert fields["Installed-Size"] == "654321"
    assert fields["Section"] == "graphics"
    assert "libxcb-cursor0" in fields["Depends"] and "libc6" in fields["Depends"]
    assert fields["Maintainer"].endswith(">")
    assert control.endswith("\n")
    # extended description: continuation lines start with one space, a blank one is " ."
    body = control.split("Description: ", 1)[1].splitlines()[1:]
    assert body and all(line.startswith(" ") for line in body) and " ." in body


def test_deb_control_requires_the_glibc_the_bundle_was_built_against(build):
    control = build.deb_control("1.0", 1, arch="amd64", glibc="2.36")
    assert "Depends: libc6 (>= 2.36), " in control


@pytest.mark.skipif(shutil.which("objdump") is None, reason="objdump (binutils) is not installed")
def test_glibc_requirement_reads_symbol_versions(build, tmp_path):
    bundle = tmp_path / "ImgenDesktop"
    bundle.mkdir()
    shutil.copy(sys.executable, bundle / "ImgenDesktop")  # a real ELF executable linked to glibc
    found = build.glibc_requirement(bundle)
    assert found is not None and tuple(map(int, found.split("."))) >= (2, 2)


def test_deb_layout_installs_to_opt_with_launchers_desktop_file_and_icons(build, tmp_path):
    layout = build.deb_layout(tmp_path / "ImgenDesktop")
    assert layout["opt/imgen-desktop"] == ("tree", tmp_path / "ImgenDesktop")
    kind, launcher = layout["usr/bin/imgen-desktop"]
    assert kind == "script" and launcher.startswith("#!/bin/sh\n")
    assert 'exec /opt/imgen-desktop/ImgenDesktop "$@"' in launcher
    kind, cli = layout["usr/bin/imgen"]
    assert kind == "script" and 'exec /opt/imgen-desktop/ImgenDesktop --cli "$@"' in cli
    assert layout["usr/share/applications/imgen-desktop.desktop"] == ("file", DESKTOP)
    for size in SIZES:
        kind, src = layout[f"usr/share/icons/hicolor/{size}x{size}/apps/imgen-desktop.png"]
        assert kind == "file" and Path(src).is_file()
    assert layout["usr/share/icons/hicolor/scalable/apps/imgen-desktop.svg"][1].is_file()
    assert "License: MIT" in layout["usr/share/doc/imgen-desktop/copyright"][1]


def test_artifact_names(build):
    ver = build.version()
    from imgen_desktop import __version__

    assert ver == __version__
    assert build.archive_name(ver, "zst") == f"imgen-desktop-{ver}-linux-{build.machine()}.tar.zst"
    if build.machine() == "x86_64":
        assert build.deb_name(ver) == f"imgen-desktop_{ver}_amd64.deb"


def _fake_bundle(tmp_path: Path) -> Path:
    bundle = tmp_path / "dist" / "ImgenDesktop"
    (bundle / "_internal" / "resources").mkdir(parents=True)
    exe = bundle / "ImgenDesktop"
    exe.write_text("#!/bin/sh\necho fake\n")
    exe.chmod(0o755)
    (bundle / "_internal" / "resources" / "note.txt").write_text("x" * 5000)
    return bundle


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is not installed (Debian/Ubuntu only)")
def test_build_deb_from_a_small_folder(build, tmp_path):
    bundle = _fake_bundle(tmp_path)
    deb = build.build_deb(bundle, tmp_path / "dist" / "test.deb", "9.8.7")
    info = subprocess.run(["dpkg-deb", "--field", str(deb)], capture_output=True, text=True, check=True).stdout
    assert "Package: imgen-desktop" in info and "Version: 9.8.7" in info
    listing = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True).stdout
    entries = {line.split()[-1].lstrip("."): line.split()[0] for line in listing.splitlines()}
    assert entries["/opt/imgen-desktop/ImgenDesktop"].startswith("-rwxr-xr-x")
    assert "/opt/imgen-desktop/_internal/resources/note.txt" in entries
    assert entries["/usr/bin/imgen-desktop"].startswith("-rwxr-xr-x")
    assert entries["/usr/bin/imgen"].startswith("-rwxr-xr-x")
    assert entries["/usr/share/applications/imgen-desktop.desktop"].startswith("-rw-r--r--")
    assert "/usr/share/icons/hicolor/256x256/apps/imgen-desktop.png" in entries
    assert all("root/root" in line for line in listing.splitlines())
    assert not (tmp_path / "dist" / "deb-root").exists()  # staging removed


def test_build_archive_has_one_top_folder(build, tmp_path):
    bundle = _fake_bundle(tmp_path)
    archive = build.build_archive(bundle, tmp_path / "dist", "9.8.7")
    assert archive.name.startswith("imgen-desktop-9.8.7-linux-")
    out = tmp_path / "x"
    out.mkdir()
    if archive.suffix == ".zst":
        subprocess.run(["tar", "--zstd", "-xf", str(archive), "-C", str(out)], check=True)
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(out, filter="data")
    assert [p.name for p in out.iterdir()] == ["imgen-desktop-9.8.7"]
    assert os.access(out / "imgen-desktop-9.8.7" / "ImgenDesktop", os.X_OK)
    assert (out / "imgen-desktop-9.8.7" / "_internal" / "resources" / "note.txt").stat().st_size == 5000


def test_launcher_cli_switch():
    env = dict(os.environ)
    out = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "launcher.py"), "--cli", "--version"],
        capture_output=True, text=True, env=env, timeout=60, cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith("imgen ")


# --- the self-test the bundle runs ---------------------------------------------------------------
def test_self_test_passes_from_the_source_tree(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", IMGEN_HOME=str(tmp_path / "home"), IMGEN_SELFTEST_TRACEBACK="1")
    out = subprocess.run(
        [sys.executable, "-m", "imgen_desktop", "--self-test"],
        capture_output=True, text=True, env=env, timeout=240, cwd=tmp_path,
    )
    lines = out.stdout.strip().splitlines()
    assert out.returncode == 0, out.stdout + out.stderr
    checks = [line for line in lines if line.startswith(("PASS ", "FAIL "))]
    names = [line.split(":")[0].split(" ", 1)[1] for line in checks]
    assert names == ["resources", "torch", "models", "enhance", "training", "window", "user data"]
    assert "exported self-test-gan" in checks[4], checks[4]
    assert all(line.startswith("PASS ") for line in checks)
    assert lines[-1] == f"self-test: {len(checks)}/{len(checks)} passed"
    assert (tmp_path / "home" / "settings.ini").is_file()  # the window's layout went to the data root


def test_self_test_fails_with_status_1_when_resources_are_missing(tmp_path, monkeypatch):
    """A broken install (no built-in models) is reported, not crashed on."""
    from imgen_desktop import selftest

    fake = tmp_path / "resources"
    (fake / "icons").mkdir(parents=True)
    (fake / "models").mkdir()
    monkeypatch.setattr("imgen_desktop.core.paths._resource_candidates", lambda: [fake])
    test = selftest.SelfTest()
    test._run("resources", test.check_resources)
    assert test.results == [("resources", False, test.results[0][2])]
    assert "missing" in test.results[0][2]


def test_spec_ships_spandrel_and_onnx_but_not_torchvision_or_test_only_packages(spec_helpers):
    """Community import (spandrel, einops) and ONNX export (onnx) ship; torchvision does not
    (core/community.py stands in for the two helpers spandrel takes from it); onnx's
    conformance-test data and the test-only onnxruntime stay out."""
    excludes = set(spec_helpers["EXCLUDES"])
    assert not {"spandrel", "einops", "onnx", "safetensors"} & excludes
    assert {"torchvision", "onnxruntime", "onnxscript"} <= excludes
    assert spec_helpers["_dropped"]("onnx/backend/test/data/node/test_abs/model.onnx")
    assert not spec_helpers["_dropped"]("onnx/onnx_cpp2py_export.cpython-311-x86_64-linux-gnu.so")
    assert "imgen_desktop.core.community" in spec_helpers["HIDDENIMPORTS"]
