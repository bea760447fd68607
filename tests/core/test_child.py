"""Child processes: ready or a message with their log, stopped with their whole group, never orphaned."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tenantprobe.child import Child, NotReady, stop_all, wait_ready
from tenantprobe.errors import DatabaseError, TargetError


def _python(code: str, log: Path, **kwargs: object) -> Child:
    return Child("the test server", [sys.executable, "-c", code], log, **kwargs)  # type: ignore[arg-type]


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie does not count)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_ready_child_stops_with_its_forked_children_and_leaves_no_zombie(tmp_path: Path) -> None:
    # The child forks a grandchild that ignores nothing, writes its pid and waits: stop() must take both.
    code = (
        "import os, sys, time\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    time.sleep(60)\n"
        "    sys.exit()\n"
        f"open({str(tmp_path / 'grandchild')!r}, 'w').write(str(pid))\n"
        "print('serving', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = _python(code, tmp_path / "server.log").start()
    wait_ready([child], lambda: "serving" in child.log.read_text(), timeout=30)
    grandchild = int((tmp_path / "grandchild").read_text())
    pid = child.pid
    assert child.running
    assert _alive(grandchild)

    child.stop()

    assert not Path(f"/proc/{pid}").exists()  # reaped: no zombie left
    assert _gone_within(grandchild, 5)
    assert not child.running
    child.stop()  # idempotent


def test_child_that_exits_at_start_up_raises_its_error_with_its_last_log_lines(tmp_path: Path) -> None:
    child = _python("print('port 5432 is taken'); raise SystemExit(3)", tmp_path / "pg.log", error=DatabaseError)
    child.start()
    with pytest.raises(DatabaseError, match=r"(?s)exited at start-up \(exit code 3\).*port 5432 is taken"):
        wait_ready([child], lambda: False, timeout=30)
    child.stop()


def test_child_never_ready_times_out_with_the_probe_reason_and_the_log(tmp_path: Path) -> None:
    child = _python("print('still migrating', flush=True); import time; time.sleep(60)", tmp_path / "app.log").start()

    def probe() -> bool:
        raise NotReady("connection refused on 127.0.0.1:9")

    try:
        with pytest.raises(TargetError, match=r"(?s)not ready within 1 s \(connection refused.*still migrating"):
            wait_ready([child], probe, timeout=1, what="the test server (/healthz)")
    finally:
        child.stop()


# A server that notes when it is asked to stop (the wall clock, comparable across processes) and does not.
STUBBORN = (
    "import signal, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: print('asked', time.time(), flush=True))\n"
    "print('up', flush=True)\n"
    "while True:\n"
    "    time.sleep(1)\n"
)


def _asked_at(child: Child) -> float:
    return float(next(line.split()[1] for line in child.log.read_text().splitlines() if line.startswith("asked")))


def test_child_that_ignores_the_stop_signal_is_asked_then_killed(tmp_path: Path) -> None:
    child = _python(STUBBORN, tmp_path / "stubborn.log", grace=0.5).start()
    wait_ready([child], lambda: "up" in child.log.read_text(), timeout=30)
    pid = child.pid

    child.stop()

    assert _asked_at(child)  # SIGTERM first ...
    assert not Path(f"/proc/{pid}").exists()  # ... then SIGKILL, and reaped


def test_stop_all_asks_every_child_before_it_kills_any(tmp_path: Path) -> None:
    grace = 2.0
    children = [_python(STUBBORN, tmp_path / f"{n}.log", grace=grace).start() for n in range(3)]
    wait_ready(children, lambda: all("up" in child.log.read_text() for child in children), timeout=30)

    stop_all(children)

    asked = [_asked_at(child) for child in children]
    # One after the other, the last would be asked only after the first was killed, a grace later.
    assert max(asked) - min(asked) < grace
    assert not any(child.running for child in children)


def test_child_dies_with_the_harness_killed_by_sigkill(tmp_path: Path) -> None:
    # A harness that starts a server and is then killed outright: the server must not be left behind.
    pid_file = tmp_path / "server.pid"
    harness = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from tenantprobe.child import Child\n"
        "sleeper = [sys.executable, '-c', 'import time; time.sleep(60)']\n"
        f"child = Child('server', sleeper, Path({str(tmp_path / 's.log')!r}))\n"
        f"Path({str(pid_file)!r}).write_text(str(child.start().pid))\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", harness], cwd=Path(__file__).resolve().parents[2])
    try:
        deadline = time.monotonic() + 30
        while not pid_file.exists() or not pid_file.read_text():
            assert process.poll() is None, "the harness exited before it started its server"
            assert time.monotonic() < deadline, "the harness did not start its server"
            time.sleep(0.05)
        server = int(pid_file.read_text())
        assert _alive(server)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert _gone_within(server, 5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_child_cannot_be_started_twice(tmp_path: Path) -> None:
    child = _python("import time; time.sleep(60)", tmp_path / "x.log").start()
    try:
        with pytest.raises(RuntimeError, match="already started"):
            child.start()
    finally:
        child.kill()
    assert not child.running
