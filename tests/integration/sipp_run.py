"""
Run SIPp (Debian package sip-tester) for the integration tests, bounded
in calls and in time, and read its results.

- run_sipp_uas(port) starts tests/integration/sipp/uas_call.xml on
  loopback and returns the Popen once SIPp holds the port.
- run_sipp_uac(target, calls, rate, timeout) runs uac_call.xml to the
  end and returns a SippResult; start_sipp_uac() is the same without
  waiting (for tests that act while the load runs).
- Counts come from the -trace_stat CSV (-stf, dumped every second and at
  exit): SuccessfulCall(C), FailedCall(C), ... SIPp's exit code is kept
  too (0: every call succeeded, 1: some failed, 97: stopped by command,
  99: ended with no call processed, 255/254: fatal error / bind error).

SIPp also binds media sockets (-mp, default 6000 and up): each run gets
a port the kernel just handed out instead, so runs do not collide.

Every run has -m (calls), -timeout (global, with -timeout_error so a run
cut short is a failure), -recv_timeout (a lost message fails its call
instead of holding it), and a subprocess timeout past all of those.
Processes are ended by their own PID only.
"""

from __future__ import annotations

import csv
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

SIPP_DIR = Path(__file__).resolve().parent / "sipp"
UAC_SCENARIO = SIPP_DIR / "uac_call.xml"
UAS_SCENARIO = SIPP_DIR / "uas_call.xml"

EXIT_CODES = {
    0: "all calls successful",
    1: "at least one call failed",
    97: "exit on internal command",
    99: "normal exit without calls processed",
    255: "fatal error",
    254: "fatal error binding a socket",
}


def sipp_binary() -> str:
    """Path of sipp; raises (the tests need it: it is a declared test
    dependency, not an optional one)."""
    path = shutil.which("sipp")
    if path is None:
        raise RuntimeError("sipp not found on PATH: install the Debian package sip-tester")
    return path


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _free_udp_port(host: str) -> int:
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _udp_port_taken(host: str, port: int) -> bool:
    """True when some socket is bound to UDP `port` (read from
    /proc/net/udp{,6}: probing with bind() could race SIPp's own bind)."""
    want = f":{port:04X}"
    for name in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(name, encoding="ascii") as f:
                next(f, None)
                for line in f:
                    fields = line.split()
                    if len(fields) > 1 and fields[1].endswith(want):
                        return True
        except OSError:
            continue
    return False


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-limit:].decode("utf-8", "replace")


def stop_process(p: subprocess.Popen, timeout: float = 5.0) -> Optional[int]:
    """SIGTERM to p's PID, wait up to timeout, then SIGKILL; returns the
    exit status."""
    if p.poll() is None:
        try:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout)
        except ProcessLookupError:
            pass
    return p.poll()


def read_stat_csv(path: Path) -> dict:
    """The last row of a SIPp -trace_stat CSV as {column: text}; {} when
    the file is missing or has no data row yet."""
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            rows = [r for r in csv.reader(f, delimiter=";") if r]
    except OSError:
        return {}
    if len(rows) < 2:
        return {}
    header, last = rows[0], rows[-1]
    return {k: v for k, v in zip(header, last)}


def _int(stats: dict, key: str) -> int:
    try:
        return int(float(stats.get(key, "0") or 0))
    except ValueError:
        return 0


def _duration_ms(text: str) -> Optional[float]:
    """SIPp 'HH:MM:SS:uuuuuu' (or 'HH:MM:SS') to milliseconds."""
    parts = (text or "").split(":")
    try:
        if len(parts) == 4:
            h, m, s, us = (int(p) for p in parts)
            return ((h * 60 + m) * 60 + s) * 1000.0 + us / 1000.0
        if len(parts) == 3:
            h, m, s = (int(p) for p in parts)
            return ((h * 60 + m) * 60 + s) * 1000.0
    except ValueError:
        return None
    return None


class SippResult:
    """Outcome of one SIPp UAC run."""

    def __init__(self, cmd: list, returncode: Optional[int], stats: dict, workdir: Path,
                 elapsed: float, timed_out: bool, calls: int):
        self.cmd = cmd
        self.returncode = returncode
        self.stats = stats
        self.workdir = workdir
        self.elapsed = elapsed
        self.timed_out = timed_out
        self.calls = calls
        self.successful = _int(stats, "SuccessfulCall(C)")
        self.failed = _int(stats, "FailedCall(C)")
        self.created = _int(stats, "TotalCallCreated")
        self.retransmissions = _int(stats, "Retransmissions(C)")
        self.unexpected = _int(stats, "FailedUnexpectedMessage(C)")
        self.max_udp_retrans = _int(stats, "FailedMaxUDPRetrans(C)")
        self.recv_timeouts = _int(stats, "FailedTimeoutOnRecv(C)")
        # INVITE -> 200 time ("rtd 1"), mean over the run, in ms.
        self.rtd_ms = _duration_ms(stats.get("ResponseTime1(C)", ""))

    @property
    def ok(self) -> bool:
        """Every requested call completed and none failed."""
        return (not self.timed_out and self.returncode == 0 and self.failed == 0
                and self.successful == self.calls)

    @property
    def errors(self) -> str:
        return _tail(self.workdir / "errors.log")

    @property
    def screen(self) -> str:
        return _tail(self.workdir / "stdout.log", 3000)

    def summary(self) -> str:
        rc = self.returncode
        return (f"sipp exit {rc} ({EXIT_CODES.get(rc, '?') if rc is not None else 'killed'}), "
                f"timed_out={self.timed_out}, calls requested {self.calls}, created "
                f"{self.created}, successful {self.successful}, failed {self.failed} "
                f"(unexpected msg {self.unexpected}, max UDP retrans {self.max_udp_retrans}, "
                f"recv timeout {self.recv_timeouts}), retransmissions {self.retransmissions}, "
                f"rtd {self.rtd_ms} ms, {self.elapsed:.1f} s\ncommand: {' '.join(self.cmd)}\n"
                f"workdir: {self.workdir}\n--- sipp errors.log (tail) ---\n{self.errors}\n"
                f"--- sipp screen (tail) ---\n{self.screen}")

    def __repr__(self) -> str:
        return (f"SippResult(rc={self.returncode}, successful={self.successful}, "
                f"failed={self.failed}, created={self.created})")


class SippRun:
    """A SIPp UAC started in the background (start_sipp_uac)."""

    def __init__(self, popen: subprocess.Popen, cmd: list, workdir: Path, calls: int,
                 deadline: float):
        self.popen = popen
        self.cmd = cmd
        self.workdir = workdir
        self.calls = calls
        self.deadline = deadline  # monotonic time by which it must be over
        self.started = time.monotonic()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stats_now(self) -> dict:
        """The latest periodic statistics row (one per second)."""
        return read_stat_csv(self.workdir / "stat.csv")

    def calls_created(self) -> int:
        return _int(self.stats_now(), "TotalCallCreated")

    def wait(self, timeout: Optional[float] = None) -> SippResult:
        """Wait for the end (at most until the run's deadline) and read
        the results; a run still going then is stopped and marked
        timed_out."""
        limit = self.deadline - time.monotonic()
        if timeout is not None:
            limit = min(limit, timeout)
        timed_out = False
        try:
            self.popen.wait(max(0.0, limit))
        except subprocess.TimeoutExpired:
            timed_out = True
            stop_process(self.popen)
        return SippResult(self.cmd, self.popen.returncode, self.stats_now(), self.workdir,
                          time.monotonic() - self.started, timed_out, self.calls)

    def stop(self) -> None:
        stop_process(self.popen)


def _workdir(workdir, prefix: str) -> Path:
    if workdir is None:
        return Path(tempfile.mkdtemp(prefix=prefix))
    p = Path(workdir)
    p.mkdir(parents=True, exist_ok=True)
    return p


def start_sipp_uac(target, calls: int, rate: float, timeout: float = 60.0, *,
                   scenario: Path = UAC_SCENARIO, local_host: str = "127.0.0.1",
                   local_port: Optional[int] = None, pause_ms: int = 0,
                   recv_timeout_ms: int = 20000, service: str = "callee",
                   workdir=None, extra_args: Sequence[str] = (), max_concurrent: Optional[int] = None,
                   ) -> SippRun:
    """Start SIPp as a UAC placing `calls` calls at `rate` calls/s to
    target ((host, port) or 'host:port'). Everything is bounded: -m
    calls, -timeout `timeout` s (+ -timeout_error), -recv_timeout, and
    wait() gives up `timeout` + 15 s after the start."""
    if calls < 1 or rate <= 0 or timeout <= 0:
        raise ValueError("calls, rate and timeout must be positive")
    if not isinstance(target, str):
        target = _hostport(target[0], int(target[1]))
    wd = _workdir(workdir, "sipp-uac-")
    port = local_port or _free_udp_port(local_host)
    cmd = [sipp_binary(), target, "-sf", str(scenario), "-i", local_host, "-p", str(port),
           "-s", service, "-m", str(calls), "-r", str(rate), "-rp", "1000",
           "-d", str(pause_ms), "-nostdin", "-mp", str(_free_udp_port(local_host)),
           "-timeout", f"{int(timeout)}s", "-timeout_error",
           "-recv_timeout", f"{int(recv_timeout_ms)}ms",
           "-trace_stat", "-stf", str(wd / "stat.csv"), "-fd", "1",
           "-trace_err", "-error_file", str(wd / "errors.log"),
           "-trace_screen", "-screen_file", str(wd / "screen.log")]
    if max_concurrent:
        cmd += ["-l", str(max_concurrent)]
    cmd += list(extra_args)
    out = open(wd / "stdout.log", "wb")
    try:
        p = subprocess.Popen(cmd, cwd=wd, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT)
    finally:
        out.close()
    return SippRun(p, cmd, wd, calls, time.monotonic() + timeout + 15.0)


def run_sipp_uac(target, calls: int, rate: float, timeout: float = 60.0, **kw) -> SippResult:
    """Run the UAC scenario to its end; see start_sipp_uac for arguments."""
    return start_sipp_uac(target, calls, rate, timeout, **kw).wait()


def run_sipp_uas(port: int, host: str = "127.0.0.1", *, scenario: Path = UAS_SCENARIO,
                 workdir=None, timeout: float = 300.0, recv_timeout_ms: int = 30000,
                 ring_ms: int = 0, extra_args: Sequence[str] = (),
                 ready_timeout: float = 5.0) -> subprocess.Popen:
    """Start SIPp as the UAS of uas_call.xml on host:port and return its
    Popen once the port is bound. ring_ms is the pause between its 180 and
    its 200. It quits by itself after `timeout` s; stop it earlier with
    stop_process(p). p.workdir holds its logs."""
    wd = _workdir(workdir, "sipp-uas-")
    cmd = [sipp_binary(), "-sf", str(scenario), "-i", host, "-p", str(port), "-nostdin",
           "-d", str(int(ring_ms)), "-mp", str(_free_udp_port(host)),
           "-timeout", f"{int(timeout)}s", "-recv_timeout", f"{int(recv_timeout_ms)}ms",
           "-trace_err", "-error_file", str(wd / "errors.log"),
           "-trace_stat", "-stf", str(wd / "stat.csv"), "-fd", "1"]
    cmd += list(extra_args)
    out = open(wd / "stdout.log", "wb")
    try:
        p = subprocess.Popen(cmd, cwd=wd, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT)
    finally:
        out.close()
    p.workdir = wd
    p.cmd = cmd
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise RuntimeError(f"sipp UAS exited with {p.returncode} at start: "
                               f"{' '.join(cmd)}\n{_tail(wd / 'stdout.log')}")
        if _udp_port_taken(host, port):
            return p
        time.sleep(0.02)
    stop_process(p)
    raise RuntimeError(f"sipp UAS did not bind {_hostport(host, port)} within {ready_timeout}s")


def uas_stats(p: subprocess.Popen) -> dict:
    """Latest statistics of a UAS started by run_sipp_uas."""
    return read_stat_csv(Path(p.workdir) / "stat.csv")
