"""
The control socket, sipedgectl and the metrics listener (issue 5), against
the real daemon on loopback: every command while calls flow, the --json
shapes of docs/control.md, hostile clients (garbage, a 1 MiB line, a
half-open client, 200 at once) while calls still succeed, /metrics read by
a small Prometheus text-format parser, /live and /ready, a stuck worker,
and drain under load.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

import sip

R_URI = "sip:bob@127.0.0.2:9"  # never served: routing is by policy
SCRIPT = {"INVITE": [100, (180, 0.01), (200, 0.01)], "BYE": [200], "OPTIONS": [200]}


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pool_policy(uas):
    return {"pools": {"uas": {"destinations": [{"uri": f"sip:{uas.hostport}"}]}},
            "rules": [{"name": "default", "route": "uas"}]}


class Ctl:
    """sipedgectl and raw access to one daemon's control socket."""

    def __init__(self, binary: Path, proxy):
        self.bin = binary
        self.proxy = proxy
        ctl = Path(proxy.config["control"])
        self.sock = str(ctl if ctl.is_absolute() else proxy.workdir / ctl)

    def run(self, *args, json_out=True, timeout=30):
        cmd = [str(self.bin), "-s", self.sock] + (["--json"] if json_out else []) + list(args)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    def json(self, *args, **kw):
        r = self.run(*args, **kw)
        assert r.returncode == 0, f"sipedgectl {args}: {r.returncode} {r.stderr} {r.stdout}"
        return json.loads(r.stdout)

    def connect(self, timeout=5.0) -> socket.socket:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.sock)
        return s


def read_lines(s: socket.socket, n: int) -> list:
    """Exactly n answer lines (more would be a protocol error)."""
    buf = b""
    while buf.count(b"\n") < n:
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed after {buf!r}")
        buf += chunk
    assert buf.count(b"\n") == n and buf.endswith(b"\n"), buf
    return [json.loads(line) for line in buf.splitlines()]


def read_line(s: socket.socket) -> dict:
    return read_lines(s, 1)[0]


def call(s: socket.socket, method, params=None, id=1) -> dict:
    msg = {"jsonrpc": "2.0", "method": method, "id": id}
    if params is not None:
        msg["params"] = params
    s.sendall(json.dumps(msg).encode() + b"\n")
    return read_line(s)


def place_call(ua, proxy, bye=True):
    """INVITE → 200 → ACK (→ BYE) through the proxy; returns (invite, ok)."""
    inv = ua.request("INVITE", R_URI)
    ua.send(inv, proxy.addr)
    ok = ua.recv_response(inv, code=200, timeout=3)
    ack = ua.ack_for(inv, ok)
    ua.send(ack, sip.next_hop(ack))
    if bye:
        end_call(ua, inv, ok)
    return inv, ok


def end_call(ua, inv, ok):
    b = ua.bye_for(inv, ok)
    ua.send(b, sip.next_hop(b))
    assert ua.recv_response(b, final=True, timeout=3).status == 200


@pytest.fixture
def daemon(sipedge_factory, uas_factory, sipedgectl_bin):
    """(proxy, uas, ctl, metrics_port): 2 workers, metrics on loopback."""
    uas = uas_factory(SCRIPT)
    port = free_tcp_port()
    proxy = sipedge_factory({"record_route": True, "metrics": f"127.0.0.1:{port}"},
                            pool_policy(uas))
    return proxy, uas, Ctl(sipedgectl_bin, proxy), port


# ------------------------------------------------------------ shapes ----

def check_types(obj, shape, where="result"):
    """Every key of shape is in obj with that type (a tuple: any of them)."""
    for key, typ in shape.items():
        assert key in obj, f"{where}: no '{key}' in {obj}"
        assert isinstance(obj[key], typ), f"{where}.{key}: {obj[key]!r} is not {typ}"


NUM = (int, float)
STATUS = {"version": str, "pid": int, "uptime_s": NUM, "config": str, "policy": str,
          "policy_generation": int, "workers_configured": int, "workers_alive": int,
          "draining": bool, "stopping": bool, "transactions_in_flight": int,
          "transactions_pending": int, "calls_per_second": NUM}
WORKER = {"slot": int, "pid": int, "state": str, "uptime_s": NUM, "restarts": int,
          "messages_in": int, "messages_out": int, "loop_lag_us": int, "transactions": int,
          "transactions_pending": int}


def test_status_workers_stats_follow_calls(daemon, ua):
    proxy, uas, ctl, _ = daemon
    st = ctl.json("status")
    check_types(st, STATUS)
    assert st["pid"] == proxy.pid and st["workers_alive"] == 2 and not st["draining"]
    assert st["policy"].endswith("policy.yaml") and st["policy_generation"] >= 0
    before = ctl.json("stats")
    w0 = ctl.json("workers")["workers"]
    assert [w["slot"] for w in w0] == [0, 1]
    for w in w0:
        check_types(w, WORKER, "workers[]")
        assert w["state"] == "running" and w["pid"] in proxy.child_pids()

    for _ in range(5):
        place_call(ua, proxy)
    after = ctl.json("stats")
    assert after["requests"]["INVITE"] - before["requests"]["INVITE"] == 5
    assert after["requests"]["BYE"] - before["requests"]["BYE"] == 5
    assert after["responses"]["2xx"] - before["responses"]["2xx"] >= 10
    assert after["transactions"]["created"] - before["transactions"]["created"] >= 10
    w1 = ctl.json("workers")["workers"]
    assert sum(w["messages_in"] for w in w1) - sum(w["messages_in"] for w in w0) >= 30
    human = ctl.run("status", json_out=False)
    assert human.returncode == 0 and "workers alive" in human.stdout
    assert "MSGS_IN" in ctl.run("workers", json_out=False).stdout


def test_stats_shape_and_drop_causes(daemon, ua):
    proxy, _, ctl, _ = daemon
    ua.send(b"this is not SIP\r\n\r\n", proxy.addr)  # a dropped datagram
    time.sleep(0.2)
    s = ctl.json("stats")
    check_types(s, {"requests": dict, "responses": dict, "replies_local": dict,
                    "parse_errors": int, "retransmissions": int, "drops": dict,
                    "transactions": dict, "shm": dict})
    assert set(s["responses"]) == {"1xx", "2xx", "3xx", "4xx", "5xx", "6xx"}
    assert {"garbage", "shm_full", "stopping", "draining"} <= set(s["drops"])
    assert s["drops"]["garbage"] >= 1
    shm = s["shm"]
    check_types(shm, {"total_bytes": int, "used_bytes": int, "free_bytes": int,
                      "alloc_failures": int, "classes": list})
    assert 0 < shm["used_bytes"] < shm["total_bytes"] and shm["classes"]
    check_types(shm["classes"][0], {"size": int, "slabs": int, "used": int, "free": int,
                                    "fail": int}, "shm.classes[]")
    assert "drops by cause" in ctl.run("stats", json_out=False).stdout


def test_transactions_answered_by_each_worker(daemon, ua):
    proxy, uas, ctl, _ = daemon
    uas.policy["INVITE"] = [100, (180, 0.01)]  # ringing, never answered: stays pending
    inv = ua.request("INVITE", R_URI)
    ua.send(inv, proxy.addr)
    ua.recv_response(inv, code=180, timeout=3)
    t = ctl.json("transactions", "--limit", "5")
    check_types(t, {"total": int, "by_state": dict, "complete": bool, "workers": list,
                    "sample": list})
    assert t["complete"] and len(t["workers"]) == 2
    assert t["total"] >= 1 and t["by_state"]["proceeding"] >= 1
    assert sum(w["total"] for w in t["workers"]) == t["total"]
    pending = [x for x in t["sample"] if x["method"] == "INVITE" and x["state"] == "proceeding"]
    assert pending and pending[0]["source"].startswith("127.0.0.1:")
    assert len(ctl.json("transactions", "--limit", "0")["sample"]) == 0
    bad = ctl.run("transactions", "--limit", "-1")
    assert bad.returncode == 1 and "limit" in bad.stdout
    ua.send(ua.cancel_for(inv), proxy.addr)
    ua.recv_response(inv, code=487, timeout=3)  # ended: the stop needs no drain


def test_stuck_worker_times_out_only_its_part(daemon):
    proxy, _, ctl, _ = daemon
    pid = proxy.worker_pids(alive_only=True)[1]
    proxy.kill_worker(1, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        t = ctl.json("transactions")
        took = time.monotonic() - t0
        assert 1.5 < took < 5, took
        assert not t["complete"]
        parts = {w["slot"]: w for w in t["workers"]}
        assert "total" in parts[0] and "timeout" in parts[1]["error"]
        assert ctl.json("status")["workers_alive"] == 2  # the master itself never waits
    finally:
        proxy.kill_worker(1, signal.SIGCONT)
    assert pid in proxy.child_pids()
    assert ctl.json("transactions")["complete"]


def test_channel_survives_worker_respawn(daemon, ua):
    proxy, _, ctl, _ = daemon
    old = proxy.kill_worker(0, signal.SIGKILL)
    new = proxy.wait_worker_respawn(0, old)
    deadline = time.monotonic() + 5
    while ctl.json("status")["workers_alive"] < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    t = ctl.json("transactions")
    assert t["complete"], t
    assert {w["slot"]: w["pid"] for w in t["workers"]}[0] == new
    assert ctl.json("workers")["workers"][0]["restarts"] == 1
    place_call(ua, proxy)
    proxy.killed_workers.clear()  # the kill was the test's, not a crash


def test_log_level(daemon):
    proxy, _, ctl, _ = daemon
    assert ctl.json("log", "level")["level"] == "info"
    r = ctl.json("log", "level", "debug")
    assert r == {"level": "debug", "previous": "info"}
    assert ctl.json("log", "level")["level"] == "debug"
    bad = ctl.run("log", "level", "loud")
    assert bad.returncode == 1 and json.loads(bad.stdout)["code"] == -32602
    ctl.json("log", "level", "info")
    proxy.wait_log(r"log level debug \(was info\)")


def test_help_lists_registered_commands(daemon):
    _, _, ctl, _ = daemon
    cmds = {c["method"]: c for c in ctl.json("help")["commands"]}
    for m in ("status", "workers", "stats", "transactions", "log.level", "drain", "resume"):
        assert m in cmds and cmds[m]["usage"] and cmds[m]["help"]
    assert cmds["stats"]["subsystem"] == "sip" and cmds["drain"]["subsystem"] == "runtime"


def test_socket_path_from_config(daemon, sipedgectl_bin):
    proxy, _, _, _ = daemon
    r = subprocess.run([str(sipedgectl_bin), "-c", str(proxy.config_path), "--json", "status"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and json.loads(r.stdout)["pid"] == proxy.pid


# ----------------------------------------------------- hostile clients ----

def test_malformed_requests_get_errors_not_hangups(daemon, ua):
    proxy, _, ctl, _ = daemon
    s = ctl.connect()
    cases = [
        (b"garbage\n", -32700),
        (b"{\"method\":\"status\"\n", -32700),
        (b"[1,2,3]\n", -32600),
        (b"{\"id\":4}\n", -32600),
        (b"{\"method\":\"status\",\"params\":[1],\"id\":5}\n", -32600),
        (b"{\"method\":\"no.such\",\"id\":6}\n", -32601),
        (b"{\"method\":\"drain\",\"params\":{\"timeout\":\"x\"},\"id\":7}\n", -32602),
        (b"{\"method\":\"transactions\",\"params\":{\"limit\":5000},\"id\":8}\n", -32602),
        (b"\xff\xfe\x00\x01\n", -32700),
    ]
    for raw, code in cases:
        s.sendall(raw)
        r = read_line(s)
        assert r["jsonrpc"] == "2.0" and r["error"]["code"] == code, (raw, r)
        assert isinstance(r["error"]["message"], str)
    # pipelined requests: answered in order on the same connection
    s.sendall(b'{"method":"status","id":"a"}\n\n{"method":"workers","id":"b"}\n')
    assert [r["id"] for r in read_lines(s, 2)] == ["a", "b"]
    s.close()
    place_call(ua, proxy)


def test_megabyte_line_is_refused_and_closed(daemon, ua):
    proxy, _, ctl, _ = daemon
    s = ctl.connect()
    try:
        s.sendall(b"{\"method\":\"" + b"x" * (1 << 20) + b"\"}\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the daemon closed while we were still writing: expected
    r = read_line(s)
    assert r["error"]["code"] == -32600 and "longer than" in r["error"]["message"]
    try:  # closed after the answer (a reset: our unread bytes were dropped)
        assert s.recv(10) == b""
    except ConnectionResetError:
        pass
    s.close()
    assert ctl.json("status")["pid"] == proxy.pid
    place_call(ua, proxy)


def test_half_open_and_idle_clients_do_not_block(daemon, ua):
    proxy, _, ctl, _ = daemon
    half = ctl.connect(timeout=20)
    half.sendall(b'{"method":"sta')  # never finished
    idle = ctl.connect(timeout=20)  # never sends anything
    t0 = time.monotonic()
    for _ in range(3):
        assert ctl.json("status")["workers_alive"] == 2
        place_call(ua, proxy)
    assert time.monotonic() - t0 < 5
    # both are closed by the idle timeout (10 s), without an answer
    for s in (half, idle):
        assert s.recv(100) == b""
        s.close()
    assert time.monotonic() - t0 < 15


def test_200_parallel_clients_while_calls_flow(daemon, ua):
    proxy, _, ctl, _ = daemon
    results, errors = [], []

    def client(i):
        try:
            with ctl.connect(timeout=10) as s:
                r = call(s, "status" if i % 2 else "workers", id=i)
                results.append(r["id"] == i and "result" in r)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(200)]
    for t in threads:
        t.start()
    for _ in range(5):
        place_call(ua, proxy)
    for t in threads:
        t.join(20)
    assert not errors, errors[:5]
    assert len(results) == 200 and all(results)


# ------------------------------------------------------------ metrics ----

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_prometheus(text: str) -> dict:
    """{name: {"type": t, "help": h, "samples": [(labels dict, value)]}};
    strict about the lines it accepts (text format 0.0.4)."""
    fams: dict = {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            _, kind, name, rest = line.split(" ", 3)
            fams.setdefault(name, {"samples": []})[kind.lower()] = rest
            continue
        assert not line.startswith("#"), line
        m = SAMPLE_RE.match(line)
        assert m, f"bad sample line {line!r}"
        labels = dict(LABEL_RE.findall(m.group(3) or ""))
        assert fams.get(m.group(1), {}).get("type") in ("counter", "gauge"), line
        fams[m.group(1)]["samples"].append((labels, float(m.group(4))))
    return fams


def http_get(port, path, method="GET", body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read().decode()
    c.close()
    return r.status, r.getheader("Content-Type"), data


def metric(fams, name, **labels):
    return sum(v for lb, v in fams[name]["samples"]
               if all(lb.get(k) == str(x) for k, x in labels.items()))


def test_metrics_text_format_and_values_move(daemon, ua):
    proxy, _, ctl, port = daemon
    code, ctype, text = http_get(port, "/metrics")
    assert code == 200 and ctype.startswith("text/plain; version=0.0.4")
    m0 = parse_prometheus(text)
    for fam in ("sipedge_uptime_seconds", "sipedge_worker_state", "sipedge_worker_restarts_total",
                "sipedge_worker_messages_in_total", "sipedge_shm_bytes",
                "sipedge_shm_class_objects", "sipedge_sip_requests_total",
                "sipedge_sip_responses_total", "sipedge_sip_drops_total",
                "sipedge_sip_parse_errors_total", "sipedge_sip_transactions",
                "sipedge_sip_calls_per_second", "sipedge_policy_generation"):
        assert fam in m0, fam
    assert metric(m0, "sipedge_worker_state", state="running") == 2
    assert metric(m0, "sipedge_shm_bytes", kind="used") > 0
    for _ in range(4):
        place_call(ua, proxy)
    m1 = parse_prometheus(http_get(port, "/metrics")[2])
    assert (metric(m1, "sipedge_sip_requests_total", method="INVITE")
            - metric(m0, "sipedge_sip_requests_total", method="INVITE")) == 4
    assert metric(m1, "sipedge_sip_responses_total", **{"class": "2xx"}) >= 8
    assert {lb["cause"] for lb, _ in m1["sipedge_sip_drops_total"]["samples"]} >= {
        "garbage", "draining", "shm_full"}
    code, _, body = http_get(port, "/metrics", method="HEAD")
    assert code == 200 and body == ""


def test_live_ready_and_bad_requests(daemon):
    proxy, _, ctl, port = daemon
    assert http_get(port, "/live")[0] == 200
    assert http_get(port, "/ready")[:1] == (200,)
    assert http_get(port, "/nope")[0] == 404
    assert http_get(port, "/metrics", method="POST", body="x")[0] == 405
    assert http_get(port, "/metrics", headers={"X-Big": "a" * 9000})[0] == 431
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 400")
    with socket.create_connection(("127.0.0.1", port), timeout=8) as s:
        s.sendall(b"GET /metr")  # half a request: closed at the timeout
        t0 = time.monotonic()
        assert s.recv(100) == b"" and 4 < time.monotonic() - t0 < 7.5
    proxy.kill_worker(0, signal.SIGSTOP)
    try:
        assert http_get(port, "/live")[0] == 200  # the master answers alone
    finally:
        proxy.kill_worker(0, signal.SIGCONT)
    proxy.killed_workers.clear()


# -------------------------------------------------------------- drain ----

def test_drain_under_load(daemon, ua_factory):
    proxy, uas, ctl, port = daemon
    ua = ua_factory()
    calls = [place_call(ua, proxy, bye=False) for _ in range(3)]  # established
    uas.policy["INVITE"] = [100, (180, 0.01), (200, 1.0)]  # one more, still ringing
    ring = ua_factory(user="carol")
    inv = ring.request("INVITE", R_URI)
    ring.send(inv, proxy.addr)
    ring.recv_response(inv, code=180, timeout=3)

    out = {}
    drainer = threading.Thread(target=lambda: out.update(d=ctl.json("drain", "--timeout", "5")))
    drainer.start()
    time.sleep(0.3)
    st = ctl.json("status")
    assert st["draining"] and st["workers_alive"] == 2
    assert {w["state"] for w in ctl.json("workers")["workers"]} == {"draining"}
    assert http_get(port, "/ready")[0] == 503
    assert http_get(port, "/live")[0] == 200

    newcomer = ua_factory(user="dave")
    for method in ("INVITE", "OPTIONS"):
        req = newcomer.request(method, R_URI)
        newcomer.send(req, proxy.addr)
        r = newcomer.recv_response(req, final=True, timeout=3)
        assert r.status == 503 and r.get("Retry-After"), r
    # the call that was ringing completes; established calls end normally
    ok = ring.recv_response(inv, code=200, timeout=3)
    ack = ring.ack_for(inv, ok)
    ring.send(ack, sip.next_hop(ack))
    for i, o in calls:
        end_call(ua, i, o)
    drainer.join(10)
    d = out["d"]
    assert d["draining"] and d["idle"] and d["busy_workers"] == [] and d["waited_ms"] < 5000
    assert ctl.json("stats")["drops"]["draining"] >= 2
    m = parse_prometheus(http_get(port, "/metrics")[2])
    assert metric(m, "sipedge_draining") == 1

    r = ctl.json("resume")
    assert r == {"draining": False, "was_draining": True}
    assert http_get(port, "/ready")[0] == 200
    uas.policy["INVITE"] = SCRIPT["INVITE"]
    place_call(ua, proxy)


def test_drain_timeout_reports_busy_workers(daemon, ua):
    proxy, uas, ctl, _ = daemon
    uas.policy["INVITE"] = [100, (180, 0.01)]  # never answered: stays in flight
    inv = ua.request("INVITE", R_URI)
    ua.send(inv, proxy.addr)
    ua.recv_response(inv, code=180, timeout=3)
    t0 = time.monotonic()
    d = ctl.json("drain", "--timeout", "1")
    assert 0.9 < time.monotonic() - t0 < 4
    assert d["draining"] and not d["idle"] and d["busy_workers"]
    human = ctl.run("resume", json_out=False)
    assert human.returncode == 0 and "resumed" in human.stdout
    ua.send(ua.cancel_for(inv), proxy.addr)
    ua.recv_response(inv, code=487, timeout=3)  # ended: the stop needs no drain
