"""
The routing policy on the control socket (issue 5): `policy show` with
per-rule hits, `policy reload`, `policy check FILE`, `route --explain`,
the policy members of `status` and the rule-hit and reload families of
/metrics, against the real daemon on loopback while calls flow.

What is compared with what:
- `policy check` through the socket against the `# expect:` lines of
  tests/data/policy/broken/*.yaml and against `sipedge -t` on the same file;
- `route --explain` against `sipedge -t -c CONF --explain` for the same
  request (equal while every destination is up, different once one is down);
- rule hits against the requests each rule was made to match.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

import harness
import sip
from test_ctl import (Ctl, call, check_types, free_tcp_port, http_get, metric,
                      parse_prometheus)

HERE = Path(__file__).resolve().parent
BROKEN_DIR = HERE.parent / "data" / "policy" / "broken"
EXPECT_RE = re.compile(r"^#\s*expect:\s*(?:([^:\s]+):)?(\d+):(\d+):\s(.*)$")

R_HOST = "127.0.0.2:9"  # never served: routing is by policy
SCRIPT = {"INVITE": [100, (180, 0.01), (200, 0.01)], "BYE": [200], "OPTIONS": [200],
          "MESSAGE": [200]}

SHOW = {"file": str, "generation": int, "loaded_at": str, "summary": dict, "offset": int,
        "rules": list}
SUMMARY = {"rules": int, "pools": int, "destinations": int, "tables": int, "prefixes": int,
           "lists": int, "text": str}
RULE = {"name": str, "line": int, "action": str, "target": str, "hits": int}
RELOAD = {"generation": int, "previous": int, "summary": dict, "warnings": list}
CHECK = {"ok": bool, "file": str, "errors": list, "warnings": list}
ROUTE = {"text": str, "rule": (str, type(None)), "pool": (str, type(None))}


# ------------------------------------------------------------ helpers ----

def dest(u, **kw):
    d = {"uri": f"sip:{u.hostport}"}
    d.update(kw)
    return d


def base_policy(uas):
    """Three rules with three different actions; `blocked` users get 403."""
    return {"pools": {"uas": {"destinations": [dest(uas)]}},
            "rules": [{"name": "blocked", "match": {"ruri-user": "blocked"}, "reply": 403},
                      {"name": "moved", "match": {"ruri-user": "moved"},
                       "redirect": {"contacts": ["sip:new@127.0.0.1:9"]}},
                      {"name": "default", "route": "uas"}]}


def write_policy(proxy, policy):
    proxy.policy_path.write_text(policy if isinstance(policy, str) else harness.to_yaml(policy),
                                 encoding="utf-8")


def ask(ua, proxy, method="MESSAGE", user="bob", timeout=3.0):
    """One out-of-dialog request through the proxy: its final status."""
    req = ua.request(method, f"sip:{user}@{R_HOST}")
    ua.send(req, proxy.addr)
    return ua.recv_response(req, final=True, timeout=timeout).status


def place_call(ua, proxy):
    """INVITE -> 200 -> ACK -> BYE; only the INVITE is routed by policy
    (ACK and BYE carry the To tag: in-dialog)."""
    inv = ua.request("INVITE", f"sip:bob@{R_HOST}")
    ua.send(inv, proxy.addr)
    ok = ua.recv_response(inv, code=200, timeout=3)
    ack = ua.ack_for(inv, ok)
    ua.send(ack, sip.next_hop(ack))
    bye = ua.bye_for(inv, ok)
    ua.send(bye, sip.next_hop(bye))
    assert ua.recv_response(bye, final=True, timeout=3).status == 200


def wait_workers_on(ctl, gen, timeout=5.0):
    """Until every running worker routes with generation gen (`workers`
    shows each one's): a reload is answered once the master installed it,
    and workers switch at their next tick."""
    deadline = time.monotonic() + timeout
    while True:
        ws = [w for w in ctl.json("workers")["workers"] if w["state"] == "running"]
        if ws and all(w["policy_generation"] == gen for w in ws):
            return
        assert time.monotonic() < deadline, f"workers not on generation {gen}: {ws}"
        time.sleep(0.02)


def hits(show):
    return {r["name"]: r["hits"] for r in show["rules"]}


def offline_explain(sipedge_bin, proxy, line, *args):
    """`sipedge -t -c CONF --explain LINE ARGS`: the explain text, without
    the first two lines (the check's summary and "offline: ...")."""
    r = subprocess.run([str(sipedge_bin), "-t", "-c", str(proxy.config_path), "--explain", line,
                        *args], cwd=proxy.workdir, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    head, offline, rest = r.stdout.split("\n", 2)
    assert ": ok: " in head and offline.startswith("offline:"), r.stdout
    return rest


def expected_messages(path):
    """The `# expect:` lines of a broken policy as full messages."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = EXPECT_RE.match(line)
        if m:
            f = path if m.group(1) is None else path.parent / m.group(1)
            out.append(f"{f}:{m.group(2)}:{m.group(3)}: {m.group(4)}")
    assert out, f"{path.name} has no '# expect:' line"
    return out


def sipedge_t_messages(sipedge_bin, tmp_path, policy_file):
    """What `sipedge -t` prints about policy_file, one message a line."""
    cfg = tmp_path / "check.yaml"
    cfg.write_text(harness.to_yaml({"listen": [f"udp://127.0.0.1:{harness.free_udp_port()}"],
                                    "workers": 1, "policy": str(policy_file)}),
                   encoding="utf-8")
    r = subprocess.run([str(sipedge_bin), "-t", "-c", str(cfg)], cwd=tmp_path,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert r.returncode != 0, r.stderr
    return [l for l in r.stderr.splitlines() if not l.endswith(": test failed")]


def in_order(want, got):
    """Every line of want is in got, in the same order."""
    i = 0
    for w in want:
        while i < len(got) and got[i] != w:
            i += 1
        if i == len(got):
            return False
        i += 1
    return True


@pytest.fixture
def daemon(sipedge_factory, uas_factory, sipedgectl_bin):
    """(proxy, uas, ctl, metrics_port): 2 workers, metrics on loopback."""
    uas = uas_factory(SCRIPT)
    port = free_tcp_port()
    proxy = sipedge_factory({"metrics": f"127.0.0.1:{port}"}, base_policy(uas))
    return proxy, uas, Ctl(sipedgectl_bin, proxy), port


# ------------------------------------------------------------ show ----

def test_show_counts_rules_and_hits_follow_calls(daemon, ua):
    # `policy show`: file, generation, counts, each rule (name, line,
    # action, target) and its hits, which grow by exactly the requests
    # each rule matched; `status` carries the policy's counts.
    proxy, uas, ctl, _ = daemon
    s0 = ctl.json("policy", "show")
    check_types(s0, SHOW)
    check_types(s0["summary"], SUMMARY, "summary")
    assert s0["file"] == str(proxy.policy_path.resolve()) and s0["generation"] == 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", s0["loaded_at"]), s0
    assert {k: s0["summary"][k] for k in ("rules", "pools", "destinations", "tables",
                                          "prefixes", "lists")} == {
        "rules": 3, "pools": 1, "destinations": 1, "tables": 0, "prefixes": 0, "lists": 0}
    assert s0["summary"]["text"] == "3 rules, 1 pool, 1 destination"
    for r in s0["rules"]:
        check_types(r, RULE, "rules[]")
    lines = proxy.policy_path.read_text().splitlines()
    assert [(r["name"], r["action"], r["target"]) for r in s0["rules"]] == [
        ("blocked", "reply", "403 Forbidden"),
        ("moved", "redirect", "302 Moved Temporarily to sip:new@127.0.0.1:9"),
        ("default", "route", "uas")]
    for r in s0["rules"]:  # each line is the rule's `- name:` line
        assert f"name: {r['name']}" in lines[r["line"] - 1], (r, lines[r["line"] - 1])

    for _ in range(5):
        place_call(ua, proxy)
    for _ in range(3):
        assert ask(ua, proxy, "MESSAGE") == 200
    for _ in range(2):
        assert ask(ua, proxy, "OPTIONS", user="blocked") == 403
    assert ask(ua, proxy, "INVITE", user="moved") == 302
    s1 = ctl.json("policy", "show")
    delta = {k: v - hits(s0)[k] for k, v in hits(s1).items()}
    assert delta == {"blocked": 2, "moved": 1, "default": 8}, (hits(s0), hits(s1))

    st = ctl.json("status")
    assert st["policy_rules"] == 3 and st["policy_pools"] == 1
    assert st["policy"] == s1["file"] and st["policy_generation"] == s1["generation"]

    # without the list; pages of it
    assert set(ctl.json("policy", "show", "--rules", "false")) == {
        "file", "generation", "loaded_at", "summary"}
    one = ctl.json("policy", "show", "--limit", "1")
    assert [r["name"] for r in one["rules"]] == ["blocked"] and one["summary"]["rules"] == 3
    page = ctl.json("policy", "show", "--offset", "1", "--limit", "5")
    assert page["offset"] == 1 and [r["name"] for r in page["rules"]] == ["moved", "default"]
    assert ctl.json("policy", "show", "--offset", "3")["rules"] == []
    human = ctl.run("policy", "show", json_out=False)
    assert human.returncode == 0, human.stderr
    assert re.search(r"^RULE\s+LINE\s+ACTION\s+TARGET\s+HITS$", human.stdout, re.M), human.stdout
    assert re.search(rf"^default\s+\d+\s+route\s+uas\s+{hits(s1)['default']}$", human.stdout,
                     re.M), human.stdout
    assert "shown" not in human.stdout
    assert "(rules 2 to 2 of 3 shown: --offset N --limit N for others)" in ctl.run(
        "policy", "show", "--offset", "1", "--limit", "1", json_out=False).stdout
    for w in ctl.json("workers")["workers"]:
        assert w["policy_generation"] == 0, w


# ------------------------------------------------------------ reload ----

def test_reload_switches_and_broken_file_keeps_old_policy(daemon, uas_factory, ua):
    # `policy reload`: a new file takes effect at once (generation +1, new
    # rule routes new requests to the new UAS); a broken one is an error
    # whose data lists every message as file:line:col, and the policy in
    # force (rules, generation, routing) stays as it was.
    proxy, old, ctl, _ = daemon
    new = uas_factory(SCRIPT)
    for _ in range(3):
        assert ask(ua, proxy) == 200
    assert len(old.requests("MESSAGE")) == 3

    write_policy(proxy, {"pools": {"new": {"destinations": [dest(new)]}},
                         "rules": [{"name": "to-new", "route": "new"}]})
    r = ctl.json("policy", "reload")
    check_types(r, RELOAD)
    assert (r["generation"], r["previous"]) == (1, 0), r
    assert r["summary"]["text"] == "1 rule, 1 pool, 1 destination" and r["warnings"] == []
    wait_workers_on(ctl, 1)
    for _ in range(4):
        assert ask(ua, proxy) == 200
    assert len(old.requests("MESSAGE")) == 3 and len(new.requests("MESSAGE")) == 4
    s = ctl.json("policy", "show")
    assert s["generation"] == 1 and hits(s) == {"to-new": 4}
    assert ctl.json("status")["policy_generation"] == 1
    proxy.wait_log(r"control: reloading the policy")

    write_policy(proxy, "rules:\n  - name: x\n    route: nosuch\n  - {name: y, reply: 200}\n")
    bad = ctl.run("policy", "reload")
    assert bad.returncode == 1, bad.stdout
    err = json.loads(bad.stdout)
    assert err["code"] == -32603 and "generation 1 stays in force" in err["message"], err
    path = str(proxy.policy_path.resolve())
    assert err["data"]["generation"] == 1 and err["data"]["warnings"] == []
    assert len(err["data"]["errors"]) == 2, err
    assert re.fullmatch(re.escape(path) + r":3:\d+: undefined pool 'nosuch'",
                        err["data"]["errors"][0]), err
    assert re.fullmatch(re.escape(path) + r":4:\d+: reply: 200 is out of range \(400\.\.699\)",
                        err["data"]["errors"][1]), err
    # the old policy is still the one in force, and still routes
    s = ctl.json("policy", "show")
    assert s["generation"] == 1 and [x["name"] for x in s["rules"]] == ["to-new"]
    for _ in range(4):
        assert ask(ua, proxy) == 200
    assert len(old.requests("MESSAGE")) == 3 and len(new.requests("MESSAGE")) == 8
    assert hits(ctl.json("policy", "show")) == {"to-new": 8}
    human = ctl.run("policy", "reload", json_out=False)
    assert human.returncode == 1 and "generation 1 stays in force" in human.stderr, human


def test_sighup_reload_is_seen_by_show_and_hits_kept_by_rule_name(daemon, ua):
    # A SIGHUP reload shows in `policy show` (generation, loaded_at) like
    # one through the socket; a rule that keeps its name keeps its hits.
    proxy, uas, ctl, _ = daemon
    for _ in range(3):
        assert ask(ua, proxy) == 200
    s0 = ctl.json("policy", "show")
    assert hits(s0)["default"] == 3
    pol = base_policy(uas)
    pol["rules"].insert(0, {"name": "extra", "match": {"ruri-user": "extra"}, "reply": 404})
    write_policy(proxy, pol)
    start = len(proxy.log_text())
    os.kill(proxy.pid, 1)  # SIGHUP
    proxy.wait_log(r"reloaded: generation 1", start=start)
    wait_workers_on(ctl, 1)
    s1 = ctl.json("policy", "show")
    assert s1["generation"] == 1 and s1["loaded_at"] >= s0["loaded_at"]
    assert hits(s1) == {"extra": 0, "blocked": 0, "moved": 0, "default": 3}
    assert ask(ua, proxy, user="extra") == 404
    assert hits(ctl.json("policy", "show"))["extra"] == 1


# ------------------------------------------------------------ check ----

def test_check_good_file_and_every_broken_one(daemon, sipedge_bin, tmp_path, ua):
    # `policy check FILE`: a result either way. A good file: ok and its
    # counts, nothing installed. Each broken policy: not ok, every
    # `# expect:` message in order, and exactly what `sipedge -t` prints.
    proxy, _, ctl, _ = daemon
    good = tmp_path / "good.yaml"
    good.write_text(harness.to_yaml({
        "lists": {"carriers": ["192.0.2.0/24"]},
        "pools": {"a": {"destinations": ["sip:127.0.0.1:9"]}},
        "tables": {"intl": {"prefixes": {"49": "a", "4930": "a"}}},
        "rules": [{"name": "c", "match": {"source": "carriers"}, "route": "a"},
                  {"name": "i", "route-prefix": "intl"}]}), encoding="utf-8")
    r = ctl.json("policy", "check", str(good))
    check_types(r, CHECK)
    assert r["ok"] and r["errors"] == [] and r["file"] == str(good), r
    assert {k: r["summary"][k] for k in ("rules", "pools", "destinations", "tables",
                                         "prefixes", "lists")} == {
        "rules": 2, "pools": 1, "destinations": 1, "tables": 1, "prefixes": 2, "lists": 1}
    assert r["summary"]["text"] == "2 rules, 1 pool, 1 destination, 2 prefixes"
    assert ctl.json("policy", "show")["generation"] == 0  # checked, not installed

    s = ctl.connect()
    broken = sorted(BROKEN_DIR.glob("*.yaml"))
    assert len(broken) >= 10
    for path in broken:
        r = call(s, "policy.check", {"file": str(path)})["result"]
        assert r["ok"] is False and r["errors"], (path.name, r)
        want = expected_messages(path)
        got = r["errors"] + r["warnings"]
        assert in_order([w for w in want if ": warning: " not in w], r["errors"]), \
            (path.name, want, r)
        assert in_order([w for w in want if ": warning: " in w], r["warnings"]), \
            (path.name, want, r)
        assert sorted(got) == sorted(sipedge_t_messages(sipedge_bin, tmp_path, path)), path.name
    s.close()
    assert ask(ua, proxy) == 200  # the daemon routes on, untouched


def test_check_unreadable_files(daemon, tmp_path):
    # Missing file, directory, FIFO: a not-ok result naming the cause (the
    # FIFO is refused without opening it: that would block the master);
    # a relative path: a params error (the daemon's directory is not ours).
    proxy, _, ctl, _ = daemon
    s = ctl.connect()
    missing = tmp_path / "nope.yaml"
    r = call(s, "policy.check", {"file": str(missing)})["result"]
    assert r == {"ok": False, "file": str(missing), "warnings": [],
                 "errors": [f"{missing}: cannot open: No such file or directory"]}, r
    r = call(s, "policy.check", {"file": str(tmp_path)})["result"]
    assert not r["ok"] and r["errors"][0].startswith(f"{tmp_path}: cannot "), r
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    r = call(s, "policy.check", {"file": str(fifo)})["result"]
    assert r["errors"] == [f"{fifo}: cannot open: not a regular file"], r
    e = call(s, "policy.check", {"file": "policy.yaml"})["error"]
    assert e["code"] == -32602 and "absolute" in e["message"], e
    assert call(s, "status")["result"]["pid"] == proxy.pid
    s.close()


def test_cli_check_sends_an_absolute_path(daemon, tmp_path):
    # sipedgectl makes a relative FILE absolute (from its own directory).
    proxy, _, ctl, _ = daemon
    (tmp_path / "sub").mkdir()
    f = tmp_path / "sub" / "p.yaml"
    f.write_text("rules:\n  - {name: all, reply: 404}\n", encoding="utf-8")
    r = subprocess.run([str(ctl.bin), "-s", ctl.sock, "--json", "policy", "check", "p.yaml"],
                       cwd=tmp_path / "sub", capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["ok"] and out["file"] == str(f) and out["summary"]["rules"] == 1
    human = ctl.run("policy", "check", str(f), json_out=False)
    assert human.returncode == 0 and human.stdout == f"{f}: ok: 1 rule, 0 pools, 0 destinations\n"


# ------------------------------------------------------------ explain ----

def explain_policy(a, b, c):
    return {
        "lists": {"trusted": ["127.0.0.3/32"]},
        "pools": {
            "prio": {"algorithm": "priority", "destinations": [
                {"uri": f"sip:{a}", "priority": 2}, {"uri": f"sip:{b}", "priority": 1}]},
            "hashed": {"algorithm": "hash", "hash": "source-ip", "destinations": [
                {"uri": f"sip:{a}"}, {"uri": f"sip:{b}"}, {"uri": f"sip:{c}"}]},
            "one": {"destinations": [{"uri": f"sip:{c}"}]}},
        "tables": {"intl": {"prefixes": {"49": "prio", "4930": "one"}}},
        "rules": [
            {"name": "no-options", "match": {"method": "OPTIONS"}, "reply": 403},
            {"name": "trusted", "match": {"source": "trusted"}, "route": "hashed"},
            {"name": "over-tcp", "match": {"transport": "tcp"}, "route": "one"},
            {"name": "moved", "match": {"ruri-user": {"prefix": "+4930111"}},
             "redirect": {"code": 301, "contacts": ["sip:x@127.0.0.1:9"]}},
            {"name": "intl", "match": {"ruri-user": {"regex": "^\\+"}}, "route-prefix": "intl"},
            {"name": "local", "match": {"ruri-host": "local.test"}, "route": "prio"}]}


EXPLAIN_CASES = [
    ("INVITE sip:+4930123@example.net", []),
    ("INVITE sip:+4940123@example.net", ["--from-ip", "127.0.0.9"]),
    ("INVITE sip:+4930111@example.net", []),
    ("INVITE sip:bob@example.net", ["--from-ip", "127.0.0.3"]),
    ("MESSAGE sip:bob@example.net", ["--from-ip", "[::1]", "--transport", "TCP"]),
    ("OPTIONS sip:bob@example.net SIP/2.0", []),
    ("INVITE sip:alice@local.test", ["--transport", "udp"]),
    ("INVITE sip:+1555@example.net", []),
    ("BYE tel:+4930123", []),
]


def test_route_explain_equals_offline_explain(sipedge_factory, sipedgectl_bin, sipedge_bin):
    # `route --explain` prints exactly what `sipedge -t --explain` prints for
    # the same request while every destination is up (no probing here),
    # and --json adds the matching rule and pool by name.
    pol = explain_policy("127.0.0.1:9", "127.0.0.1:19", "127.0.0.1:29")
    proxy = sipedge_factory({}, pol)
    ctl = Ctl(sipedgectl_bin, proxy)
    for line, args in EXPLAIN_CASES:
        want = offline_explain(sipedge_bin, proxy, line, *args)
        r = ctl.run("route", "--explain", line, *args, json_out=False)
        assert r.returncode == 0, (line, r.stderr)
        assert r.stdout == want, (line, args, r.stdout, want)
        j = ctl.json("route", "--explain", line, *args)
        check_types(j, ROUTE)
        assert j["text"] == want
        m = re.search(r"^rule '([^']+)' \([^)]*\): matches: ", want, re.M)
        assert j["rule"] == (m.group(1) if m else None), (line, j)
        p = re.search(r"^pool '([^']+)': ", want, re.M)
        assert j["pool"] == (p.group(1) if p else None), (line, j)
    # spot checks of what the cases exercised
    texts = {line: ctl.json("route", "--explain", line, *args)["text"]
             for line, args in EXPLAIN_CASES}
    assert "matches: prefix '4930' of table 'intl' -> pool 'one'" in \
        texts["INVITE sip:+4930123@example.net"]
    assert "matches: route to pool 'hashed'" in texts["INVITE sip:bob@example.net"]
    assert "matches: route to pool 'one'" in texts["MESSAGE sip:bob@example.net"]
    assert texts["INVITE sip:+1555@example.net"].splitlines()[-1] == "no rule matched"
    assert "matches: redirect 301" in texts["INVITE sip:+4930111@example.net"]


def test_route_explain_does_not_turn_the_rotation(sipedge_factory, sipedgectl_bin):
    # Explaining a round-robin pool shows the order the next call gets and
    # leaves the pool's rotation where it is: asking twice gives the same
    # order (a call in between would move it).
    pol = {"pools": {"rr": {"destinations": [
        {"uri": "sip:127.0.0.1:9"}, {"uri": "sip:127.0.0.1:19"}, {"uri": "sip:127.0.0.1:29"}]}},
        "rules": [{"name": "default", "route": "rr"}]}
    proxy = sipedge_factory({}, pol)
    ctl = Ctl(sipedgectl_bin, proxy)
    texts = [ctl.json("route", "--explain", "INVITE sip:bob@example.net")["text"]
             for _ in range(4)]
    assert len(set(texts)) == 1, texts


def test_route_explain_shows_live_health(sipedge_factory, uas_factory, sipedgectl_bin,
                                         sipedge_bin, ua):
    # Against the live pools: a destination that stops answering its
    # probes is left out of the order (1 of 2 usable), so the text differs
    # from the offline one, which takes every destination as up; calls go
    # to the one left.
    deaf = uas_factory({"OPTIONS": None, "MESSAGE": [200]})
    good = uas_factory({"OPTIONS": [200], "MESSAGE": [200]})
    probe = {"interval": "200ms", "timeout": "150ms", "down-after": 2, "up-after": 1}
    pol = {"pools": {"p": {"algorithm": "priority", "probe": probe, "destinations": [
        dest(deaf, priority=1), dest(good, priority=2)]}},
        "rules": [{"name": "default", "route": "p"}]}
    proxy = sipedge_factory({}, pol)
    ctl = Ctl(sipedgectl_bin, proxy)
    line = "INVITE sip:bob@example.net"
    offline = offline_explain(sipedge_bin, proxy, line)
    assert "2 of 2 destinations usable" in offline and f"sip:{deaf.hostport}" in offline
    deadline = time.monotonic() + 8
    while True:
        live = ctl.json("route", "--explain", line)["text"]
        if "1 of 2 destinations usable" in live:
            break
        assert time.monotonic() < deadline, f"the deaf destination never went down:\n{live}"
        time.sleep(0.1)
    assert live != offline
    assert f"  1. sip:{good.hostport} (weight 1, priority 2, up)" in live.splitlines(), live
    assert f"sip:{deaf.hostport}" not in live
    assert live.splitlines()[0] == offline.splitlines()[0]  # same rule, same words
    before = len(good.requests("MESSAGE"))
    assert ask(ua, proxy) == 200
    assert len(good.requests("MESSAGE")) == before + 1


# ------------------------------------------------------------ metrics ----

def test_metrics_rule_hits_and_reloads(daemon, ua):
    # /metrics: sipedge_rule_hits_total{rule} per rule of the policy in
    # force (the same numbers as `policy show`), and reloads by result.
    proxy, uas, ctl, port = daemon
    m0 = parse_prometheus(http_get(port, "/metrics")[2])
    assert m0["sipedge_rule_hits_total"]["type"] == "counter"
    assert {lb["rule"] for lb, _ in m0["sipedge_rule_hits_total"]["samples"]} == {
        "blocked", "moved", "default"}
    assert metric(m0, "sipedge_policy_reloads_total", result="ok") == 0
    assert metric(m0, "sipedge_policy_reloads_total", result="failed") == 0
    for _ in range(4):
        assert ask(ua, proxy) == 200
    assert ask(ua, proxy, user="blocked") == 403
    m1 = parse_prometheus(http_get(port, "/metrics")[2])
    for rule, n in (("default", 4), ("blocked", 1), ("moved", 0)):
        assert metric(m1, "sipedge_rule_hits_total", rule=rule) - \
            metric(m0, "sipedge_rule_hits_total", rule=rule) == n, rule
    show = hits(ctl.json("policy", "show"))
    assert {r: metric(m1, "sipedge_rule_hits_total", rule=r) for r in show} == show

    ctl.json("policy", "reload")  # the same file: a new generation all the same
    write_policy(proxy, "rules: []\n")
    assert ctl.run("policy", "reload").returncode == 1
    write_policy(proxy, {"pools": {"uas": {"destinations": [dest(uas)]}},
                         "rules": [{"name": "only", "route": "uas"}]})
    ctl.json("policy", "reload")
    m2 = parse_prometheus(http_get(port, "/metrics")[2])
    assert metric(m2, "sipedge_policy_reloads_total", result="ok") == 2
    assert metric(m2, "sipedge_policy_reloads_total", result="failed") == 1
    assert metric(m2, "sipedge_policy_generation") == 2
    wait_workers_on(ctl, 2)
    assert ask(ua, proxy) == 200
    m3 = parse_prometheus(http_get(port, "/metrics")[2])
    assert metric(m3, "sipedge_rule_hits_total", rule="only") == 1
    assert {lb["rule"] for lb, _ in m2["sipedge_rule_hits_total"]["samples"]} == {"only"}


# ------------------------------------------------------------ bad params ----

BAD_PARAMS = [
    ("policy.show", {"limit": 0}, "limit must be an integer from 1 to 100000"),
    ("policy.show", {"limit": 100001}, "limit"),
    ("policy.show", {"limit": "10"}, "limit"),
    ("policy.show", {"offset": -1}, "offset"),
    ("policy.show", {"offset": 1.5}, "offset"),
    ("policy.show", {"rules": "no"}, "rules"),
    ("policy.show", {"rule": False}, "unknown param 'rule'"),
    ("policy.reload", {"file": "/tmp/x.yaml"}, "unknown param 'file'"),
    ("policy.check", {}, "file"),
    ("policy.check", {"file": 7}, "file"),
    ("policy.check", {"file": ""}, "file"),
    ("policy.check", {"file": "rel/p.yaml"}, "absolute"),
    ("route", {}, "explain"),
    ("route", {"explain": ["INVITE sip:a@b"]}, "explain"),
    ("route", {"explain": "INVITE"}, "cannot explain 'INVITE'"),
    ("route", {"explain": "INVITE http://a"}, "cannot explain"),
    # quoted up to 200 bytes, cut between characters (byte 200 is inside one)
    ("route", {"explain": "INVITE " + "\u00e9" * 150}, "cannot explain 'INVITE \u00e9\u00e9"),
    ("route", {"explain": "INVITE sip:a@b", "transport": "sctp"}, "cannot explain"),
    ("route", {"explain": "INVITE sip:a@b", "from-ip": "not-an-ip"}, "cannot explain"),
    ("route", {"explain": "INVITE sip:a@b", "from": "127.0.0.1"}, "unknown param 'from'"),
]


def test_bad_params_are_json_errors_while_calls_flow(daemon, ua):
    proxy, _, ctl, _ = daemon
    s = ctl.connect()
    for i, (method, params, words) in enumerate(BAD_PARAMS):
        r = call(s, method, params, id=i)
        assert r["id"] == i and "error" in r, (method, params, r)
        assert r["error"]["code"] == -32602 and words in r["error"]["message"], \
            (method, params, r)
        if i % 4 == 0:
            place_call(ua, proxy)
    s.close()
    bad = ctl.run("route", "--explain", "INVITE nowhere")
    assert bad.returncode == 1 and json.loads(bad.stdout)["code"] == -32602
    place_call(ua, proxy)
    assert proxy.alive()


def test_help_lists_policy_commands(daemon):
    _, _, ctl, _ = daemon
    cmds = {c["method"]: c for c in ctl.json("help")["commands"]}
    for m in ("policy.show", "policy.reload", "policy.check", "route"):
        assert cmds[m]["subsystem"] == "policy" and cmds[m]["usage"] and cmds[m]["help"]


# ------------------------------------------------- sipedgectl exit status ----

def test_cli_prints_errors_one_per_line_and_exits_1(daemon, tmp_path):
    # sipedgectl: `policy check` of a broken file and a failed `policy
    # reload` print each message on a line of its own and exit 1.
    proxy, _, ctl, _ = daemon
    broken = BROKEN_DIR / "undefined-pool.yaml"
    r = ctl.run("policy", "check", str(broken), json_out=False)
    lines = (r.stdout + r.stderr).splitlines()
    for want in expected_messages(broken):
        assert want in lines, (want, r.stdout, r.stderr)
    assert r.returncode == 1, f"policy check of a broken file exited {r.returncode}"

    write_policy(proxy, "rules:\n  - name: x\n    route: nosuch\n")
    r = ctl.run("policy", "reload", json_out=False)
    assert r.returncode == 1
    want = re.escape(str(proxy.policy_path.resolve())) + r":3:\d+: undefined pool 'nosuch'"
    assert any(re.fullmatch(want, l) for l in (r.stdout + r.stderr).splitlines()), \
        (r.stdout, r.stderr)
