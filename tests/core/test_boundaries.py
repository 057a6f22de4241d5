"""Layer rules: ``core`` is Qt-free; the window appears without importing torch."""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import imgen_desktop

PACKAGE = Path(imgen_desktop.__file__).resolve().parent
REPO = PACKAGE.parent
FORBIDDEN_IN_CORE = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6", "imgen_desktop.ui", "imgen_desktop.app")


def _imported_modules(path: Path, package: str | None = None) -> list[tuple[int, str]]:
    """Every module a file imports, anywhere in it (top level or inside functions).

    ``package``: the file's package for resolving relative imports (default: from its path).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    if package is None:
        package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative import: resolve against the file's package
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([module] if module else []))
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
            "import_module",
            "__import__",
        ):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def _is_forbidden(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FORBIDDEN_IN_CORE)


def test_core_sources_never_import_qt():
    core_files = sorted((PACKAGE / "core").rglob("*.py"))
    assert len(core_files) >= 8
    offenders = [
        f"{path.relative_to(REPO)}:{line}: {module}"
        for path in core_files
        for line, module in _imported_modules(path)
        if _is_forbidden(module)
    ]
    assert offenders == [], "core must stay Qt-free:\n" + "\n".join(offenders)


def test_ast_walker_catches_violations(tmp_path):
    """The checker itself: top-level, nested, from- and dynamic imports are all seen."""
    fake = tmp_path / "probe.py"
    fake.write_text(
        "import os\n"
        "def f():\n"
        "    from PySide6.QtCore import QTimer\n"
        "    import pyqtgraph as pg\n"
        "    importlib.import_module('shiboken6')\n"
        "from ..ui import main_window\n",
        encoding="utf-8",
    )
    tree_modules = [m for _, m in _imported_modules(fake, "imgen_desktop.core") if _is_forbidden(m)]
    assert "PySide6.QtCore" in tree_modules and "pyqtgraph" in tree_modules
    assert "shiboken6" in tree_modules and "imgen_desktop.ui" in tree_modules


def test_import_linter_contracts_hold():
    exe = Path(sys.executable).with_name("lint-imports")
    exe = str(exe) if exe.exists() else shutil.which("lint-imports")
    assert exe, "lint-imports (import-linter) is part of the test extra; install '.[test]'"
    proc = subprocess.run([exe], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "core never imports Qt or pyqtgraph KEPT" in proc.stdout


def test_main_window_is_built_without_importing_torch(imgen_home):
    code = (
        "import sys\n"
        "from imgen_desktop.app import create_main_window\n"
        "w = create_main_window()\n"
        "w.show()\n"
        "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
        "print('TORCH_MODULES', len(bad), bad[:5])\n"
        "w.close()\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "IMGEN_HOME": str(imgen_home)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "TORCH_MODULES 0 []" in proc.stdout, proc.stdout
