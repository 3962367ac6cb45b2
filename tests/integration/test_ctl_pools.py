"""
The pool and blacklist commands of the control socket (issue 5), against
the real daemon on loopback while requests flow: `pools` following calls,
in-flight INVITEs and calls/s (SIPp), probe health going down and back up;
`pool disable|enable` steering new calls away and back (checked at the
UASes) and surviving a SIGHUP reload; `blacklist add|del|list` skipping a
pool destination and answering a rule's URI with the entry's code and
reason, and expiring on its own; bad params answered -32602 while the
daemon keeps serving; the --json shapes of docs/control.md; and the pool
families of /metrics.

Every wait is bounded polling; nothing asserts on speed.
"""

from __future__ import annotations

import json
import re
import time

import pytest

import sip
import sipp_run
from test_ctl import NUM, Ctl, call, check_types, free_tcp_port, http_get, parse_prometheus
from test_policy_routing import R_HOST, dest, one_pool, reload_policy, route_n

SDP = ("v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
       "t=0 0\r\nm=audio 40000 RTP/AVP 0\r\n")
PROBE = {"interval": "200ms", "timeout": "150ms", "down-after": 2, "up-after": 1}
CAUSES = {"timeout", "transport_error", "503", "5xx", "probe"}

# The shapes documented in docs/control.md.
POOL = {"name": str, "algorithm": str, "slow_start_s": NUM, "up": int, "destinations": list}
DEST = {"uri": str, "address": str, "transport": str, "state": str,
        "since_s": (NUM, type(None)), "until_s": (NUM, type(None)), "probe": dict,
        "inflight": int, "calls": int, "calls_per_second": NUM, "failures": dict,
        "weight": int, "weight_now": NUM, "priority": int, "max_calls": int, "max_cps": int}
PROBE_SHAPE = {"enabled": bool, "rtt_ms": (NUM, type(None)), "outstanding": bool}
POOL_SET = {"pool": str, "uri": str, "index": int, "state": str, "previous": str}
BL_ENTRY = {"target": str, "address": str, "port": (int, type(None)), "transport": str,
            "code": int, "reason": str, "expires_in_s": (NUM, type(None)), "age_s": NUM}
BL_DEL = {"target": str, "transport": str, "removed": bool}


def check_pools_shape(res, rule_targets=True):
    assert set(res) == ({"pools", "rule_targets"} if rule_targets else {"pools"}), res
    for p in res["pools"]:
        check_types(p, POOL, "pools[]")
        assert [d["index"] for d in p["destinations"]] == list(range(len(p["destinations"])))
        for d in p["destinations"]:
            check_dest_shape(d)
    for d in res.get("rule_targets", []):
        check_dest_shape(d)
        assert "index" not in d


def check_dest_shape(d):
    check_types(d, DEST, "destinations[]")
    check_types(d["probe"], PROBE_SHAPE, "destinations[].probe")
    assert set(d["failures"]) == CAUSES, d["failures"]
    assert d["state"] in ("up", "down", "hold", "disabled"), d


def by_uri(res, pool="p"):
    """{uri: destination object} of one pool of a `pools` result."""
    for p in res["pools"]:
        if p["name"] == pool:
            return {d["uri"]: d for d in p["destinations"]}
    raise AssertionError(f"no pool {pool!r} in {res}")


def uri(uas):
    return f"sip:{uas.hostport}"


def poll(what, fn, timeout=8.0, interval=0.1):
    """fn() until it returns something true (returned); AssertionError
    naming `what` and the last value after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout}s (last: {got!r})")
        time.sleep(interval)


def unescape_label(v):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def samples(fams, name, **labels):
    """[(labels, value)] of family `name` whose (unescaped) labels match."""
    out = []
    for lb, v in fams[name]["samples"]:
        lb = {k: unescape_label(x) for k, x in lb.items()}
        if all(lb.get(k) == str(x) for k, x in labels.items()):
            out.append((lb, v))
    return out


def value(fams, name, **labels):
    got = samples(fams, name, **labels)
    assert len(got) == 1, f"{name}{labels}: {len(got)} samples: {got}"
    return got[0][1]


def expect_error(ctl, args, fragment):
    """sipedgectl args answers -32602 with `fragment` in the message."""
    r = ctl.run(*args)
    assert r.returncode == 1, (args, r.stdout, r.stderr)
    err = json.loads(r.stdout)
    assert err["code"] == -32602 and fragment in err["message"], (args, err)
    return err["message"]


def message_to(ua, proxy, user):
    req = ua.request("MESSAGE", f"sip:{user}@{R_HOST}")
    ua.send(req, proxy.addr)
    return ua.recv_response(req, final=True, timeout=5)


@pytest.fixture
def two(sipedge_factory, uas_factory, sipedgectl_bin):
    """(proxy, [a, b], ctl, metrics port): pool p round-robin over a and b,
    a rule `direct` (R-URI user "direct") routing to a's URI."""
    uases = [uas_factory({"INVITE": [100, (180, 0.01), (200, 0.02)], "BYE": [200],
                          "OPTIONS": [200], "MESSAGE": [200]}) for _ in range(2)]
    policy = one_pool(uases)
    policy["rules"].insert(0, {"name": "direct", "match": {"ruri-user": "direct"},
                               "route": uri(uases[0])})
    port = free_tcp_port()
    proxy = sipedge_factory({"record_route": True, "metrics": f"127.0.0.1:{port}"}, policy)
    return proxy, uases, Ctl(sipedgectl_bin, proxy), port


# --------------------------------------------------------------- pools ----

def test_pools_follow_inflight_and_calls(two, ua_factory):
    proxy, uases, ctl, _ = two
    res = ctl.json("pools")
    check_pools_shape(res)
    (p,) = res["pools"]
    assert (p["name"], p["algorithm"], p["up"]) == ("p", "round-robin", 2)
    assert [d["uri"] for d in p["destinations"]] == [uri(u) for u in uases]
    assert [d["address"] for d in p["destinations"]] == [u.hostport for u in uases]
    for d in p["destinations"]:
        assert (d["state"], d["inflight"], d["calls"], d["transport"]) == ("up", 0, 0, "udp")
        assert d["weight"] == 1 and d["weight_now"] == 1 and not d["probe"]["enabled"]
    # the rule's URI is listed apart, once
    assert [d["uri"] for d in res["rule_targets"]] == [uri(uases[0])]

    # three INVITEs left ringing: in flight at the destinations
    for u in uases:
        u.policy["INVITE"] = [100, (180, 0.01)]
    ua = ua_factory()
    invs = []
    for _ in range(3):
        inv = ua.request("INVITE", f"sip:bob@{R_HOST}", body=SDP)
        ua.send(inv, proxy.addr)
        ua.recv_response(inv, code=180, timeout=5)
        invs.append(inv)
    d = by_uri(ctl.json("pools"))
    assert sum(x["inflight"] for x in d.values()) == 3, d
    assert sum(x["calls"] for x in d.values()) == 3, d
    for u in uases:
        assert d[uri(u)]["inflight"] == len(u.requests("INVITE")), d
    human = ctl.run("pools", json_out=False)
    assert human.returncode == 0 and "DESTINATION" in human.stdout and "INFLIGHT" in human.stdout
    assert uri(uases[0]) in human.stdout and "(rule targets)" in human.stdout

    # cancelled: nothing in flight any more, the calls stay counted
    for inv in invs:
        ua.send(ua.cancel_for(inv), proxy.addr)
        r = ua.recv_response(inv, code=487, timeout=5)
        ua.send(ua.ack_for(inv, r), proxy.addr)
    d = poll("in-flight back to 0",
             lambda: (lambda d: d if all(x["inflight"] == 0 for x in d.values()) else None)(
                 by_uri(ctl.json("pools"))))
    assert sum(x["calls"] for x in d.values()) == 3

    # answered calls: each destination's count is what its UAS received
    for u in uases:
        u.policy["INVITE"] = [100, (180, 0.01), (200, 0.02)]
    for _ in range(4):
        inv = ua.request("INVITE", f"sip:bob@{R_HOST}", body=SDP)
        ua.send(inv, proxy.addr)
        ok = ua.recv_response(inv, code=200, timeout=5)
        ack = ua.ack_for(inv, ok)
        ua.send(ack, sip.next_hop(ack))
        bye = ua.bye_for(inv, ok)
        ua.send(bye, sip.next_hop(bye))
        assert ua.recv_response(bye, final=True, timeout=5).status == 200
    d = by_uri(ctl.json("pools"))
    for u in uases:
        assert d[uri(u)]["calls"] == len(u.requests("INVITE")), d
    assert sum(x["calls"] for x in d.values()) == 7
    # --pool: that pool alone
    one = ctl.json("pools", "--pool", "p")
    check_pools_shape(one, rule_targets=False)
    assert [p["name"] for p in one["pools"]] == ["p"]


def test_calls_per_second_under_sipp_load(two, tmp_path):
    proxy, uases, ctl, _ = two
    run = sipp_run.start_sipp_uac(proxy.addr, calls=80, rate=20, timeout=40,
                                  workdir=tmp_path / "sipp-uac")
    seen = []
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and run.popen.poll() is None:
            d = by_uri(ctl.json("pools"))
            rate = sum(x["calls_per_second"] for x in d.values())
            seen.append(rate)
            if rate > 0 and sum(x["calls"] for x in d.values()) > 0:
                break
            time.sleep(0.2)
    finally:
        r = run.wait()
    assert any(x > 0 for x in seen), f"calls/s never above 0 while SIPp ran: {seen}"
    assert r.ok and r.failed == 0 and r.successful == 80, r.summary()
    d = by_uri(ctl.json("pools"))
    assert sum(x["calls"] for x in d.values()) == 80
    for u in uases:
        assert d[uri(u)]["calls"] == len(u.requests("INVITE")) > 0
    # no calls any more: the rate goes back to 0 at a later sample
    poll("calls/s back to 0",
         lambda: all(x["calls_per_second"] == 0 for x in by_uri(ctl.json("pools")).values()),
         timeout=6)


def test_probe_down_and_up_shown_in_pools(sipedge_factory, uas_factory, sipedgectl_bin):
    deaf = uas_factory({"OPTIONS": None, "MESSAGE": [200]})
    good = uas_factory({"OPTIONS": [200], "MESSAGE": [200]})
    port = free_tcp_port()
    proxy = sipedge_factory({"metrics": f"127.0.0.1:{port}"},
                            one_pool([deaf, good], probe=PROBE))
    ctl = Ctl(sipedgectl_bin, proxy)

    def state_of(u):
        return by_uri(ctl.json("pools"))[uri(u)]

    d = poll("the deaf destination down", lambda: (lambda x: x if x["state"] == "down" else None)(
        state_of(deaf)))
    check_dest_shape(d)
    assert d["probe"]["enabled"] and d["failures"]["probe"] >= 2, d
    assert d["weight_now"] == 0 and isinstance(d["since_s"], NUM) and d["until_s"] is None, d
    g = state_of(good)
    assert g["state"] == "up" and g["failures"]["probe"] == 0 and g["probe"]["enabled"]
    res = ctl.json("pools")
    assert res["pools"][0]["up"] == 1
    m = parse_prometheus(http_get(port, "/metrics")[2])
    assert value(m, "sipedge_pool_destination_up", pool="p", destination=uri(deaf)) == 0
    assert value(m, "sipedge_pool_destination_state", pool="p", destination=uri(deaf),
                 state="down") == 1
    assert value(m, "sipedge_pool_destination_failures_total", pool="p",
                 destination=uri(deaf), cause="probe") >= 2
    assert "down" in ctl.run("pools", json_out=False).stdout

    deaf.policy["OPTIONS"] = [200]  # answers again
    d = poll("the destination back up", lambda: (lambda x: x if x["state"] == "up" else None)(
        state_of(deaf)))
    assert d["since_s"] is not None and d["until_s"] is None
    # an answered probe has a round trip, timed in microseconds: even on
    # loopback it is there, above 0 and well under the probe timeout
    assert d["probe"]["rtt_ms"] is not None and 0 < d["probe"]["rtt_ms"] < 1000, d["probe"]
    m = parse_prometheus(http_get(port, "/metrics")[2])
    assert value(m, "sipedge_pool_destination_up", pool="p", destination=uri(deaf)) == 1


# ----------------------------------------------------- enable / disable ----

def test_disable_steers_calls_away_and_survives_reload(two, ua):
    proxy, uases, ctl, _ = two
    a, b = uases
    assert min(route_n(ua, proxy, uases, 6)) > 0

    r = ctl.json("pool", "disable", "p", uri(a))
    check_types(r, POOL_SET)
    assert r == {"pool": "p", "uri": uri(a), "index": 0, "state": "disabled", "previous": "up"}
    proxy.wait_log(rf"control: pool p destination {re.escape(uri(a))} disabled")
    assert route_n(ua, proxy, uases, 10) == [0, 10]
    d = by_uri(ctl.json("pools"))
    assert d[uri(a)]["state"] == "disabled" and d[uri(a)]["weight_now"] == 0
    # again: no change, said so
    again = ctl.run("pool", "disable", "p", "0", json_out=False)
    assert again.returncode == 0 and "already disabled" in again.stdout, again.stdout

    # a reload that keeps the destination keeps the flag
    policy = one_pool(uases)
    policy["pools"]["q"] = {"destinations": [dest(b)]}
    policy["rules"].insert(0, {"name": "to-q", "match": {"ruri-user": "q"}, "route": "q"})
    reload_policy(proxy, policy)
    assert {p["name"] for p in ctl.json("pools")["pools"]} == {"p", "q"}
    assert by_uri(ctl.json("pools"))[uri(a)]["state"] == "disabled"
    assert route_n(ua, proxy, uases, 10) == [0, 10]

    # enable by host:port: back in the rotation at once (no slow start)
    human = ctl.run("pool", "enable", "p", a.hostport, json_out=False)
    assert human.returncode == 0 and "enabled" in human.stdout, human.stdout
    assert by_uri(ctl.json("pools"))[uri(a)]["state"] == "up"
    got = route_n(ua, proxy, uases, 10)
    assert got[0] > 0 and got[1] > 0, got
    r = ctl.json("pool", "enable", "p", "0")
    assert (r["state"], r["previous"]) == ("up", "up")


def test_enable_disable_errors(two, ua):
    proxy, uases, ctl, _ = two
    expect_error(ctl, ["pool", "disable", "nope", "0"], "no pool 'nope'")
    msg = expect_error(ctl, ["pool", "disable", "p", "sip:10.9.9.9:5060"], "has no destination")
    assert "sip:10.9.9.9:5060" in msg
    expect_error(ctl, ["pool", "disable", "p", "2"], "has no destination 2")
    expect_error(ctl, ["pool", "disable", "p", "127.0.0.1:1"], "127.0.0.1:1")
    expect_error(ctl, ["pool", "disable", "p"], "pool and dest are required")
    expect_error(ctl, ["pool", "disable", "p", "0", "--force", "1"], "unknown param 'force'")
    s = ctl.connect()
    for params, fragment in (({"pool": 5, "dest": 0}, "pool must be"),
                             ({"pool": "p", "dest": [0]}, "dest must be"),
                             ({"pool": "p", "dest": -1}, "no destination -1")):
        r = call(s, "pool.disable", params)
        assert r["error"]["code"] == -32602 and fragment in r["error"]["message"], r
    s.close()
    # nothing was disabled, and the daemon still routes
    assert {d["state"] for d in by_uri(ctl.json("pools")).values()} == {"up"}
    assert min(route_n(ua, proxy, uases, 4)) > 0


# ------------------------------------------------------------ blacklist ----

def test_blacklist_skips_pool_member_and_answers_rule(two, ua):
    proxy, uases, ctl, port = two
    a, b = uases
    assert ctl.json("blacklist", "list") == {"count": 0, "entries": []}
    assert "empty" in ctl.run("blacklist", "list", json_out=False).stdout

    e = ctl.json("blacklist", "add", a.hostport, "--code", "480", "--reason", "Go away",
                 "--seconds", "600")
    check_types(e, BL_ENTRY)
    assert (e["target"], e["address"], e["port"], e["transport"], e["code"], e["reason"]) == \
        (a.hostport, "127.0.0.1", a.port, "any", 480, "Go away")
    assert 599 <= e["expires_in_s"] <= 600
    proxy.wait_log(rf"control: blacklisted {re.escape(a.hostport)}")
    # the pool skips it; the rule routing to its URI gets the entry's answer
    assert route_n(ua, proxy, uases, 8) == [0, 8]
    before = len(a.requests("MESSAGE"))
    r = message_to(ua, proxy, "direct")
    assert (r.status, r.reason) == (480, "Go away"), r
    assert len(a.requests("MESSAGE")) == before

    lst = ctl.json("blacklist", "list")
    assert lst["count"] == 1 and len(lst["entries"]) == 1
    check_types(lst["entries"][0], BL_ENTRY)
    assert lst["entries"][0]["target"] == a.hostport and lst["entries"][0]["age_s"] >= 0
    human = ctl.run("blacklist", "list", json_out=False).stdout
    assert "TARGET" in human and a.hostport in human and "Go away" in human

    # a del that names another key removes nothing
    miss = ctl.json("blacklist", "del", a.hostport, "--transport", "udp")
    check_types(miss, BL_DEL)
    assert miss == {"target": a.hostport, "transport": "udp", "removed": False}
    assert route_n(ua, proxy, uases, 4) == [0, 4]
    human = ctl.run("blacklist", "del", a.hostport, json_out=False)
    assert human.returncode == 0 and "removed" in human.stdout, human.stdout
    assert ctl.json("blacklist", "list")["count"] == 0
    got = route_n(ua, proxy, uases, 8)
    assert got[0] > 0 and got[1] > 0, got
    assert message_to(ua, proxy, "direct").status == 200

    # address only, one transport, the defaults: covers every port of the
    # address over UDP
    e = ctl.json("blacklist", "add", "127.0.0.1", "--transport", "udp")
    assert (e["target"], e["port"], e["transport"], e["code"], e["reason"]) == \
        ("127.0.0.1", None, "udp", 403, "Destination Blacklisted")
    assert 59 <= e["expires_in_s"] <= 60
    r = message_to(ua, proxy, "direct")
    assert (r.status, r.reason) == (403, "Destination Blacklisted"), r
    assert ctl.json("blacklist", "del", "127.0.0.1", "--transport", "udp")["removed"]
    assert message_to(ua, proxy, "direct").status == 200

    # IPv6 forms are accepted and listed as written back
    for target, want in (("[::1]:5999", "[::1]:5999"), ("::2", "::2"), ("[::3]", "::3")):
        assert ctl.json("blacklist", "add", target)["target"] == want
    assert ctl.json("blacklist", "list")["count"] == 3
    m = parse_prometheus(http_get(port, "/metrics")[2])
    assert value(m, "sipedge_blacklist_entries") == 3


def test_blacklist_entry_expires(two, ua):
    proxy, uases, ctl, _ = two
    a, _ = uases
    human = ctl.run("blacklist", "add", a.hostport, "--seconds", "1", json_out=False)
    assert human.returncode == 0 and "blacklisted" in human.stdout, human.stdout
    assert route_n(ua, proxy, uases, 4) == [0, 4]
    poll("the entry expired", lambda: ctl.json("blacklist", "list")["count"] == 0, timeout=6)
    got = route_n(ua, proxy, uases, 8)
    assert got[0] > 0 and got[1] > 0, got


def test_blacklist_bad_params_keep_daemon_serving(two, ua):
    proxy, uases, ctl, _ = two
    cases = [
        (["blacklist", "add", "example.com"], "not an IP address"),
        (["blacklist", "add", "127.0.0.1:0"], "port must be 1 to 65535"),
        (["blacklist", "add", "127.0.0.1:70000"], "port must be 1 to 65535"),
        (["blacklist", "add", "[127.0.0.1]:5060"], "brackets are for IPv6"),
        (["blacklist", "add", "[::1"], "without ']'"),
        (["blacklist", "add", "[::1]x"], "only :PORT may follow"),
        (["blacklist", "add", "1.2.3.4", "--seconds", "0"], "seconds must be"),
        (["blacklist", "add", "1.2.3.4", "--seconds", "604801"], "seconds must be"),
        (["blacklist", "add", "1.2.3.4", "--seconds", "1.5"], "seconds must be"),
        (["blacklist", "add", "1.2.3.4", "--code", "399"], "code must be"),
        (["blacklist", "add", "1.2.3.4", "--code", "700"], "code must be"),
        (["blacklist", "add", "1.2.3.4", "--reason", "x" * 64], "reason must be"),
        (["blacklist", "add", "1.2.3.4", "--reason", ""], "reason must be"),
        (["blacklist", "add", "1.2.3.4", "--transport", "sctp"], "transport must be"),
        (["blacklist", "add", "1.2.3.4", "--sec", "5"], "unknown param 'sec'"),
        (["blacklist", "add"], "target is required"),
        (["blacklist", "del", "nope"], "not an IP address"),
        (["blacklist", "del", "1.2.3.4", "--transport", "x"], "transport must be"),
        (["pools", "--pool", "nope"], "no pool 'nope'"),
        (["pools", "--pol", "p"], "unknown param 'pol'"),
    ]
    for args, fragment in cases:
        expect_error(ctl, args, fragment)
    s = ctl.connect()
    for params, fragment in (({"target": 12}, "target is required"),
                             ({"target": "1.2.3.4", "reason": "a\r\nb"}, "reason must be"),
                             ({"target": "1.2.3.4", "reason": 5}, "reason must be"),
                             ({"target": "1.2.3.4", "code": "403"}, "code must be")):
        r = call(s, "blacklist.add", params)
        assert r["error"]["code"] == -32602 and fragment in r["error"]["message"], r
    s.close()
    assert ctl.json("blacklist", "list")["count"] == 0  # nothing half-added
    assert ctl.json("status")["workers_alive"] == 2
    assert min(route_n(ua, proxy, uases, 4)) > 0


# --------------------------------------------------------------- metrics ----

def test_pool_metrics_families_and_values(sipedge_factory, uas_factory, sipedgectl_bin, ua):
    uases = [uas_factory({"INVITE": [100, (180, 0.01), (200, 0.02)], "BYE": [200],
                          "OPTIONS": [200], "MESSAGE": [200]}) for _ in range(3)]
    odd = "odd.pool-1"  # a name with the other characters a pool name may have
    policy = {"pools": {"p": {"algorithm": "weighted", "probe": PROBE, "destinations": [
                  dest(uases[0], weight=2), dest(uases[1], weight=3)]},
              odd: {"destinations": [dest(uases[2])]}},
              "rules": [{"name": "odd", "match": {"ruri-user": "odd"}, "route": odd},
                        {"name": "default", "route": "p"}]}
    port = free_tcp_port()
    proxy = sipedge_factory({"record_route": True, "metrics": f"127.0.0.1:{port}"}, policy)
    ctl = Ctl(sipedgectl_bin, proxy)
    for user in ("bob", "bob", "odd"):
        inv = ua.request("INVITE", f"sip:{user}@{R_HOST}", body=SDP)
        ua.send(inv, proxy.addr)
        ok = ua.recv_response(inv, code=200, timeout=5)
        ack = ua.ack_for(inv, ok)
        ua.send(ack, sip.next_hop(ack))
        bye = ua.bye_for(inv, ok)
        ua.send(bye, sip.next_hop(bye))
        ua.recv_response(bye, final=True, timeout=5)
    ctl.json("pool", "disable", "p", "1")
    ctl.json("blacklist", "add", "192.0.2.1", "--seconds", "60")
    uases[0].wait_for("OPTIONS", timeout=5)  # probed (and answered)

    code, _, text = http_get(port, "/metrics")
    assert code == 200
    m = parse_prometheus(text)
    types = {"sipedge_pool_destination_up": "gauge", "sipedge_pool_destination_state": "gauge",
             "sipedge_pool_destination_inflight": "gauge",
             "sipedge_pool_destination_calls_total": "counter",
             "sipedge_pool_destination_failures_total": "counter",
             "sipedge_pool_destination_probe_rtt_seconds": "gauge",
             "sipedge_pool_destination_weight": "gauge", "sipedge_blacklist_entries": "gauge"}
    for fam, typ in types.items():
        assert fam in m and m[fam]["type"] == typ and m[fam]["help"], fam
    pools = ctl.json("pools")
    for p in pools["pools"]:
        for d in p["destinations"]:
            lb = {"pool": p["name"], "destination": d["uri"]}
            assert value(m, "sipedge_pool_destination_calls_total", **lb) == d["calls"]
            assert value(m, "sipedge_pool_destination_inflight", **lb) == d["inflight"] == 0
            assert value(m, "sipedge_pool_destination_up", **lb) == (d["state"] == "up")
            st = {lb2["state"]: v for lb2, v in
                  samples(m, "sipedge_pool_destination_state", **lb)}
            assert st == {s: float(s == d["state"]) for s in ("up", "down", "hold", "disabled")}
            causes = {lb2["cause"]: v for lb2, v in
                      samples(m, "sipedge_pool_destination_failures_total", **lb)}
            assert causes == {k: float(n) for k, n in d["failures"].items()}
    p0, p1 = uri(uases[0]), uri(uases[1])
    assert value(m, "sipedge_pool_destination_weight", pool="p", destination=p0) == 2
    assert value(m, "sipedge_pool_destination_weight", pool="p", destination=p1) == 0  # disabled
    assert value(m, "sipedge_pool_destination_state", pool="p", destination=p1,
                 state="disabled") == 1
    assert value(m, "sipedge_pool_destination_calls_total", pool=odd,
                 destination=uri(uases[2])) == 1
    assert sum(value(m, "sipedge_pool_destination_calls_total", pool="p", destination=u)
               for u in (p0, p1)) == 2
    rtts = samples(m, "sipedge_pool_destination_probe_rtt_seconds")
    assert all(lb["pool"] == "p" and v >= 0 for lb, v in rtts), rtts  # probed pool only
    assert value(m, "sipedge_blacklist_entries") == 1
    # `pools --pool` finds it by that name
    assert ctl.json("pools", "--pool", odd)["pools"][0]["name"] == odd
