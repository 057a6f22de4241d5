"""Drawing helpers of the CompareView: the split divider and the Before / After tags."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen


def paint_divider(p: QPainter, x: float, height: int) -> None:
    """The split line with its round handle."""
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    p.setPen(QPen(QColor(0, 0, 0, 120), 3))
    p.drawLine(QPointF(x, 0), QPointF(x, height))
    p.setPen(QPen(QColor(255, 255, 255, 230), 1.5))
    p.drawLine(QPointF(x, 0), QPointF(x, height))
    # a round handle with two arrows in the middle
    cy = height / 2
    p.setBrush(QColor(255, 255, 255, 235))
    p.setPen(QPen(QColor(0, 0, 0, 140), 1))
    p.drawEllipse(QPointF(x, cy), 14, 14)
    path = QPainterPath()
    for sign in (-1, 1):
        path.moveTo(x + sign * 4, cy - 5)
        path.lineTo(x + sign * 9, cy)
        path.lineTo(x + sign * 4, cy + 5)
        path.closeSubpath()
    p.setBrush(QColor(40, 40, 40))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawPath(path)


def paint_labels(p: QPainter, mode: str, width: int, base_font: QFont) -> None:
    """The "Before" / "After" tags in the corners."""
    font = QFont(base_font)
    font.setBold(True)
    p.setFont(font)
    labels = []
    if mode == "split":
        labels = [("Before", 10.0, False), ("After", width - 10.0, True)]
    elif mode == "before":
        labels = [("Before", 10.0, False)]
    else:
        labels = [("After", 10.0, False)]
    fm = p.fontMetrics()
    for text, x, right in labels:
        w = fm.horizontalAdvance(text) + 16
        h = fm.height() + 8
        left = x - w if right else x
        box = QRectF(left, 10, w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 150))
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.drawRoundedRect(box, 5, 5)
        p.setPen(QColor(255, 255, 255))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
