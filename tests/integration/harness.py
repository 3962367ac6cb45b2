"""
Start the real sipedge binary for the integration tests.

- sipedge_binary(): $SIPEDGE_BIN, else build/src/sipedge of this checkout.
- to_yaml(obj): a tiny YAML emitter (dict, list, str, int, float, bool,
  None) so tests need no PyYAML.
- launch(...): write sipedge.yaml + policy.yaml, start `sipedge -c`, wait
  for the `ready` log line; returns a SipedgeProc.
- run_check(...): `sipedge -t -c` on generated files.
- parse_worker_pids(text): worker slot -> pid from the daemon's log.

The daemon is started in a session of its own, so every process it forks
can be told apart from anything else on the host (its session id is the
master's pid); leftovers are ended one PID at a time, and only after
checking they are in that session.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional, Union

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
DEFAULT_BIN = REPO_ROOT / "build" / "src" / "sipedge"

READY_RE = re.compile(r"\bready\b", re.I)
READY_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
LOG_TAIL_LINES = 200


def sipedge_binary() -> Path:
    return Path(os.environ.get("SIPEDGE_BIN") or DEFAULT_BIN)


def binary_missing_reason() -> Optional[str]:
    """Why the daemon cannot be run (None when it can). Only a missing
    binary counts: everything else must fail, never skip."""
    b = sipedge_binary()
    if not b.exists():
        src = "SIPEDGE_BIN" if os.environ.get("SIPEDGE_BIN") else "default path"
        return (f"sipedge binary not found at {b} ({src}); build it with "
                f"`meson setup build && meson compile -C build` or set SIPEDGE_BIN")
    return None


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port the kernel just handed out on host (free at the time of
    the call; the tests bind it soon after)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- YAML ----

_PLAIN_OK = re.compile(r"^[A-Za-z0-9_./+~$%@-][A-Za-z0-9_./:@+~$%=()-]*$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}
_NUMBERISH = re.compile(r"^[-+]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?$|^0[xob]", re.I)


def _scalar(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    s = str(v)
    # Plain when it cannot be read as anything else: no ': ' or ' #', no
    # leading indicator, not a YAML 1.1 boolean/null or a number.
    if (s and _PLAIN_OK.match(s) and not s.endswith(":")
            and s.lower() not in _YAML_WORDS and not _NUMBERISH.match(s)
            and not s.startswith(("@", "%", "-"))):
        return s
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _emit(obj, indent: int, lines: list) -> None:
    pad = " " * indent
    if isinstance(obj, dict):
        for k, v in obj.items():
            key = _scalar(str(k))
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{key}:")
                _emit(v, indent + 2, lines)
            elif isinstance(v, dict):
                lines.append(f"{pad}{key}: {{}}")
            elif isinstance(v, list):
                lines.append(f"{pad}{key}: []")
            else:
                lines.append(f"{pad}{key}: {_scalar(v)}")
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, (dict, list)) and item:
                sub: list = []
                _emit(item, indent + 2, sub)
                # first line of the item goes after the dash
                lines.append(f"{pad}- {sub[0][indent + 2:]}")
                lines.extend(sub[1:])
            elif isinstance(item, dict):
                lines.append(f"{pad}- {{}}")
            elif isinstance(item, list):
                lines.append(f"{pad}- []")
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    else:
        lines.append(f"{pad}{_scalar(obj)}")


def to_yaml(obj) -> str:
    """Block-style YAML for dict/list/str/int/float/bool/None. Strings are
    plain when unambiguous, else double-quoted."""
    lines: list = []
    _emit(obj, 0, lines)
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------- log parsing ----

_SLOT_RE = re.compile(r"(?:\bslot|\bworker)[\s\"'#=:\[(]*(\d+)|\bw(\d+)\b", re.I)
_PID_RE = re.compile(r"\bpid[\s\"'#=:\[(]*(\d+)", re.I)
_START_WORDS = re.compile(r"start|spawn|fork|running|ready|online|\bup\b", re.I)
_END_WORDS = re.compile(r"exit|died|dead|kill|terminat|stop|crash|signal|reap|fail|gone", re.I)
# A "... [who pid]: " line prefix (the process that logs, not the subject).
_PREFIX_RE = re.compile(r"^.{0,80}?\[[^\]]*\]:\s")


def parse_worker_pids(text: str) -> dict:
    """Worker slot -> pid, from the daemon's log (the latest start line of
    each slot wins, so a respawn replaces the old pid).

    A worker start line is any line whose message (after a "[who]: "
    prefix, if any) names a worker with a number ("w1", "worker 1",
    "slot=1"), a pid with a number, and a start-like word (spawned,
    started, forked, running...), and no end-like word (exited, killed,
    signal, stopping...). Examples it reads:
      "2025-01-01T00:00:00.000Z info [master 100]: spawned w0 pid 101"
      "... respawned w1 pid 104 (restart 1)"   "worker 1 started (pid 4242)"
      "master: spawned worker slot=1 pid=4243"
      {"event":"worker_start","slot":0,"pid":77}
    This is the one place that knows the log's wording."""
    pids: dict = {}
    for line in text.splitlines():
        m = _PREFIX_RE.match(line)
        msg = line[m.end():] if m else line
        ms, mp = _SLOT_RE.search(msg), _PID_RE.search(msg)
        if not ms or not mp:
            continue
        if _END_WORDS.search(msg) or not _START_WORDS.search(msg):
            continue
        pids[int(ms.group(1) or ms.group(2))] = int(mp.group(1))
    return pids


def _proc_stat(pid: int) -> Optional[tuple]:
    """(state, ppid, session) of a live pid from /proc, or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rindex(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[3])


def _all_pids() -> list:
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


# ------------------------------------------------------------ processes ----

class SipedgeProc:
    """One running (or finished) sipedge started by launch()."""

    def __init__(self, popen: subprocess.Popen, cmd: list, workdir: Path, config_path: Path,
                 policy_path: Path, log_path: Path, config, policy, expect_ready: bool,
                 stop_timeout: float):
        self.popen = popen
        self.cmd = cmd
        self.workdir = workdir
        self.config_path = config_path
        self.policy_path = policy_path
        self.log_path = log_path
        self.config = config
        self.policy = policy
        self.expect_ready = expect_ready
        self.stop_timeout = stop_timeout
        self.stopped_by_test = False
        self.killed_workers: list = []
        self.leftovers: list = []
        self.stop_problem: Optional[str] = None

    # -- identity --------------------------------------------------------------
    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> Optional[int]:
        return self.popen.poll()

    def alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def listeners(self) -> list:
        """[(transport, host, port)] of the listen entries."""
        entries = []
        if isinstance(self.config, dict):
            entries = list(self.config.get("listen") or [])
        else:
            entries = re.findall(r"\b(?:udp|tcp|tls|wss?)://\S+", str(self.config))
        out = []
        for e in entries:
            m = re.match(r"^(\w+)://(\[[^\]]+\]|[^:/]+)(?::(\d+))?", str(e))
            if m:
                host = m.group(2).strip("[]")
                out.append((m.group(1).lower(), host, int(m.group(3) or 5060)))
        return out

    @property
    def addr(self) -> tuple:
        """(host, port) of the first listener: where tests send SIP."""
        t, h, p = self.listeners[0]
        return h, p

    @property
    def hostport(self) -> str:
        h, p = self.addr
        return f"[{h}]:{p}" if ":" in h else f"{h}:{p}"

    # -- log -----------------------------------------------------------------------
    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        all_lines = self.log_text().splitlines()
        cut = all_lines[-lines:]
        head = f"[... {len(all_lines) - len(cut)} earlier lines ...]\n" if len(all_lines) > len(cut) else ""
        return head + "\n".join(cut)

    def wait_log(self, pattern: Union[str, re.Pattern], timeout: float = 5.0,
                 start: int = 0) -> re.Match:
        """Wait until the log (from character `start`) matches pattern."""
        rx = re.compile(pattern, re.I) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log_text(), start)
            if m:
                return m
            if time.monotonic() >= deadline:
                raise AssertionError(f"sipedge log has no /{rx.pattern}/ after {timeout}s\n"
                                     f"--- log ---\n{self.log_tail()}")
            time.sleep(0.05)

    def describe(self) -> str:
        return (f"command: {' '.join(self.cmd)} (pid {self.pid}, status {self.returncode})\n"
                f"--- {self.config_path.name} ---\n{_read(self.config_path)}"
                f"--- {self.policy_path.name} ---\n{_read(self.policy_path)}"
                f"--- log ({self.log_path}) ---\n{self.log_tail()}")

    # -- workers ---------------------------------------------------------------------
    def worker_pids(self, alive_only: bool = False) -> dict:
        """Slot -> pid from the log (see parse_worker_pids); alive_only keeps
        those that are children of this master right now."""
        pids = parse_worker_pids(self.log_text())
        if alive_only:
            kids = self.child_pids()
            pids = {s: p for s, p in pids.items() if p in kids}
        return pids

    def child_pids(self) -> set:
        """Live (non-zombie) direct children of the master, from /proc."""
        out = set()
        for pid in _all_pids():
            st = _proc_stat(pid)
            if st and st[1] == self.pid and st[0] != "Z":
                out.add(pid)
        return out

    def session_pids(self) -> set:
        """Live processes in the daemon's session (it and all it forked,
        even those reparented after the master died), from /proc."""
        out = set()
        for pid in _all_pids():
            st = _proc_stat(pid)
            if st and st[2] == self.pid and st[0] != "Z":
                out.add(pid)
        return out

    def kill_worker(self, slot: int, sig: int = signal.SIGKILL) -> int:
        """Send sig to the worker of `slot` (by its pid, after checking it
        is a child of this master). Returns the pid."""
        pids = self.worker_pids()
        if slot not in pids:
            raise AssertionError(f"no start line for worker slot {slot} in the log "
                                 f"(parsed {pids})\n--- log ---\n{self.log_tail()}")
        pid = pids[slot]
        kids = self.child_pids()
        if pid not in kids:
            raise AssertionError(f"worker slot {slot} pid {pid} from the log is not a live child "
                                 f"of master {self.pid} (children: {sorted(kids)})")
        os.kill(pid, sig)
        self.killed_workers.append((slot, pid, sig))
        return pid

    def wait_worker_respawn(self, slot: int, old_pid: int, timeout: float = 5.0) -> int:
        """Wait until the log shows a new live worker for slot; its pid."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self.worker_pids().get(slot)
            if pid and pid != old_pid and pid in self.child_pids():
                return pid
            time.sleep(0.05)
        raise AssertionError(f"worker slot {slot} (pid {old_pid}) not respawned within "
                             f"{timeout}s; parsed {self.worker_pids()}, children "
                             f"{sorted(self.child_pids())}\n--- log ---\n{self.log_tail()}")

    # -- lifecycle -------------------------------------------------------------------
    def wait(self, timeout: float) -> Optional[int]:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if READY_RE.search(self.log_text()):
                return
            if self.popen.poll() is not None:
                if READY_RE.search(self.log_text()):
                    return
                raise AssertionError(f"sipedge exited with status {self.returncode} before "
                                     f"logging 'ready'\n{self.describe()}")
            if time.monotonic() >= deadline:
                raise AssertionError(f"sipedge did not log 'ready' within {timeout}s\n"
                                     f"{self.describe()}")
            time.sleep(0.02)

    def stop(self, timeout: Optional[float] = None, sig: int = signal.SIGTERM) -> Optional[int]:
        """Graceful stop: sig (SIGTERM) to the master's pid, wait up to
        timeout (default stop_timeout), then SIGKILL it; then SIGKILL any
        process left in its session. Returns the master's exit status.
        Records what went wrong in stop_problem / leftovers."""
        timeout = self.stop_timeout if timeout is None else timeout
        self.stopped_by_test = True
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.stop_problem = (f"sipedge pid {self.pid} still running {timeout}s after "
                                     f"{signal.Signals(sig).name}; sent SIGKILL")
                self.popen.kill()
                self.popen.wait(10)
        self._reap_session()
        return self.popen.returncode

    def _reap_session(self) -> None:
        # The workers must go with the master; any still alive after a
        # short grace period are reported and ended, one verified PID at a time.
        deadline = time.monotonic() + 3.0
        left = self.session_pids()
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = self.session_pids()
        for pid in sorted(left):
            st = _proc_stat(pid)
            if st and st[2] == self.pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.leftovers.append(pid)
        deadline = time.monotonic() + 2.0
        while self.leftovers and self.session_pids() and time.monotonic() < deadline:
            time.sleep(0.02)


def _read(p: Path) -> str:
    try:
        t = p.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(missing)\n"
    return t if t.endswith("\n") else t + "\n"


def _control_path(workdir: Path) -> str:
    """The control socket: in workdir when the path fits in sun_path
    (108 bytes), else in a short directory under /tmp."""
    p = workdir / "sipedge.sock"
    if len(str(p)) < 100:
        return "sipedge.sock"
    short = Path(tempfile.mkdtemp(prefix="se-", dir="/tmp"))
    return str(short / "sipedge.sock")


def write_files(workdir: Path, config, policy, workers=2) -> tuple:
    """Write sipedge.yaml and policy.yaml into workdir. A dict config gets
    defaults for listen (a free UDP port on 127.0.0.1), workers, policy
    and control; a str config or policy is written as is."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "sipedge.yaml"
    policy_path = workdir / "policy.yaml"
    if isinstance(config, dict) or config is None:
        cfg = {"listen": [f"udp://127.0.0.1:{free_udp_port()}"], "workers": workers,
               "policy": "policy.yaml", "control": _control_path(workdir)}
        cfg.update(config or {})
        config_path.write_text(to_yaml(cfg), encoding="utf-8")
    else:
        cfg = str(config)
        config_path.write_text(cfg, encoding="utf-8")
    policy_path.write_text(policy if isinstance(policy, str) else to_yaml(policy),
                           encoding="utf-8")
    return cfg, config_path, policy_path


def launch(workdir: Path, config, policy, workers=2, expect_ready: bool = True,
           ready_timeout: float = READY_TIMEOUT, stop_timeout: float = STOP_TIMEOUT,
           extra_args=(), binary: Optional[Path] = None) -> SipedgeProc:
    """Write the files, start `sipedge -c workdir/sipedge.yaml` (stderr and
    stdout to workdir/sipedge.log), and unless expect_ready is False wait
    for `ready` (AssertionError with the log otherwise, after stopping it)."""
    cfg, config_path, policy_path = write_files(workdir, config, policy, workers)
    log_path = workdir / "sipedge.log"
    cmd = [str(binary or sipedge_binary()), "-c", str(config_path), *extra_args]
    with open(log_path, "wb") as log:
        p = subprocess.Popen(cmd, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
    proc = SipedgeProc(p, cmd, workdir, config_path, policy_path, log_path, cfg, policy,
                       expect_ready, stop_timeout)
    if expect_ready:
        try:
            proc.wait_ready(ready_timeout)
        except AssertionError:
            proc.stop(timeout=3.0)
            raise
    return proc


class CheckResult:
    """Outcome of `sipedge -t -c FILE`."""

    def __init__(self, cmd, returncode, stdout, stderr, config_path, policy_path):
        self.cmd = cmd
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.output = stdout + stderr
        self.config_path = config_path
        self.policy_path = policy_path

    def __repr__(self) -> str:
        return f"CheckResult(rc={self.returncode}, output={self.output!r})"


def run_check(workdir: Path, config, policy, workers=2, timeout: float = 30.0,
              binary: Optional[Path] = None) -> CheckResult:
    """`sipedge -t -c workdir/sipedge.yaml` on generated files."""
    _, config_path, policy_path = write_files(workdir, config, policy, workers)
    cmd = [str(binary or sipedge_binary()), "-t", "-c", str(config_path)]
    r = subprocess.run(cmd, cwd=workdir, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout)
    return CheckResult(cmd, r.returncode, r.stdout.decode("utf-8", "replace"),
                       r.stderr.decode("utf-8", "replace"), config_path, policy_path)


def stop_all(procs) -> tuple:
    """Teardown of the daemons a test started: stop each one the test did
    not stop itself and judge how it went. Returns (problems, notes):
    problems fail the test (died during the test, non-zero exit on
    SIGTERM, processes left behind); notes are only worth a warning (a
    graceful drain longer than the stop timeout, ended by SIGKILL)."""
    problems, notes = [], []
    for proc in procs:
        if proc.stopped_by_test:
            continue
        died = proc.returncode
        rc = proc.stop()
        if not proc.expect_ready:
            continue
        if died is not None:
            problems.append(f"sipedge pid {proc.pid} exited during the test with status {died}")
        elif proc.stop_problem:
            notes.append(f"{proc.stop_problem} ({proc.workdir})")
        elif rc != 0:
            problems.append(f"sipedge pid {proc.pid} exited with status {rc} on SIGTERM "
                            f"(expected 0)")
        elif proc.leftovers:
            problems.append(f"processes of sipedge pid {proc.pid} still alive after it exited "
                            f"(SIGKILLed): {proc.leftovers}")
    return problems, notes
