"""A thread-safe control token: the UI or a signal handler asks, the engine checks between steps."""
from __future__ import annotations

import threading


class ControlToken:
    """Pause / resume / stop (and "sample now") requests for a running job.

    The engine calls :meth:`checkpoint` between steps: it blocks while paused and returns
    ``True`` when the job should stop. Cancellation of enhancement jobs uses the same token.
    """

    def __init__(self, event_factory=threading.Event) -> None:
        # ``event_factory``: threading.Event in one process; a multiprocessing context's Event
        # to share the token with a child process (see core.process_runner)
        self._stop = event_factory()
        self._running = event_factory()
        self._running.set()
        self._sample_now = event_factory()

    # --- requests (any thread) ---
    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # wake a paused loop so it can stop

    cancel = stop

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def request_sample(self) -> None:
        self._sample_now.set()

    # --- queries (engine thread) ---
    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    cancelled = stop_requested

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def take_sample_request(self) -> bool:
        if self._sample_now.is_set():
            self._sample_now.clear()
            return True
        return False

    def checkpoint(self, poll_s: float = 0.1) -> bool:
        """Block while paused; return True if a stop was requested."""
        while not self._running.is_set() and not self._stop.is_set():
            self._running.wait(poll_s)
        return self._stop.is_set()
