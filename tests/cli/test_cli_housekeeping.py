"""Start-up housekeeping of the CLI: stale temporaries go, a closed pipe is not a traceback."""
from __future__ import annotations

import os
import subprocess
import sys
import time


def test_a_command_removes_stale_temporaries_of_interrupted_writes(imgen_home):
    from imgen_desktop import cli

    models = imgen_home / "models"
    run = imgen_home / "runs" / "r1"
    models.mkdir(parents=True)
    run.mkdir(parents=True)
    stale = models / ".m.safetensors.imgen-tmp-abcd1234.safetensors"
    stale_run = run / ".checkpoint.pt.imgen-tmp-abcd1234.pt"
    fresh = models / ".n.safetensors.imgen-tmp-efgh5678.safetensors"  # a write going on right now
    mine = models / "notes.txt"  # not ours: never touched
    for p in (stale, stale_run, fresh, mine):
        p.write_bytes(b"x")
    old = time.time() - 3600
    for p in (stale, stale_run, mine):
        os.utime(p, (old, old))
    assert cli.main(["models", "list"]) == 0
    assert not stale.exists() and not stale_run.exists()
    assert fresh.exists() and mine.exists()


def test_output_into_a_closed_pipe_ends_quietly(imgen_home, tmp_path):
    for i in range(3):
        (imgen_home / "runs" / f"run{i}").mkdir(parents=True)
    code = ("import sys, os; from imgen_desktop import cli\n"
            "r, w = os.pipe(); os.close(r); os.dup2(w, 1)\n"
            "sys.exit(cli.main(['runs', 'list']))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "IMGEN_HOME": str(imgen_home)})
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0
