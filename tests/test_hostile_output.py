"""Output under stress: stale .part files of a killed run, read-only files behind symlinks, a full disk,
and Ctrl-C early in a run — each a clean message and exit status, never a half-written file or a traceback."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import fhirconv.output.files
from fhirconv.cli import main
from fhirconv.output.files import write_text

SEED = Path(__file__).parent / "data" / "seed" / "NCT04382547.txt"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_stale_part_file_of_a_killed_run_is_removed(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    stale = tmp_path / f".out.json.{_dead_pid()}.k1ll3d.part"
    stale.write_text('{"half": ', encoding="utf-8")
    live = tmp_path / f".out.json.{os.getppid()}.busy.part"  # a live process's: maybe still writing
    live.write_text("{", encoding="utf-8")
    other = tmp_path / f".other.json.{_dead_pid()}.x.part"  # another target's: not ours to judge now
    other.write_text("{", encoding="utf-8")
    write_text(target, "{}\n")
    assert target.read_text(encoding="utf-8") == "{}\n"
    assert not stale.exists()
    assert live.exists()
    assert other.exists()
    assert not list(tmp_path.glob(f".out.json.{os.getpid()}.*.part"))


def test_a_read_only_file_behind_a_symlink_is_not_replaced(tmp_path: Path) -> None:
    real = tmp_path / "kept.json"
    real.write_text("precious\n", encoding="utf-8")
    real.chmod(0o444)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    result = CliRunner().invoke(main, ["convert", str(SEED), "-o", str(link)])
    assert result.exit_code == 2, result.output
    assert "read-only" in result.stderr
    assert "Traceback" not in result.output
    assert real.read_text(encoding="utf-8") == "precious\n"
    assert real.stat().st_mode & 0o777 == 0o444
    assert link.is_symlink()
    assert not list(tmp_path.glob("*.part"))


def test_a_writable_file_keeps_its_mode_when_replaced(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o640)
    write_text(target, "new\n")
    assert target.read_text(encoding="utf-8") == "new\n"
    assert target.stat().st_mode & 0o777 == 0o640


def test_a_full_disk_is_a_clean_error_and_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The fault is mocked: ENOSPC raised where the data reach the disk (fsync), as a full file system would.
    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fhirconv.output.files.os, "fsync", full)
    target = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["convert", str(SEED), "-o", str(target)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"cannot write {target}: no space left on device" in result.stderr
    assert list(tmp_path.iterdir()) == []


# The guard holds from fhirconv.entry.run on (the console script's first call); a Ctrl-C during the
# interpreter's own start-up, before it, is Python's. So the child says when it is inside the guard, then
# the clock runs: at 0 s the CLI is still being imported, later it is reading, converting, validating.
START = (
    "import sys, fhirconv.entry as e\n"
    "def body():\n"
    "    sys.stderr.write('ready\\n'); sys.stderr.flush(); e.cli()\n"
    "e.guarded(body)"
)


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.2, 0.5, 1.0])
def test_ctrl_c_early_in_a_run_is_a_short_message_and_exit_130(tmp_path: Path, delay: float) -> None:
    target = tmp_path / "out.json"
    child = subprocess.Popen(
        [sys.executable, "-c", START, "convert", str(SEED), "-o", str(target)], stderr=subprocess.PIPE, text=True
    )
    assert child.stderr is not None
    assert child.stderr.readline() == "ready\n"
    time.sleep(delay)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    if child.returncode == 0:  # finished before the signal came: nothing to check but the output
        assert target.exists()
        return
    assert child.returncode == 130, err
    assert "Traceback" not in err
    assert err.startswith("interrupted:"), err
    assert not list(tmp_path.glob("*.part"))


def test_ctrl_c_after_the_run_has_ended_keeps_its_exit_status() -> None:
    # The run is over and the interpreter is shutting down (an exit handler stands in for a slow shutdown): a
    # Ctrl-C there must not turn a finished run into "killed by SIGINT".
    script = (
        "import atexit, sys, time\n"
        "import fhirconv.entry as e\n"
        "def slow_exit():\n"
        "    sys.stderr.write('shutting down\\n'); sys.stderr.flush(); time.sleep(3)\n"
        "atexit.register(slow_exit)\n"
        "e.guarded(lambda: sys.exit(0))\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    assert child.stderr is not None
    assert child.stderr.readline() == "shutting down\n"
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert "Traceback" not in err


def test_the_ctrl_c_handler_imports_nothing(tmp_path: Path) -> None:
    # The signal can come while the interrupted code is halfway through importing a module; a handler that
    # imports then meets it partially initialised (CI saw tracebacks, exit 70 and exit -11). Here every import
    # fails once the handler is called: it must still remove the live .part file, say so and exit 130.
    part = tmp_path / ".out.json.1.x.part"
    part.write_text("{")
    script = (
        "import sys, fhirconv.entry as e\n"
        f"e.LIVE_PARTS.add({str(part)!r})\n"
        "class NoImports:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        raise ImportError('import in the handler: ' + name)\n"
        "sys.meta_path.insert(0, NoImports())\n"
        "for name in [m for m in sys.modules if m.startswith('fhirconv.')]:\n"
        "    if name not in ('fhirconv.entry', 'fhirconv.live_parts'):\n"
        "        del sys.modules[name]\n"
        "e._interrupted(2, None)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 130, done.stderr
    assert done.stderr.startswith("interrupted:"), done.stderr
    assert not part.exists()
