"""
Routing policy end to end: pools (weighted, hash, priority), health
probing, failover, Retry-After holds, reply/redirect rules, header and
R-URI modifiers, prefix tables from CSV, match conditions, SIGHUP reload
(also under SIPp load), `sipedge -t` on every broken policy of
tests/data/policy/broken and `--explain`.

The real binary, generated configs, Python UAs/UASes and SIPp, loopback
only. Each test names what it checks (RFC 3261 section or the policy
feature). Every wait is bounded polling, no tight timing assertions.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

import harness
import sip
import sipp_run

HERE = Path(__file__).resolve().parent
BROKEN_DIR = HERE.parents[0] / "data" / "policy" / "broken"
if not BROKEN_DIR.is_dir():
    BROKEN_DIR = HERE.parents[1] / "tests" / "data" / "policy" / "broken"

SDP = ("v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
       "t=0 0\r\nm=audio 40000 RTP/AVP 0\r\n")
# Requests are routed by policy; the R-URI host is a loopback address
# nobody serves, so a misrouted request never leaves loopback.
R_HOST = "127.0.0.2:9"


def dest(u, **kw):
    d = {"uri": f"sip:{u.hostport}"}
    d.update(kw)
    return d


def one_pool(uases, pool="p", **pool_kw):
    p = {"destinations": [dest(u) for u in uases]}
    p.update(pool_kw)
    return {"pools": {pool: p}, "rules": [{"name": "default", "route": pool}]}


def reload_policy(proxy, policy, ok=True, timeout=8.0):
    """Rewrite policy.yaml, SIGHUP the master, wait for the outcome line
    in the log; returns the log text logged since the SIGHUP."""
    start = len(proxy.log_text())
    text = policy if isinstance(policy, str) else harness.to_yaml(policy)
    proxy.policy_path.write_text(text, encoding="utf-8")
    os.kill(proxy.pid, signal.SIGHUP)
    rx = r"reloaded: generation \d+" if ok else r"reload of \S+ failed|reload refused"
    proxy.wait_log(rx, timeout=timeout, start=start)
    if ok:
        time.sleep(0.3)  # workers switch within ~10-50 ms
    return proxy.log_text()[start:]


def send_many(ua, target, reqs, window=24, stall=3.0, limit=60.0):
    """Send requests keeping at most `window` of them without a final
    response. Returns {call_id: final status} (missing ones never got
    one: the loop ends after `stall` s without progress or `limit` s)."""
    finals = sip.send_windowed(ua, target, reqs, window, stall, limit)
    return {cid: m.status for cid, m in finals.items()}


def landed(uases, method, since=None):
    """{call_id: index of the UAS that got it} (first copy; since: per-UAS
    count of requests to skip)."""
    out = {}
    for k, u in enumerate(uases):
        got = u.requests(method)
        if since is not None:
            got = got[since[k]:]
        for m in got:
            out.setdefault(m.call_id, k)
    return out


def counts(uases, method):
    return [len(u.requests(method)) for u in uases]


def batch(ua, n, method="OPTIONS", user="bob", call_ids=None, **kw):
    ids = call_ids or [None] * n
    return [ua.request(method, f"sip:{user}@{R_HOST}", call_id=ids[k], **kw) for k in range(n)]


def route_n(ua, proxy, uases, n, method="MESSAGE"):
    """Send n requests, all must get 200; returns per-UAS counts of them."""
    before = counts(uases, method)
    reqs = batch(ua, n, method)
    res = send_many(ua, proxy.addr, reqs, window=4)
    assert len(res) == n and set(res.values()) == {200}, res
    # the proxy answered only after the UAS did: counts are final
    return [c - b for c, b in zip(counts(uases, method), before)]


def final(ua, req, timeout=5.0):
    return ua.recv_response(req, final=True, timeout=timeout)


# ----------------------------------------------------------- balancing ----


def test_weighted_1_2_1_shares(sipedge_factory, uas_factory, ua):
    # Pool algorithm `weighted` (smooth WRR, docs/internals/pools.md):
    # weights 1:2:1 over 3,000 requests -> 25/50/25 % within 3 points.
    uases = [uas_factory({"OPTIONS": [200]}) for _ in range(3)]
    policy = {"pools": {"p": {"algorithm": "weighted", "destinations": [
        dest(uases[0], weight=1), dest(uases[1], weight=2), dest(uases[2], weight=1)]}},
        "rules": [{"name": "default", "route": "p"}]}
    proxy = sipedge_factory({}, policy)
    n = 3000
    res = send_many(ua, proxy.addr, batch(ua, n), window=24, limit=90)
    assert len(res) == n, f"{n - len(res)} of {n} requests got no final response"
    assert set(res.values()) == {200}, {s for s in res.values()}
    got = counts(uases, "OPTIONS")
    assert sum(got) == n, got
    shares = [100.0 * c / n for c in got]
    for share, want in zip(shares, (25, 50, 25)):
        assert abs(share - want) <= 3.0, f"shares {shares} (counts {got}), want 25/50/25"


def test_hash_call_id_minimal_disruption_on_reload(sipedge_factory, uas_factory, ua):
    # Pool algorithm `hash` on call-id (rendezvous hashing): the same
    # Call-ID goes to the same destination; after a reload that removes
    # one destination, only that destination's Call-IDs move, and they
    # spread over the remaining three.
    uases = [uas_factory({"OPTIONS": [200]}) for _ in range(4)]
    proxy = sipedge_factory({}, one_pool(uases, algorithm="hash", hash="call-id"))
    n = 800
    ids = [sip.new_call_id() for _ in range(n)]
    res = send_many(ua, proxy.addr, batch(ua, n, call_ids=ids))
    assert len(res) == n and set(res.values()) == {200}
    first = landed(uases, "OPTIONS")
    assert len(first) == n
    per = [sum(1 for v in first.values() if v == k) for k in range(4)]
    assert all(c > n // 10 for c in per), f"hash spread is lopsided: {per}"

    # resend the same Call-IDs once more: stable
    mark = counts(uases, "OPTIONS")
    res = send_many(ua, proxy.addr, batch(ua, n, call_ids=ids, cseq=2))
    assert len(res) == n
    again = landed(uases, "OPTIONS", since=mark)
    moved = [c for c in ids if again[c] != first[c]]
    assert not moved, f"{len(moved)} Call-IDs changed destination with nothing changed"

    removed = 2
    kept = [u for k, u in enumerate(uases) if k != removed]
    reload_policy(proxy, one_pool(kept, algorithm="hash", hash="call-id"))
    mark = counts(uases, "OPTIONS")
    res = send_many(ua, proxy.addr, batch(ua, n, call_ids=ids, cseq=3))
    assert len(res) == n and set(res.values()) == {200}
    after = landed(uases, "OPTIONS", since=mark)
    assert len(after) == n
    assert removed not in after.values(), "the removed destination still gets requests"
    stayed_wrong = [c for c in ids if first[c] != removed and after[c] != first[c]]
    assert not stayed_wrong, (f"{len(stayed_wrong)} Call-IDs of kept destinations moved "
                              f"(only the removed one's may move)")
    orphans = [c for c in ids if first[c] == removed]
    spread = [sum(1 for c in orphans if after[c] == k) for k in range(4) if k != removed]
    assert all(s > 0 for s in spread), f"orphaned Call-IDs spread {spread}"


# ------------------------------------------------------------- probing ----


def test_probe_down_and_back_up(sipedge_factory, uas_factory, ua):
    # Pool `probe:` OPTIONS health checks: a destination that does not
    # answer them goes down (all requests go to the other), and comes back
    # once it answers again (interval 200ms, timeout 150ms, down-after 2,
    # up-after 1).
    deaf = uas_factory({"OPTIONS": None, "MESSAGE": [200]})
    good = uas_factory({"OPTIONS": [200], "MESSAGE": [200]})
    uases = [deaf, good]
    probe = {"interval": "200ms", "timeout": "150ms", "down-after": 2, "up-after": 1}
    proxy = sipedge_factory({}, one_pool(uases, probe=probe))

    # probes reach both destinations
    deaf.wait_for("OPTIONS", timeout=5)
    good.wait_for("OPTIONS", timeout=5)
    # bounded polling until the deaf one is out of rotation
    deadline = time.monotonic() + 8
    while True:
        got = route_n(ua, proxy, uases, 6)
        if got[0] == 0:
            break
        assert time.monotonic() < deadline, "the deaf destination never went down"
        time.sleep(0.2)
    got = route_n(ua, proxy, uases, 20)
    assert got == [0, 20], f"down destination still used: {got}"

    deaf.policy["OPTIONS"] = [200]  # it answers probes again
    deadline = time.monotonic() + 8
    while True:
        got = route_n(ua, proxy, uases, 6)
        if got[0] > 0:
            break
        assert time.monotonic() < deadline, "the destination never came back up"
        time.sleep(0.2)
    got = route_n(ua, proxy, uases, 20)
    assert got[0] > 0 and got[1] > 0, got

    # exactly one worker probes each destination: one probe per interval,
    # not one per worker (bounded: 2 s at 200 ms is ~10; 2 workers would be ~20)
    n0 = len(good.requests("OPTIONS", retransmissions=True))
    time.sleep(2.0)
    n1 = len(good.requests("OPTIONS", retransmissions=True))
    assert 4 <= n1 - n0 <= 15, f"{n1 - n0} probes to one destination in 2 s (interval 200ms)"


# ------------------------------------------------------------ failover ----


def two_dest_failover_policy(a, b, failover):
    return {"pools": {"p": {"algorithm": "priority", "failover": failover,
                            "destinations": [dest(a, priority=1), dest(b, priority=2)]}},
            "rules": [{"name": "default", "route": "p"}]}


@pytest.mark.parametrize("first,second,want,second_tried", [
    (503, 200, 200, True),
    (500, 500, 500, True),
    (503, 503, 500, True),
    (486, 200, 486, False),
], ids=["503-then-200", "both-500", "both-503-becomes-500", "486-not-failed-over"])
def test_failover_codes(sipedge_factory, uas_factory, ua, first, second, want, second_tried):
    # Pool `failover:` (RFC 3261 §16.7 steps 6-7): a listed code (5xx by
    # default) makes the proxy try the next destination; when all fail the
    # best response goes upstream, a 503 as 500 (§16.7 step 6); a code not
    # listed (486) goes upstream at once, the next one is not tried.
    a = uas_factory({"INVITE": [100, first], "BYE": [200]})
    b = uas_factory({"INVITE": [100, (second, 0.05)], "BYE": [200]})
    proxy = sipedge_factory({}, two_dest_failover_policy(a, b, {"max-tries": 2}))
    inv = ua.request("INVITE", f"sip:bob@{R_HOST}", body=SDP)
    ua.send(inv, proxy.addr)
    resp = final(ua, inv)
    assert resp.status == want, resp
    a.wait_for("INVITE")
    if resp.status >= 300:
        ua.send(ua.ack_for(inv, resp), proxy.addr)
    else:
        ack = ua.ack_for(inv, resp)
        ua.send(ack, sip.next_hop(ack))
    if second_tried:
        b.wait_for("INVITE", timeout=3)
    else:
        time.sleep(0.5)
        assert not b.requests("INVITE"), "the next destination was tried after a 486"


def test_failover_timeout_key(sipedge_factory, uas_factory, ua):
    # Pool `failover: {timeout: 300ms}`: a silent first destination is
    # given up after 300 ms and the second answers 200.
    silent = uas_factory({"INVITE": None})
    b = uas_factory({"INVITE": [100, (200, 0.05)], "BYE": [200]})
    proxy = sipedge_factory({}, two_dest_failover_policy(silent, b, {"timeout": "300ms"}),
                            stop_timeout=40)
    inv = ua.request("INVITE", f"sip:bob@{R_HOST}", body=SDP)
    t0 = time.monotonic()
    ua.send(inv, proxy.addr)
    resp = final(ua, inv, timeout=10)
    assert resp.status == 200, resp
    assert time.monotonic() - t0 < 5.0
    ack = ua.ack_for(inv, resp)
    ua.send(ack, sip.next_hop(ack))
    silent.wait_for("INVITE")


def test_failover_on_timer_b_timeout(sipedge_factory, uas_factory, ua):
    # Pool `failover: {on-timeout: true}` with the default try time (Timer
    # B = 64*T1, RFC 3261 §17.1.1.2; T1 = 20ms here, so 1.28 s): a silent
    # first destination, the INVITE is answered 200 by the second.
    silent = uas_factory({"INVITE": None})
    b = uas_factory({"INVITE": [100, (200, 0.05)], "BYE": [200]})
    proxy = sipedge_factory({"timers": {"t1": "20ms", "t2": "40ms"}},
                            two_dest_failover_policy(silent, b, {"on-timeout": True}))
    inv = ua.request("INVITE", f"sip:bob@{R_HOST}", body=SDP)
    ua.send(inv, proxy.addr)
    resp = final(ua, inv, timeout=10)
    assert resp.status == 200, resp
    ack = ua.ack_for(inv, resp)
    ua.send(ack, sip.next_hop(ack))
    silent.wait_for("INVITE")
    b.wait_for("INVITE")


def test_retry_after_holds_destination(sipedge_factory, uas_factory, ua):
    # Passive health (docs/internals/pools.md, RFC 3261 §21.5.4 and
    # §20.33): a 503 with Retry-After: 2 holds the destination out of the
    # rotation for 2 s, then it is used again.
    state = {"n": 0}

    def a_policy(uas, req):
        state["n"] += 1
        return [(503, 0, {"Retry-After": "2"})] if state["n"] == 1 else [200]

    a = uas_factory({"MESSAGE": a_policy, "OPTIONS": [200]})
    b = uas_factory({"MESSAGE": [200], "OPTIONS": [200]})
    uases = [a, b]
    proxy = sipedge_factory({}, one_pool(uases))
    # round-robin: within a few requests `a` gets one and answers 503
    deadline = time.monotonic() + 5
    while not a.requests("MESSAGE"):
        assert time.monotonic() < deadline
        route_n(ua, proxy, uases, 1)  # 503 fails over to b: caller sees 200
    t_hold = time.monotonic()
    got = route_n(ua, proxy, uases, 10)
    if time.monotonic() - t_hold < 1.5:  # only meaningful inside the hold
        assert got[0] == 0, f"held destination used within the hold: {got}"
    deadline = time.monotonic() + 8
    while True:
        got = route_n(ua, proxy, uases, 4)
        if got[0] > 0:
            break
        assert time.monotonic() < deadline, "the held destination never came back"
        time.sleep(0.2)
    assert time.monotonic() - t_hold >= 1.5, "hold ended long before Retry-After: 2"


# ------------------------------------------------------- rule actions ----


def test_reply_redirect_and_modifiers(sipedge_factory, uas_factory, ua):
    # Rule actions `reply` (RFC 3261 §16.3/§21: code, reason, headers) and
    # `redirect` (§21.3, §20.10 Contact), modifiers headers add/remove/
    # replace, rewrite of the R-URI user (strip/prefix), record-route off
    # (§16.6 step 4 is the proxy's choice).
    uas = uas_factory()
    policy = {
        "pools": {"p": {"destinations": [dest(uas)]}},
        "rules": [
            {"name": "blocked", "match": {"ruri-user": "blocked"},
             "reply": {"code": 403, "reason": "Go Away", "headers": {"X-Why": "blocked"}}},
            {"name": "busy", "match": {"ruri-user": "busy"}, "reply": 486},
            {"name": "moved", "match": {"ruri-user": "moved"},
             "redirect": {"code": 302, "contacts": ["sip:new1@127.0.0.1:9",
                                                    "sip:new2@127.0.0.1:9"]}},
            {"name": "hdrs", "match": {"ruri-user": "hdrs"}, "route": "p",
             "headers": {"add": {"X-Edge": "sipedge"}, "remove": ["X-Internal"],
                         "replace": {"User-Agent": "sipedge"}}},
            {"name": "rw", "match": {"ruri-user": {"prefix": "00"}}, "route": "p",
             "rewrite": {"strip": 2, "prefix": "+"}},
            {"name": "norr", "match": {"ruri-user": "norr"}, "route": "p",
             "record-route": False},
            {"name": "rr", "route": "p", "record-route": True},
        ]}
    proxy = sipedge_factory({"record_route": True}, policy)

    req = ua.request("MESSAGE", f"sip:blocked@{R_HOST}")
    ua.send(req, proxy.addr)
    r = final(ua, req)
    assert (r.status, r.reason, r.get("X-Why")) == (403, "Go Away", "blocked"), r
    assert [v.branch for v in r.vias] == [req.branch]

    inv = ua.request("INVITE", f"sip:busy@{R_HOST}", body=SDP)
    ua.send(inv, proxy.addr)
    r = final(ua, inv)
    assert r.status == 486, r
    ua.send(ua.ack_for(inv, r), proxy.addr)

    inv = ua.request("INVITE", f"sip:moved@{R_HOST}", body=SDP)
    ua.send(inv, proxy.addr)
    r = final(ua, inv)
    assert r.status == 302, r
    contacts = [sip.parse_addr(c).uri for c in r.get_all("Contact")]
    assert contacts == ["sip:new1@127.0.0.1:9", "sip:new2@127.0.0.1:9"], r
    ua.send(ua.ack_for(inv, r), proxy.addr)
    assert not uas.requests(), "reply/redirect rules forwarded something"

    req = ua.request("MESSAGE", f"sip:hdrs@{R_HOST}",
                     headers=[("X-Internal", "secret"), ("User-Agent", "pjsip"),
                              ("X-Keep", "1")])
    ua.send(req, proxy.addr)
    assert final(ua, req).status in (200, 405)
    got = uas.wait_for("MESSAGE")[-1]
    assert got.get_all("X-Edge") == ["sipedge"], got
    assert got.get_all("X-Internal") == [], got
    assert got.get_all("User-Agent") == ["sipedge"], got
    assert got.get_all("X-Keep") == ["1"], got

    req = ua.request("OPTIONS", f"sip:004930123@{R_HOST}")
    ua.send(req, proxy.addr)
    assert final(ua, req).status == 200
    got = uas.wait_for("OPTIONS")[-1]
    assert sip.parse_uri(got.ruri).user == "+4930123", got.ruri

    for user, want_rr in (("norr", False), ("other", True)):
        inv = ua.request("INVITE", f"sip:{user}@{R_HOST}", body=SDP)
        ua.send(inv, proxy.addr)
        ok = ua.recv_response(inv, code=200, timeout=5)
        uinv = [m for m in uas.requests("INVITE") if m.call_id == inv.call_id][0]
        assert bool(uinv.get_all("Record-Route")) == want_rr, (user, uinv)
        ack = ua.ack_for(inv, ok)
        ua.send(ack, sip.next_hop(ack))


def test_no_matching_rule_gets_404(sipedge_factory, uas_factory, ua):
    # A request no rule matches: 404 "No Matching Rule".
    uas = uas_factory()
    policy = {"pools": {"p": {"destinations": [dest(uas)]}},
              "rules": [{"name": "only-invite", "match": {"method": "INVITE"}, "route": "p"}]}
    proxy = sipedge_factory({}, policy)
    req = ua.request("OPTIONS", f"sip:bob@{R_HOST}")
    ua.send(req, proxy.addr)
    r = final(ua, req)
    assert (r.status, r.reason) == (404, "No Matching Rule"), r
    uas.assert_nothing_received(wait=0.2)


# -------------------------------------------------------- prefix table ----


def test_prefix_table_from_csv(sipedge_factory, uas_factory, ua, tmp_path):
    # `route-prefix:` with a CSV table of ~1,000 prefixes: the longest
    # prefix of the R-URI user ('+' stripped) picks the pool; a number
    # with no prefix falls through to the next rule.
    uases = [uas_factory({"OPTIONS": [200]}) for _ in range(4)]
    names = ["a", "b", "c"]
    rnd = random.Random(4930)
    table = {"49": "a", "4930": "b", "493012": "c"}
    while len(table) < 1003:
        p = str(rnd.randint(5, 9)) + "".join(str(rnd.randint(0, 9))
                                             for _ in range(rnd.randint(2, 7)))
        table.setdefault(p, rnd.choice(names))
    lines = ["prefix,pool"] + [f"{p},{pool}" for p, pool in table.items()]
    (tmp_path / "prefixes.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    policy = {"pools": {n: {"destinations": [dest(uases[k])]} for k, n in enumerate(names)},
              "tables": {"t": {"file": "prefixes.csv"}},
              "rules": [{"name": "by-prefix", "route-prefix": "t"},
                        {"name": "fallback", "route": "z"}]}
    policy["pools"]["z"] = {"destinations": [dest(uases[3])]}
    proxy = sipedge_factory({}, policy)

    def longest(num):
        for k in range(len(num), 0, -1):
            if num[:k] in table:
                return names.index(table[num[:k]])
        return 3

    cases = {"+4930123456": 2, "+4930999": 1, "+4940123": 0, "+15551234": 3, "4930120": 2}
    for p in rnd.sample(sorted(k for k in table if k[0] >= "5"), 12):
        cases["+" + p + "0000"] = longest(p + "0000")
    for num, want in cases.items():
        assert longest(num.lstrip("+")) == want
        before = counts(uases, "OPTIONS")
        req = ua.request("OPTIONS", f"sip:{num}@{R_HOST}")
        ua.send(req, proxy.addr)
        assert final(ua, req).status == 200, num
        diff = [c - b for c, b in zip(counts(uases, "OPTIONS"), before)]
        assert diff[want] == 1 and sum(diff) == 1, f"{num}: went to {diff}, want pool {want}"


# ---------------------------------------------------- match conditions ----


def test_match_conditions(sipedge_factory, ua_factory):
    # Rule `match:` method, ruri-host, header present / regex, source
    # CIDR (a UA bound to 127.0.0.2), not/any; first match wins; nothing
    # matching gets 404.
    rules = [
        {"name": "src", "match": {"source": "127.0.0.2/32"},
         "reply": {"code": 403, "reason": "r-src"}},
        {"name": "tenant", "match": {"header": {"name": "X-Tenant", "regex": "^acme-[0-9]+$"}},
         "reply": {"code": 403, "reason": "r-tenant"}},
        {"name": "flag", "match": {"header": {"name": "X-Flag", "present": True}},
         "reply": {"code": 403, "reason": "r-flag"}},
        {"name": "host", "match": {"ruri-host": "example.net"},
         "reply": {"code": 403, "reason": "r-host"}},
        {"name": "msg", "match": {"method": "MESSAGE"},
         "reply": {"code": 403, "reason": "r-msg"}},
        {"name": "notany", "match": {"not": {"any": [{"method": "OPTIONS"},
                                                    {"ruri-user": {"prefix": "9"}}]}},
         "reply": {"code": 403, "reason": "r-notany"}},
        {"name": "opt", "match": {"method": "OPTIONS"},
         "reply": {"code": 403, "reason": "r-opt"}},
    ]
    proxy = sipedge_factory({}, {"rules": rules})
    ua1 = ua_factory("127.0.0.1")
    ua2 = ua_factory("127.0.0.2")

    def ask(u, method, ruri, headers=()):
        req = u.request(method, ruri, headers=headers)
        u.send(req, proxy.addr)
        r = final(u, req)
        if method == "INVITE":
            u.send(u.ack_for(req, r), proxy.addr)
        return r.status, r.reason

    assert ask(ua2, "OPTIONS", f"sip:bob@{R_HOST}") == (403, "r-src")
    assert ask(ua1, "OPTIONS", f"sip:bob@{R_HOST}", [("X-Tenant", "acme-42")]) == (403, "r-tenant")
    assert ask(ua1, "OPTIONS", f"sip:bob@{R_HOST}", [("X-Tenant", "acme-x")]) == (403, "r-opt")
    assert ask(ua1, "OPTIONS", f"sip:bob@{R_HOST}", [("X-Flag", "")]) == (403, "r-flag")
    assert ask(ua1, "MESSAGE", "sip:bob@example.net") == (403, "r-host")
    assert ask(ua1, "MESSAGE", f"sip:bob@{R_HOST}") == (403, "r-msg")
    assert ask(ua1, "INVITE", f"sip:123@{R_HOST}") == (403, "r-notany")
    assert ask(ua1, "INVITE", f"sip:987@{R_HOST}") == (404, "No Matching Rule")
    assert ask(ua1, "OPTIONS", f"sip:987@{R_HOST}") == (403, "r-opt")


# -------------------------------------------------------------- reload ----


def test_reload_valid_and_broken(sipedge_factory, uas_factory, ua):
    # SIGHUP reload: a valid policy takes effect (requests go to the new
    # pool); a broken one is refused with file:line:col in the log and the
    # running policy keeps routing.
    old, new = uas_factory({"OPTIONS": [200]}), uas_factory({"OPTIONS": [200]})
    proxy = sipedge_factory({}, one_pool([old], pool="old"))
    assert route_n(ua, proxy, [old, new], 4, "OPTIONS") == [4, 0]
    reload_policy(proxy, one_pool([new], pool="new"))
    assert route_n(ua, proxy, [old, new], 4, "OPTIONS") == [0, 4]

    broken = "rules:\n  - name: x\n    route: nosuch\n"
    log = reload_policy(proxy, broken, ok=False)
    assert re.search(r"policy\.yaml:3:\d+:.*undefined pool 'nosuch'", log), log
    time.sleep(0.3)
    assert route_n(ua, proxy, [old, new], 4, "OPTIONS") == [0, 4]
    assert proxy.alive()


@pytest.fixture
def sipp_uas(tmp_path, free_udp_port):
    port = free_udp_port()
    p = sipp_run.run_sipp_uas(port, workdir=tmp_path / "sipp-uas", timeout=120)
    p.hostport = f"127.0.0.1:{port}"
    yield p
    sipp_run.stop_process(p)


@pytest.mark.load
def test_reload_under_sipp_load(sipedge_factory, sipp_uas, tmp_path):
    # SIGHUP reload under load: 1,000 SIPp calls at 200 calls/s with 4
    # reloads during the run -> 0 failed calls (transactions in flight
    # finish on the generation they started on).
    def pol(name):
        return {"pools": {name: {"destinations": [{"uri": f"sip:{sipp_uas.hostport}"}]}},
                "rules": [{"name": f"r-{name}", "route": name}]}
    proxy = sipedge_factory({"workers": 2, "record_route": True}, pol("g0"))
    run = sipp_run.start_sipp_uac(proxy.addr, calls=1000, rate=200, timeout=40,
                                  workdir=tmp_path / "sipp-uac")
    try:
        for k in range(1, 5):
            deadline = time.monotonic() + 10
            while run.calls_created() < 180 * k and time.monotonic() < deadline \
                    and run.popen.poll() is None:
                time.sleep(0.05)
            if run.popen.poll() is not None:
                break
            reload_policy(proxy, pol(f"g{k}"))
    except BaseException:
        run.stop()
        raise
    r = run.wait()
    reloads = len(re.findall(r"reloaded: generation", proxy.log_text()))
    assert reloads >= 3, f"only {reloads} reloads happened during the run"
    assert r.ok and r.failed == 0 and r.successful == 1000, r.summary()
    assert proxy.alive()


# ----------------------------------------------------- sipedge -t / explain ----


def _broken_files():
    return sorted(BROKEN_DIR.glob("*.yaml"))


EXPECT_RE = re.compile(r"^#\s*expect:\s*(?:([^:\s]+):)?(\d+):(\d+):\s(.*)$")


@pytest.mark.parametrize("path", _broken_files(), ids=lambda p: p.stem)
def test_broken_policy_rejected_with_positions(path, tmp_path, sipedge_bin):
    # `sipedge -t` on each broken policy: non-zero exit, every expected
    # `FILE:LINE:COL: message` in order (tests/data/policy/broken/README.md).
    expected = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = EXPECT_RE.match(line)
        if not m:
            if line.startswith("# expect"):
                pytest.fail(f"unparsable expect line in {path.name}: {line!r}")
            continue
        f = path if m.group(1) is None else path.parent / m.group(1)
        expected.append(f"{f}:{m.group(2)}:{m.group(3)}: {m.group(4)}")
    assert expected, f"{path.name} has no '# expect:' line"
    cfg = {"listen": [f"udp://127.0.0.1:{harness.free_udp_port()}"], "workers": 1,
           "policy": str(path)}
    cfg_path = tmp_path / "sipedge.yaml"
    cfg_path.write_text(harness.to_yaml(cfg), encoding="utf-8")
    r = subprocess.run([str(sipedge_bin), "-t", "-c", str(cfg_path)], cwd=tmp_path,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode != 0, f"{path.name} loaded: {err}"
    lines = err.splitlines()
    i = 0
    for want in expected:
        while i < len(lines) and want not in lines[i]:
            i += 1
        assert i < len(lines), f"missing (or out of order) {want!r} in stderr:\n{err}"
        i += 1


def test_explain_names_rule_and_why_not(tmp_path, sipedge_bin, free_udp_port):
    # `sipedge -t --explain`: the matching rule, why each earlier rule did
    # not match, and the destination order.
    policy = {"pools": {"carrier": {"algorithm": "priority", "destinations": [
                  {"uri": "sip:127.0.0.1:5091", "priority": 2},
                  {"uri": "sip:127.0.0.1:5092", "priority": 1}]}},
              "rules": [{"name": "only-options", "match": {"method": "OPTIONS"},
                         "reply": 403},
                        {"name": "from-dot-3", "match": {"source": "127.0.0.3/32"},
                         "reply": 403},
                        {"name": "to-carrier", "match": {"ruri-user": {"prefix": "+49"}},
                         "route": "carrier"}]}
    _, cfg_path, _ = harness.write_files(tmp_path, {"workers": 1}, policy)
    r = subprocess.run([str(sipedge_bin), "-t", "-c", str(cfg_path), "--explain",
                        "INVITE sip:+4930123@example.net", "--from-ip", "127.0.0.2"],
                       cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    out = (r.stdout + r.stderr).decode("utf-8", "replace")
    assert r.returncode == 0, out
    lines = out.splitlines()
    by_rule = {m.group(1): l for l in lines for m in [re.search(r"rule '([^']+)'", l)] if m}
    assert set(by_rule) >= {"only-options", "from-dot-3", "to-carrier"}, out
    assert re.search(r"\bno\b", by_rule["only-options"]) and "INVITE" in by_rule["only-options"] \
        and "OPTIONS" in by_rule["only-options"], out
    assert "127.0.0.2" in by_rule["from-dot-3"] and "127.0.0.3" in by_rule["from-dot-3"], out
    assert "matches" in by_rule["to-carrier"] and "carrier" in by_rule["to-carrier"], out
    order = [l.strip() for l in lines if re.match(r"\s+\d+\.\s+sip:", l)]
    assert [o.split()[1] for o in order] == ["sip:127.0.0.1:5092", "sip:127.0.0.1:5091"], out
