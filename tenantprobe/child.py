"""One way to run a server the harness needs: start it, wait until it serves, stop it, leave nothing behind.

PostgreSQL, the reference app's processes, dockerd, the control plane, kube-router, the probe servers
of pods and the benchmarks' servers all run through :class:`Child`:

- **start**: its own process group (a stop reaches whatever it forked), output appended to a log file,
  and a parent-death signal (Linux ``PR_SET_PDEATHSIG``): a harness killed with SIGKILL takes its
  children along instead of leaving orphans that hold ports, iptables rules or a data directory. The
  kernel sends it when the *thread* that started the child ends, so start long-lived children from a
  thread that lives as long as they do (the main thread, or a node agent's own).
- **ready**: :func:`wait_ready` polls a probe until it says yes; a child that exits meanwhile, or the
  deadline, raises the child's error with the last lines of its log, so the cause is in the message.
- **stop**: the stop signal to the group, SIGKILL after a grace, then the child is reaped (no zombie).

Its exit is observed without reaping it until :meth:`Child.stop`: while the zombie exists its pid
cannot be reused, so signalling its process group can never hit a stranger.

mirakuru does the same for pytest-postgresql, but it always sets its own ``preexec_fn`` (no parent-death
signal), forces text mode and scans every process's environment at exit; what is needed here fits in this
module.

Example::

    server = Child("echo server", ["python", "-m", "http.server", "8000"], log=Path("http.log")).start()
    try:
        wait_ready([server], lambda: port_open(8000), timeout=10)
    finally:
        server.stop()
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tenantprobe.errors import TargetError, TenantProbeError

__all__ = ["Child", "NotReady", "free_port", "stop_all", "wait_ready"]

_PR_SET_PDEATHSIG = 1
TAIL_LINES = 30


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now, for a child to listen on (another process may take it first: rare)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class NotReady(Exception):
    """Raised by a readiness probe to say why the child does not serve yet; shown if time runs out."""


def _death_signal_setter(sig: signal.Signals) -> Callable[[], None]:
    # Resolved here, in the parent: between fork and exec the child must not load anything (another
    # thread may have held the loader's lock at the fork), only call the function.
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: no parent-death signal
        return lambda: None

    def set_death_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)

    return set_death_signal


class Child:
    """One child process with its own process group, its log file and its stop policy.

    ``stop_signal`` asks it to shut down (PostgreSQL's fast shutdown is SIGINT); SIGKILL follows after
    ``grace`` seconds. ``death_signal`` is what it gets if the harness dies first (SIGTERM where the
    child must clean up after itself, as dockerd stops containerd). ``error`` is the exception a failed
    start raises (the caller's part of the error tree). ``user``/``group`` run it as another user.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: int | None = None,
        group: int | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
        death_signal: signal.Signals = signal.SIGKILL,
        grace: float = 10.0,
        error: type[TenantProbeError] = TargetError,
    ) -> None:
        self.name, self.argv, self.log = name, list(argv), log
        self.env, self.cwd, self.user, self.group = env, cwd, user, group
        self.stop_signal, self.death_signal, self.grace, self.error = stop_signal, death_signal, grace, error
        self._popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Child:
        if self._popen is not None:
            raise RuntimeError(f"{self.name} is already started; stop() it first")
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=None if self.env is None else dict(self.env),
                cwd=self.cwd,
                user=self.user,
                group=self.group,
                start_new_session=True,  # its own process group: stop() signals all it forked
                preexec_fn=_death_signal_setter(self.death_signal),
            )
        return self

    @property
    def pid(self) -> int:
        if self._popen is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        """The exit code (negative: killed by that signal) once it has exited, else None; never reaps it."""
        if self._popen is None or self._popen.returncode is not None:
            return None if self._popen is None else self._popen.returncode
        try:
            info = os.waitid(os.P_PID, self._popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:  # reaped behind our back (a SIGCHLD handler): gone all the same
            return self._popen.wait()
        if info is None:
            return None
        return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status

    @property
    def running(self) -> bool:
        return self._popen is not None and self.returncode is None

    def log_tail(self, lines: int = TAIL_LINES) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def failure(self, message: str) -> TenantProbeError:
        """The child's error, with its last log lines: what a caller raises when the child misbehaves."""
        return self.error(f"{message}; last lines of {self.log}:\n{self.log_tail()}")

    def send_signal(self, sig: signal.Signals) -> None:
        """A signal to the child alone (not its group), e.g. SIGQUIT for PostgreSQL's immediate shutdown."""
        if self.running:
            assert self._popen is not None
            self._popen.send_signal(sig)

    def wait_exit(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for it to exit, without reaping it."""
        deadline = time.monotonic() + timeout
        while self.returncode is None:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def terminate(self) -> None:
        """The stop signal to the group, without waiting (:func:`stop_all` lets several shut down at once)."""
        if self._popen is not None and self._popen.returncode is None:
            self._signal_group(self.stop_signal)

    def stop(self, grace: float | None = None) -> None:
        """The stop signal to the group, SIGKILL after the grace, then reap; idempotent."""
        stop_all([self], grace)

    def kill(self) -> None:
        """SIGKILL to the group, then reap: no shutdown code runs, as in a crash."""
        if self._popen is not None and self._popen.returncode is None:
            self._signal_group(signal.SIGKILL)
        self._reap(time.monotonic())

    def _reap(self, deadline: float) -> None:
        """Wait for it to exit until ``deadline`` (monotonic), SIGKILL the group then, and reap it."""
        popen = self._popen
        if popen is None:
            return
        if popen.returncode is None:  # not reaped: the zombie keeps its pid, so the group id is still ours
            if not self.wait_exit(deadline - time.monotonic()):
                self._signal_group(signal.SIGKILL)
            # What the leader left in its group (a fork that outlived it) goes too.
            self._signal_group(signal.SIGKILL)
        popen.wait()
        self._popen = None

    def _signal_group(self, sig: signal.Signals) -> None:
        assert self._popen is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, sig)


def stop_all(children: Sequence[Child], grace: float | None = None) -> None:
    """Stop several children at once: every group gets its stop signal first, so their graces overlap."""
    started = time.monotonic()
    for child in children:
        child.terminate()
    for child in children:
        child._reap(started + (child.grace if grace is None else grace))


def wait_ready(
    children: Sequence[Child],
    ready: Callable[[], bool],
    timeout: float,
    *,
    what: str = "",
    interval: float = 0.05,
) -> None:
    """Poll ``ready()`` every ``interval`` seconds until it is true.

    A child that exits meanwhile raises its error with its log; so does the deadline, with the last
    reason a probe gave (:class:`NotReady`) and every child's last log lines. ``what`` names what is
    awaited (default: the first child)."""
    if not children:
        raise ValueError("wait_ready needs at least one child to watch")
    deadline = time.monotonic() + timeout
    reason = ""
    while True:
        for child in children:
            if (code := child.returncode) is not None:
                raise child.failure(f"{child.name} exited at start-up (exit code {code})")
        try:
            if ready():
                return
        except NotReady as exc:
            reason = str(exc)
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {child.name} ({child.log}):\n{child.log_tail(15)}" for child in children)
            because = f" ({reason})" if reason else ""
            raise children[0].error(
                f"{what or children[0].name} was not ready within {timeout:.0f} s{because}; last log lines:\n{tails}"
            )
        time.sleep(interval)
