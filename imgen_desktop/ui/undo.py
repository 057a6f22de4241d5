"""A bounded undo history of snapshots, shared by the canvas's two brushes (the inpaint mask and
the blend mask): ``push`` a copy before an edit, ``pop`` to go back one; the oldest snapshots
are dropped beyond ``limit``."""
from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class UndoHistory(Generic[T]):
    def __init__(self, limit: int) -> None:
        self.limit = max(1, int(limit))
        self._items: list[T] = []

    def push(self, snapshot: T) -> None:
        """Remember ``snapshot`` (the caller passes a copy: the history never copies)."""
        self._items.append(snapshot)
        del self._items[: -self.limit]

    def pop(self) -> T | None:
        """The latest snapshot, removed; None when there is nothing to undo."""
        return self._items.pop() if self._items else None

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)
