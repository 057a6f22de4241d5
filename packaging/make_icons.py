"""Render the app icon's PNG sizes from ``resources/icons/imgen-desktop.svg`` with QtSvg.

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/make_icons.py

Writes ``resources/icons/hicolor/<N>x<N>/apps/imgen-desktop.png`` for every size in SIZES and
``resources/icons/imgen-desktop.png`` (256 px, the window icon). The PNGs are committed, so a
build needs no SVG renderer; run this again after editing the SVG.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "resources" / "icons"
SVG = ICONS / "imgen-desktop.svg"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def hicolor_png(size: int, icons: Path = ICONS) -> Path:
    return icons / "hicolor" / f"{size}x{size}" / "apps" / "imgen-desktop.png"


def render(svg: Path = SVG, icons: Path = ICONS, sizes=SIZES) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    from PySide6.QtWidgets import QApplication

    # a QApplication (not a bare QGuiApplication): a widget made later in the same process needs one
    app = QGuiApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841 (keeps Qt alive)
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"cannot render {svg}")
    written = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        out = hicolor_png(size, icons)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(out), "PNG"):
            raise SystemExit(f"cannot write {out}")
        written.append(out)
        if size == 256:
            image.save(str(icons / "imgen-desktop.png"), "PNG")
            written.append(icons / "imgen-desktop.png")
    return written


if __name__ == "__main__":
    for path in render():
        print(path.relative_to(ROOT))
