#!/usr/bin/env python3
"""Process-lifecycle test of the sipedge runtime (master + workers).

Runs the runtime's test daemon (sipedge-echo: the real main() and master,
with an echo SIP layer that answers every datagram with "w<slot> <pid>
<payload>") on 127.0.0.1 and checks, with 2 workers:

  - `-t` prints a summary and exits 0, or prints file:line:col errors and
    exits 1; a broken config also stops the daemon at start;
  - one `ready` line once both workers run; datagrams from ONE peer reach
    both workers;
  - SIGKILL of a worker: the master respawns it into the same slot within
    1 s, the other worker keeps answering, and datagrams that reached the
    dead slot's socket meanwhile are answered by its successor (same
    sockets);
  - SIGTERM: workers go on answering while one of them is busy (drain),
    then everything exits, the master with status 0, within the bound;
  - a worker that keeps crashing is given up (respawn-storm back-off) and
    its share of the traffic goes to the other worker;
  - SIGKILL of the master: the workers exit by themselves.

Usage: test_lifecycle.py PATH/TO/sipedge-echo. Every wait is bounded; only
processes this script starts are signalled.
"""
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.path.abspath(sys.argv[1])
TMP = tempfile.mkdtemp(prefix="se-rt-")

POLICY = """\
pools:
  uas:
    destinations:
      - uri: sip:127.0.0.1:5080
rules:
  - name: default
    route: uas
"""


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_config(name, port, extra="", more_listen=()):
    with open(os.path.join(TMP, "policy.yaml"), "w") as f:
        f.write(POLICY)
    path = os.path.join(TMP, name)
    listen = "".join(f"  - {u}\n" for u in (f"udp://127.0.0.1:{port}",) + tuple(more_listen))
    with open(path, "w") as f:
        f.write(
            "listen:\n" + listen +
            "workers: 2\n"
            "policy: policy.yaml\n"
            "control: ctl.sock\n"
            "shm_size: 8MiB\n"
            "log_level: info\n"
            # Timer B = 64 * T1 = 6.4 s: the workers' drain bound.
            "timers:\n  t1: 100ms\n" + extra
        )
    return path


def no_core():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class Daemon:
    """sipedge-echo in the foreground, its log collected line by line."""

    def __init__(self, cfg):
        self.lines = []
        self.cv = threading.Condition()
        self.proc = subprocess.Popen(
            [BIN, "-c", cfg],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=no_core,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            with self.cv:
                self.lines.append(line.rstrip("\n"))
                self.cv.notify_all()

    def wait_for(self, pattern, timeout, start=0):
        """First match of pattern in the lines from index start, or None."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                for line in self.lines[start:]:
                    m = rx.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cv.wait(left)

    def mark(self):
        with self.cv:
            return len(self.lines)

    def log(self):
        with self.cv:
            return "\n".join(self.lines)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self.reader.join(timeout=5)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie of ours would still count: the master reaps its workers.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def client():
    """A UDP socket whose buffer holds every reply of a burst (all are sent
    before any is read)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("127.0.0.1", 0))
    return sock


def ping(port, payloads, timeout=3.0, sock=None):
    """Send each payload from one socket; return the replies as (slot, pid, text)."""
    own = sock is None
    if own:
        sock = client()
    for p in payloads:
        sock.sendto(p.encode(), ("127.0.0.1", port))
    replies = []
    deadline = time.monotonic() + timeout
    while len(replies) < len(payloads):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            data, _ = sock.recvfrom(4096)
        except socket.timeout:
            break
        m = re.match(r"w(\d+) (\d+) (.*)", data.decode(), re.S)
        assert m, data
        replies.append((int(m.group(1)), int(m.group(2)), m.group(3)))
    if own:
        sock.close()
    return replies


failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def start(name, extra="", more_listen=()):
    """A daemon on a free port, up and ready; retried if the port got taken."""
    for _ in range(3):
        port = free_port()
        d = Daemon(write_config(name, port, extra, more_listen))
        if d.wait_for(r"\bready\b", 10):
            return d, port
        d.stop()
        if "Address already in use" not in d.log():
            print(d.log())
            break
    raise SystemExit("FAIL daemon did not become ready")


def worker_pids(d):
    pids = {}
    for m in re.finditer(r"(?:re)?spawned w(\d+) pid (\d+)", d.log()):
        pids[int(m.group(1))] = int(m.group(2))
    return pids


def test_check_mode():
    port = free_port()
    cfg = write_config("sipedge.yaml", port)
    r = subprocess.run([BIN, "-t", "-c", cfg], capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "-t on a good config exits 0")
    check(
        ": ok: 1 listener, 2 workers, policy policy.yaml: 1 rule, 1 pool, 1 destination"
        in r.stdout,
        "-t prints the summary: " + r.stdout.strip(),
    )
    bad = write_config("bad.yaml", port, "workers_typo: 3\n")
    r = subprocess.run([BIN, "-t", "-c", bad], capture_output=True, text=True, timeout=30)
    check(r.returncode == 1, "-t on a bad config exits 1")
    check(
        re.search(r"bad\.yaml:\d+:\d+: ", r.stderr) is not None,
        "-t prints file:line:col: " + r.stderr.strip().splitlines()[0],
    )
    r = subprocess.run([BIN, "-c", bad], capture_output=True, text=True, timeout=30)
    check(
        r.returncode != 0 and re.search(r"bad\.yaml:\d+:\d+: ", r.stderr) is not None,
        "the daemon refuses to start on a bad config",
    )
    r = subprocess.run([BIN, "--version"], capture_output=True, text=True, timeout=30)
    check(
        r.returncode == 0 and re.fullmatch(r"sipedge \d+\.\d+\.\d+\n", r.stdout) is not None,
        "--version: " + r.stdout.strip(),
    )


def test_lifecycle():
    d, port = start("sipedge.yaml")
    try:
        pids = worker_pids(d)
        check(sorted(pids) == [0, 1], f"two workers spawned: {pids}")

        # One peer, both workers.
        replies = ping(port, [f"ping {i}" for i in range(400)])
        by_slot = {s: sum(1 for r in replies if r[0] == s) for s in (0, 1)}
        check(len(replies) == 400, f"400 datagrams answered ({len(replies)})")
        check(min(by_slot.values()) >= 100, f"one peer reaches both workers: {by_slot}")
        check(all(pids[s] == p for s, p, _ in replies), "answers come from the slot table's pids")

        # SIGKILL w1: respawned in slot 1 within 1 s, w0 keeps answering.
        mark = d.mark()
        old = pids[1]
        t0 = time.monotonic()
        os.kill(old, signal.SIGKILL)
        m = d.wait_for(r"respawned w1 pid (\d+)", 1.0, mark)
        took = time.monotonic() - t0
        check(m is not None, f"w1 respawned within 1 s ({took:.3f} s)")
        new = int(m.group(1)) if m else 0
        check(new != old and alive(new) and not alive(old), f"w1: pid {old} -> {new}")
        check(
            d.wait_for(rf"w1 pid {old} killed by signal 9", 1.0, mark) is not None,
            "the master logs how w1 ended",
        )
        replies = ping(port, [f"after {i}" for i in range(200)])
        slots = {(s, p) for s, p, _ in replies}
        check(len(replies) == 200, f"200 answered after the respawn ({len(replies)})")
        check(slots == {(0, pids[0]), (1, new)}, f"answered by w0 (same pid) and the new w1: {slots}")

        # Datagrams that reach a dead slot wait in its socket for the successor.
        mark = d.mark()
        cur = worker_pids(d)[1]
        sock = client()
        os.kill(cur, signal.SIGKILL)
        replies = ping(port, [f"gap {i}" for i in range(100)], sock=sock)
        sock.close()
        check(d.wait_for(r"respawned w1 pid", 1.0, mark) is not None, "w1 respawned again")
        check(len(replies) == 100, f"no datagram lost while w1 was dead ({len(replies)}/100)")
        check(any(r[0] == 0 for r in replies), "w0 kept answering meanwhile")

        # SIGHUP (policy reload) and SIGUSR1 (log reopen) leave it running;
        # the echo workers take the new generation too.
        mark = d.mark()
        d.proc.send_signal(signal.SIGHUP)
        check(d.wait_for(r"reloaded: generation 1", 2, mark) is not None, "SIGHUP reloads")
        check(d.wait_for(r"policy generation 1 in force", 2, mark) is not None,
              "a worker switched to generation 1")
        d.proc.send_signal(signal.SIGUSR1)
        check(d.wait_for(r"SIGUSR1: log reopened", 2, mark) is not None, "SIGUSR1 logged")
        check(len(ping(port, ["still"])) == 1 and d.proc.poll() is None, "still running")

        # Graceful stop while w<k> is busy: both keep answering, then exit 0.
        pids = worker_pids(d)
        held = ping(port, ["hold 1500"])
        check(len(held) == 1, f"hold taken by w{held[0][0] if held else '?'}")
        mark = d.mark()
        t0 = time.monotonic()
        d.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        replies = ping(port, [f"drain {i}" for i in range(100)])
        check(len(replies) == 100, f"answered while draining ({len(replies)}/100)")
        check({r[0] for r in replies} == {0, 1}, "both workers answer while draining")
        try:
            rc = d.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            rc = None
        took = time.monotonic() - t0
        check(rc == 0, f"master exit status 0 (got {rc})")
        check(1.2 <= took <= 9.0, f"stop waited for the busy worker, within the bound ({took:.2f} s)")
        check(not any(alive(p) for p in pids.values()), "no worker left")
        d.reader.join(timeout=5)
        log = d.log()
        check(log.count("drained") == 2, "both workers drained")
        check(len(re.findall(r"w\d pid \d+ exited with status 0", log)) == 2,
              "both workers exit with status 0")
        check(len(re.findall(r"\bready\b", log)) == 1, "exactly one ready line")
        check(
            all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (error|warn|info|debug) "
                         r"\[(master|w\d+) \d+\]: ", line) for line in log.splitlines()),
            "every log line has the time, level and process prefix",
        )
    finally:
        d.stop()
        if failures:
            print(d.log())


def test_respawn_storm():
    d, port = start("storm.yaml", "advertise: edge.example.net:5999\n")
    try:
        check(
            d.wait_for(r"w1 \d+\]: echo: listener 0 via edge\.example\.net:5999", 2) is not None,
            "Via host and port come from `advertise`",
        )
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        given_up = None
        for _ in range(100):
            sock.sendto(b"crash1", ("127.0.0.1", port))
            given_up = d.wait_for(r"w1: more than 5 restarts within 10 s", 0.03)
            if given_up:
                break
        sock.close()
        check(given_up is not None, "a slot that keeps crashing is given up")
        check(d.proc.poll() is None, "the master keeps running")
        replies = ping(port, [f"solo {i}" for i in range(200)])
        check(
            len(replies) == 200 and all(r[0] == 0 for r in replies),
            f"w0 gets all the traffic meanwhile ({len(replies)}/200)",
        )
        d.proc.send_signal(signal.SIGTERM)
        rc = d.proc.wait(timeout=15)
        check(rc == 0, f"stop with a slot given up: exit status {rc}")
    finally:
        d.stop()
        if failures:
            print(d.log())


def ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", 0))
        port = s.getsockname()[1]
        s.close()
        return port
    except OSError:
        return None


def test_master_killed():
    port6 = ipv6_loopback()
    more = (f"udp://[::1]:{port6}",) if port6 else ()
    d, port = start("orphan.yaml", more_listen=more)
    pids = {}
    try:
        pids = worker_pids(d)
        if port6:
            check(
                d.wait_for(rf"echo: listener 1 via \[::1\]:{port6}", 2) is not None,
                "an IPv6 listener's Via host is bracketed",
            )
            s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s6.settimeout(3)
            s6.sendto(b"v6", ("::1", port6))
            check(s6.recv(100).endswith(b" v6"), "the IPv6 listener answers")
            s6.close()
        d.proc.kill()
        d.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(p) for p in pids.values()):
            time.sleep(0.05)
        check(not any(alive(p) for p in pids.values()), "workers exit when the master is killed")
    finally:
        d.stop()
        for p in pids.values():
            if alive(p):
                os.kill(p, signal.SIGKILL)


test_check_mode()
test_lifecycle()
test_respawn_storm()
test_master_killed()
print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
