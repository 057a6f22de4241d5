"""Guards against Qt binding regressions that crash long sessions."""
import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    sigValue = Signal(int)


def test_signal_emit_does_not_leak_references(qtbot):
    # PySide6 6.12.0 dropped a reference to True on every emit; after a few hundred emits Python
    # aborted with "bool_dealloc". pyproject excludes that release; this catches it coming back.
    emitter = _Emitter()
    received = []
    emitter.sigValue.connect(received.append)
    before = sys.getrefcount(True)
    for i in range(2000):
        emitter.sigValue.emit(i)
    assert len(received) == 2000
    assert abs(sys.getrefcount(True) - before) < 50
