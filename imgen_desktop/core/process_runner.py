"""Training in a child process, so that the GUI's event loop never competes with it.

The GUI's training worker runs :func:`imgen_desktop.core.trainer.train` — the very same
function the CLI calls in-process — in a ``multiprocessing`` child started with the "spawn"
method (safe with torch and Qt; the only method on Windows and the default on macOS). Inside
one process the training loop and the GUI's Python paint code take turns holding the GIL,
which stalled the window by up to half a second; in a child they do not share it
(``benchmarks/RESULTS.md``, GUI responsiveness).

* :class:`ProcessControlToken` has the interface of :class:`~imgen_desktop.core.control.ControlToken`
  (``pause``/``resume``/``stop``/``request_sample`` from the parent; ``checkpoint()``,
  ``stop_requested``, ``paused``, ``take_sample_request()`` in the child), built on
  ``multiprocessing`` Events, so both processes see the same state.
* :class:`TrainingProcess` starts the child, hands over its events in order (``events()``),
  and makes sure it is gone (``close()``: wait, then terminate, then kill). A child that dies
  without a Finished/Failed event (killed, crashed, out of memory) becomes a
  :class:`~imgen_desktop.core.events.Failed` with a clear message; a child that does not stop
  within ``stop_grace_s`` of a stop request is ended the same way.
* :func:`train_in_process` is ``train()``'s signature run in a child.

Events travel pickled through a one-way ``multiprocessing`` pipe (they are plain dataclasses;
sample images are small uint8 arrays). A pipe rather than a ``multiprocessing.Queue``: the
parent closes its copy of the pipe's write end, so a child that dies in the middle of a
message reads as end-of-file instead of a reader blocked forever on the missing bytes. The
data is pickled by our own child process only; nothing from outside is unpickled.

The child inherits the environment (``IMGEN_HOME`` included), imports no Qt, and runs at a
lower scheduling priority (niceness +10 on POSIX; ``IMGEN_TRAIN_NICE=N`` sets it, 0 = none) so
the window gets the CPU first. It watches
its parent: if the parent dies, the child stops as if Stop had been pressed (saving a
checkpoint and the model) and exits, so no training process is left behind. In the parent, an
``atexit`` hook stops and then ends any child still running.
"""
from __future__ import annotations

import atexit
import dataclasses
import multiprocessing
import multiprocessing.util  # noqa: F401 - registers its atexit hook before ours (ours runs first)
import os
import pickle
import signal
import threading
import time
from multiprocessing.connection import wait as _wait_for
from typing import Iterator

from imgen_desktop.core.config import TrainConfig
from imgen_desktop.core.control import ControlToken
from imgen_desktop.core.events import CheckpointSaved, Event, EventCallback, Failed, Finished, Log, Metrics, Progress

_CTX = multiprocessing.get_context("spawn")
_TERMINAL = (Finished, Failed)
CHILD_NICENESS = 10  # added to the training process's niceness (POSIX); IMGEN_TRAIN_NICE overrides


class ProcessControlToken(ControlToken):
    """Pause / resume / stop / "sample now" shared between the GUI process and the training process.

    :class:`~imgen_desktop.core.control.ControlToken` on spawn-context ``multiprocessing`` events.
    Create it in the parent and hand it to the child when the child starts (as
    :class:`TrainingProcess` does).
    """

    def __init__(self) -> None:
        super().__init__(event_factory=_CTX.Event)


# --------------------------------------------------------------------------- the child side
def _child_main(config: TrainConfig, resume: bool, token: ProcessControlToken, conn) -> None:
    """Entry point of the training process: ``trainer.train`` with events sent to the parent."""
    parent_gone = threading.Event()
    sent_terminal = False

    def send(event: Event) -> None:
        nonlocal sent_terminal
        if parent_gone.is_set():
            return
        try:
            data = pickle.dumps(event, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - never lose the run's result to an odd value
            if isinstance(event, Finished):
                data = pickle.dumps(dataclasses.replace(event, summary={}), protocol=pickle.HIGHEST_PROTOCOL)
            else:
                data = pickle.dumps(Log(f"an event ({type(event).__name__}) could not be passed on: {exc}", "warning"))
        try:
            conn.send_bytes(data)
        except (OSError, EOFError, ValueError):  # the parent is gone: finish as if stopped, quietly
            parent_gone.set()
            token.stop()
            return
        if isinstance(event, _TERMINAL):
            sent_terminal = True

    _watch_parent(token, parent_gone)
    stop_on_signals(token)
    _lower_priority()
    try:
        from imgen_desktop.core import trainer

        result = trainer.train(config, send, token, resume=resume)
        if not sent_terminal:  # train() emits its result; send it if it did not
            send(result if isinstance(result, _TERMINAL) else Failed(0, f"training ended without a result ({result!r})"))
    except BaseException as exc:  # noqa: BLE001 - report everything (train() itself should not raise)
        if not sent_terminal:
            send(Failed(0, f"training failed: {type(exc).__name__}: {exc}"))
    finally:
        try:
            conn.close()
        except OSError:
            pass


STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


def stop_on_signals(token: ControlToken, on_stop=None, again=None) -> dict:
    """SIGINT, SIGTERM and SIGHUP stop the run as Stop does (checkpoint and model saved).

    The handler only starts a thread that sets the token (setting a multiprocessing event
    inside a signal handler could deadlock on its lock); ``on_stop()`` is called on the first
    signal, ``again()`` on the next ones (e.g. to abort). Returns the previous handlers, for
    :func:`restore_signals`. Only the main thread can install handlers: elsewhere it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}
    count = {"n": 0}

    def handler(signum, frame) -> None:
        count["n"] += 1
        if count["n"] > 1 and again is not None:
            again()
            return
        threading.Thread(target=token.stop, name="imgen-stop", daemon=True).start()
        if count["n"] == 1 and on_stop is not None:
            on_stop(signal.Signals(signum).name)

    previous = {}
    for sig in STOP_SIGNALS:
        try:
            previous[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):
            pass
    return previous


def restore_signals(previous: dict) -> None:
    for sig, old in previous.items():
        try:
            signal.signal(sig, old)
        except (ValueError, OSError, TypeError):
            pass


def _lower_priority() -> None:
    """Give the window the CPU first: the training process runs at a lower scheduling priority.

    Where training saturates every core (CPU training), the GUI process would otherwise wait
    for its time slice and miss frames; on an idle core this costs training nothing.
    """
    try:
        niceness = int(os.environ.get("IMGEN_TRAIN_NICE", CHILD_NICENESS))
        if niceness and hasattr(os, "nice"):  # POSIX; Windows keeps normal priority
            os.nice(niceness)
    except (ValueError, OSError):
        pass


def _watch_parent(token: ProcessControlToken, parent_gone: threading.Event) -> None:
    """If the parent process dies, stop the run (checkpoint + model are saved) so the child ends."""
    parent = multiprocessing.parent_process()
    if parent is None or getattr(parent, "sentinel", None) is None:
        return

    def watch() -> None:
        try:
            _wait_for([parent.sentinel])
        except OSError:
            pass
        parent_gone.set()
        token.stop()

    threading.Thread(target=watch, name="imgen-parent-watch", daemon=True).start()


# --------------------------------------------------------------------------- the parent side
_LIVE: set["TrainingProcess"] = set()


class TrainingProcess:
    """One training run in a child process: ``start()``, iterate ``events()``, ``close()``.

    ``events()`` yields every event the run emits, in order, ending with its
    :class:`Finished` or :class:`Failed` (also kept in ``result``). It never blocks for long
    on a dead child. ``close()`` must be called (``finally``) so no child outlives its owner.
    """

    def __init__(self, config: TrainConfig, resume: bool = False, token: ProcessControlToken | None = None,
                 stop_grace_s: float = 60.0) -> None:
        if token is not None and not isinstance(token, ProcessControlToken):
            raise TypeError("a training process needs a ProcessControlToken (a thread token cannot cross processes)")
        self.config = config
        self.resume = resume
        self.token = token if token is not None else ProcessControlToken()
        self.stop_grace_s = stop_grace_s
        self.result: Finished | Failed | None = None
        self.last_step = 0
        self.exitcode: int | None = None
        self._run_dir = ""
        self._process = None
        self._conn = None
        self.pid: int | None = None
        self._stop_seen_at: float | None = None
        self._closed = False

    def is_alive(self) -> bool:
        return self._process is not None and not self._closed and self._process.is_alive()

    def start(self) -> None:
        if self._process is not None:
            raise RuntimeError("a training process can only be started once")
        reader, writer = _CTX.Pipe(duplex=False)
        process = _CTX.Process(target=_child_main, args=(self.config, self.resume, self.token, writer),
                               name=f"imgen-train-{self.config.name or 'run'}")
        self._process, self._conn = process, reader
        _LIVE.add(self)
        try:
            process.start()
            self.pid = process.pid
        except BaseException:
            _LIVE.discard(self)
            reader.close()
            raise
        finally:
            writer.close()  # the child holds the only write end: its death reads as end-of-file

    # --- events -------------------------------------------------------------------------
    def next_event(self, timeout: float | None = 0.25) -> Event | None:
        """The next event, or None if none came within ``timeout`` seconds (the run goes on).

        After the terminal event (Finished / Failed) it returns None.
        """
        if self.result is not None or self._process is None:
            return None
        if self._closed:
            return self._finish(self._failed("the training process was closed before it finished; " + self._checkpoint_note()))
        if self.token.stop_requested and self._stop_seen_at is None:
            self._stop_seen_at = time.monotonic()
        ready = _wait_for([self._conn, self._process.sentinel], timeout)
        if self._conn in ready or (ready and self._conn.poll()):
            try:
                event = pickle.loads(self._conn.recv_bytes())
            except (EOFError, OSError):
                return self._finish(self._died())
            return self._track(event)
        if ready:  # the child has exited and nothing is left to read
            return self._finish(self._died())
        if self._stop_seen_at is not None and time.monotonic() - self._stop_seen_at > self.stop_grace_s:
            self._end_child()
            return self._finish(self._failed(
                f"the training process did not stop within {self.stop_grace_s:.0f} s and was ended; "
                + self._checkpoint_note()))
        return None

    def events(self, poll_s: float = 0.25) -> Iterator[Event]:
        """Every event of the run in order, ending with Finished or Failed."""
        while self.result is None:
            event = self.next_event(poll_s)
            if event is not None:
                yield event

    def _track(self, event: Event) -> Event:
        if isinstance(event, (Progress, Metrics, CheckpointSaved)):
            self.last_step = max(self.last_step, int(event.step))
        if isinstance(event, CheckpointSaved):
            self._run_dir = os.path.dirname(str(event.path)) or self._run_dir
        if isinstance(event, _TERMINAL):
            self.result = event
        return event

    def _finish(self, event: Failed) -> Failed:
        self.result = event
        return event

    def _died(self) -> Failed:
        self._process.join(5)
        code = self._process.exitcode
        how = f"exit code {code}"
        if code is not None and code < 0:
            try:
                how += f", {signal.Signals(-code).name}"
            except ValueError:
                pass
        return self._failed(f"the training process ended unexpectedly ({how}); {self._checkpoint_note()}")

    def _failed(self, message: str) -> Failed:
        return Failed(self.last_step, message, self._run_dir or self._guess_run_dir())

    def _guess_run_dir(self) -> str:
        if not self.config.name:
            return ""
        from imgen_desktop.core import paths
        from imgen_desktop.core.errors import ImgenError

        try:
            return str(paths.run_dir(self.config.name))
        except ImgenError:
            return ""

    def _checkpoint_note(self) -> str:
        folder = self._run_dir or self._guess_run_dir()
        if folder:
            from imgen_desktop.core.trainer import CHECKPOINT

            if not os.path.isfile(os.path.join(folder, CHECKPOINT)):
                return "no checkpoint had been saved yet"
        return "the last checkpoint is kept"

    # --- ending -------------------------------------------------------------------------
    def _end_child(self) -> None:
        process = self._process
        if process is None or process.exitcode is not None:
            return
        process.terminate()
        process.join(5)
        if process.exitcode is None:
            process.kill()
            process.join(5)

    def close(self, grace_s: float = 10.0) -> None:
        """Wait up to ``grace_s`` for the child to exit, then terminate (then kill) it; release it."""
        process = self._process
        if process is None or self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + grace_s
        while process.exitcode is None and (left := deadline - time.monotonic()) > 0:
            # keep reading (and dropping) what it still sends, so it never blocks on a full pipe
            ready = _wait_for([self._conn, process.sentinel], left)
            if self._conn in ready:
                try:
                    self._conn.recv_bytes()
                except (EOFError, OSError):
                    process.join(left)
            elif ready:
                process.join(1)
        self._end_child()
        self.exitcode = process.exitcode
        try:
            self._conn.close()
        except OSError:
            pass
        if self.exitcode is not None:
            process.close()
        _LIVE.discard(self)


def train_in_process(config: TrainConfig, on_event: EventCallback, token: ProcessControlToken | None = None,
                     resume: bool = False, stop_grace_s: float = 60.0) -> Finished | Failed:
    """``trainer.train(config, on_event, token, resume=resume)``, run in a child process.

    ``on_event`` is called in this process, in order, for every event including the last.
    The child is always gone when this returns (see :meth:`TrainingProcess.close`).
    """
    runner = TrainingProcess(config, resume=resume, token=token, stop_grace_s=stop_grace_s)
    runner.start()
    try:
        for event in runner.events():
            on_event(event)
        return runner.result
    finally:
        runner.close()


@atexit.register
def _end_children(grace_s: float = 10.0) -> None:
    """At exit, ask every running child to stop (it saves), then end those that do not."""
    live = list(_LIVE)
    for runner in live:
        runner.token.stop()
    deadline = time.monotonic() + grace_s
    for runner in live:
        try:
            runner.close(max(0.0, deadline - time.monotonic()))
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
