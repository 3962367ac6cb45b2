"""
Pool balancing and per-destination limits end to end (docs/policy.md
"pools", docs/internals/pools.md): `least-busy` steering new calls away
from a slow destination, `priority` (lowest first, equal priorities in
the written order, the next one when the first goes down by probes or by
passive health, back when it recovers), `max-calls` (counted at the UAS),
`max-cps`, `slow-start` after a probe brings a destination back, and a
SIGHUP reload under SIPp load at 1,000 calls/s.

What test_policy_routing.py already covers is not repeated here (weighted
shares, hash spread, probe down/up, Retry-After holds, failover).

The real binary, generated configs, Python UAs/UASes and SIPp, loopback
only. Shares are compared with wide margins and every wait is bounded
polling: nothing asserts on speed.
"""

from __future__ import annotations

import math
import re
import time

import pytest

import sip
import sipp_run
from test_policy_routing import R_HOST, SDP, counts, dest, one_pool, reload_policy, route_n

PROBE = {"interval": "200ms", "timeout": "150ms", "down-after": 2, "up-after": 1}


class InflightUAS(sip.ScriptedUAS):
    """A ScriptedUAS that counts the INVITEs it holds: received (not a
    retransmission) and no final response sent yet. Both ends are seen on
    the UAS's own thread, so the running count, and its maximum, are
    exact. The proxy frees a destination's slot only when the final
    reaches it, after the UAS sent it: this count never exceeds the
    proxy's in-flight count for the destination."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.holding = 0
        self.max_holding = 0
        self._open: set = set()

    def _on_message(self, m):
        key = None
        if m.is_request and m.method == "INVITE":
            key = self._txn_key(m)
            if key in self._txns:
                key = None  # a retransmission
        super()._on_message(m)
        if key is not None:
            self._open.add(key)
            self.holding += 1
            self.max_holding = max(self.max_holding, self.holding)

    def _send_response(self, txn, resp):
        super()._send_response(txn, resp)
        key = self._txn_key(txn.req)
        if txn.final and key in self._open:
            self._open.discard(key)
            self.holding -= 1


@pytest.fixture
def inflight_uas_factory(request, uas_factory):
    """make(policy) -> a started InflightUAS, stopped (and shown in a
    failure report) with the uas_factory ones."""
    def make(policy, host="127.0.0.1"):
        u = InflightUAS(policy, host=host).start()
        request.node._uases.append(u)  # uas_factory's list: its teardown stops it
        return u
    return make


def ack(ua, proxy, inv, resp):
    """ACK a final response: a 2xx end to end to its Contact (§13.2.2.4),
    anything else hop by hop to the proxy (§17.1.1.3)."""
    a = ua.ack_for(inv, resp)
    ua.send(a, sip.next_hop(a) if resp.status < 300 else proxy.addr)


def invites(ua, proxy, n, window, stall=6.0, limit=60.0):
    """Send n INVITEs keeping at most `window` without a final response,
    and ACK every final. Returns {call_id: final response}; missing ones
    never got a final: the loop ends after `stall` s without one or
    `limit` s in all."""
    reqs = [ua.request("INVITE", f"sip:bob@{R_HOST}", body=SDP) for _ in range(n)]
    return sip.send_windowed(ua, proxy.addr, reqs, window, stall, limit,
                             on_final=lambda inv, m: ack(ua, proxy, inv, m))


def all_ok(results, n):
    codes = sorted(r.status for r in results.values())
    assert len(results) == n and set(codes) == {200}, \
        f"{n - len(results)} of {n} INVITEs got no final; finals: {codes}"


def wait_until(what, cond, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(step)


def route_until(ua, proxy, uases, pred, what, timeout=8.0, n=6):
    """route_n batches of n MESSAGEs until pred(per-UAS counts of the
    batch) holds (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        got = route_n(ua, proxy, uases, n)
        if pred(got):
            return got
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s (last {got})"
        time.sleep(0.1)


# ---------------------------------------------------------- least-busy ----


def test_least_busy_avoids_slow_destination(sipedge_factory, uas_factory, ua):
    # `algorithm: least-busy` (ascending INVITEs in flight, counted in
    # shared memory across the 2 workers): one of three UASes answers
    # after 2 s, the others at once. Under a steady stream of INVITEs (at
    # most 6 without a final), round-robin gives the slow one its third
    # of the calls; least-busy gives it a new call only while it holds no
    # more than the others (about 2 of the 6 at a time, each for 2 s),
    # so its share falls to a few percent. Asserted: below a third of
    # its round-robin share.
    slow = uas_factory({"INVITE": [100, (180, 0.05), (200, 2.0)]})
    fast = [uas_factory({"INVITE": [100, (200, 0.02)]}) for _ in range(2)]
    uases = [slow] + fast
    proxy = sipedge_factory({}, one_pool(uases))
    n, window = 48, 6

    res = invites(ua, proxy, n, window)
    all_ok(res, n)
    rr = counts(uases, "INVITE")
    assert sum(rr) == n, rr
    rr_share = rr[0] / n
    assert rr_share >= 0.25, f"round-robin gave the slow one {rr} (want about a third)"

    reload_policy(proxy, one_pool(uases, algorithm="least-busy"))
    res = invites(ua, proxy, n, window)
    all_ok(res, n)
    lb = [c - b for c, b in zip(counts(uases, "INVITE"), rr)]
    assert sum(lb) == n, lb
    lb_share = lb[0] / n
    assert lb_share < rr_share / 3, (
        f"least-busy gave the slow destination {lb[0]} of {n} ({lb_share:.0%}), "
        f"round-robin {rr[0]} ({rr_share:.0%}); per destination {lb} vs {rr}")
    assert lb[1] > 0 and lb[2] > 0, f"the fast ones are not shared: {lb}"


# ------------------------------------------------------------ priority ----


def test_priority_lowest_first_then_next_by_probes(sipedge_factory, uas_factory, ua):
    # `algorithm: priority`: every request goes to the lowest `priority`
    # value while it is up; with equal priorities the first written wins
    # (b before c, both 2, and x, 3, last though written first). When
    # probes take the first down, requests move to the next (b); when b
    # goes down too, to c; when the first answers probes again, back to
    # it. Probes: interval 200ms, timeout 150ms, down-after 2, up-after 1.
    x, a, b, c = (uas_factory({"OPTIONS": [200], "MESSAGE": [200]}) for _ in range(4))
    uases = [x, a, b, c]
    policy = {"pools": {"p": {"algorithm": "priority", "probe": PROBE, "destinations": [
        dest(x, priority=3), dest(a, priority=1), dest(b, priority=2), dest(c, priority=2)]}},
        "rules": [{"name": "default", "route": "p"}]}
    proxy = sipedge_factory({}, policy)
    for u in uases:
        u.wait_for("OPTIONS", timeout=5)
    assert route_n(ua, proxy, uases, 20) == [0, 20, 0, 0]

    a.policy["OPTIONS"] = None  # a stops answering probes
    route_until(ua, proxy, uases, lambda g: g[1] == 0, "a taken out by probes")
    assert route_n(ua, proxy, uases, 20) == [0, 0, 20, 0], "equal priorities: written order"

    b.policy["OPTIONS"] = None
    route_until(ua, proxy, uases, lambda g: g[2] == 0, "b taken out by probes")
    assert route_n(ua, proxy, uases, 20) == [0, 0, 0, 20]

    a.policy["OPTIONS"] = [200]  # a recovers (b is still down)
    route_until(ua, proxy, uases, lambda g: g[1] > 0, "a back up")
    assert route_n(ua, proxy, uases, 20) == [0, 20, 0, 0]

    n_opts = len(b.requests("OPTIONS"))
    b.policy["OPTIONS"] = [200]  # b is up once it answered a probe (up-after 1) ...
    wait_until("b answered a probe", lambda: len(b.requests("OPTIONS")) > n_opts + 1, 3, 0.01)
    a.policy["OPTIONS"] = None  # ... and only then a goes
    route_until(ua, proxy, uases, lambda g: g[1] == 0, "a down again")
    assert route_n(ua, proxy, uases, 20) == [0, 0, 20, 0], "b came back before a went down"


def test_priority_passive_down_and_back(sipedge_factory, uas_factory, ua):
    # `algorithm: priority` with passive health only (no probes; passive
    # {failures: 2, down-for: 2s}): the first destination answers 503 (no
    # Retry-After) to its first two requests, each failing over to the
    # next (the caller gets 200); after the second in a row it is down:
    # the following requests go straight to the next one. After down-for
    # it is used again (no sooner than ~2 s).
    state = {"n": 0}

    def first_policy(uas, req):
        state["n"] += 1
        return [503] if state["n"] <= 2 else [200]

    a = uas_factory({"MESSAGE": first_policy})
    b = uas_factory({"MESSAGE": [200]})
    uases = [a, b]
    policy = {"pools": {"p": {"algorithm": "priority",
                              "passive": {"failures": 2, "down-for": "2s"},
                              "destinations": [dest(a, priority=1), dest(b, priority=2)]}},
              "rules": [{"name": "default", "route": "p"}]}
    proxy = sipedge_factory({}, policy)
    for _ in range(10):  # one at a time: each sees the state the last one left
        route_n(ua, proxy, uases, 1)
    assert counts(uases, "MESSAGE") == [2, 10], \
        "a must get exactly its two 503s, then be passed over while down"
    t_down = a.requests("MESSAGE")[1].time  # a little before the proxy marked it down

    got = route_until(ua, proxy, uases, lambda g: g[0] > 0, "a back after down-for",
                      timeout=8, n=2)
    assert time.monotonic() - t_down >= 1.5, "down ended long before down-for: 2s"
    assert route_n(ua, proxy, uases, 10) == [10, 0], got


# ----------------------------------------------------------- max-calls ----


def test_max_calls_caps_inflight_at_the_destination(sipedge_factory, uas_factory,
                                                    inflight_uas_factory, ua):
    # Destination `max-calls: 2` (INVITE transactions in flight, across
    # workers): round-robin over a (capped) and b (not), both answering
    # 200 after 0.4 s, 30 INVITEs with 6 at a time. A capped destination
    # is skipped, not failed: every call gets 200; a never holds more than
    # 2 at once (counted at the UAS: received, final not yet sent), b
    # holds the rest; a's slots are freed by its answers, so it takes
    # more than 2 calls in all.
    pol = {"INVITE": [100, (180, 0.05), (200, 0.4)]}
    a, b = inflight_uas_factory(pol), inflight_uas_factory(pol)
    policy = {"pools": {"p": {"destinations": [dest(a, **{"max-calls": 2}), dest(b)]}},
              "rules": [{"name": "default", "route": "p"}]}
    proxy = sipedge_factory({}, policy)
    n = 30
    res = invites(ua, proxy, n, window=6)
    all_ok(res, n)
    got = counts([a, b], "INVITE")
    assert sum(got) == n, got
    assert a.max_holding <= 2, f"a held {a.max_holding} INVITEs at once (max-calls 2)"
    assert a.max_holding == 2, f"a never reached its cap ({a.max_holding}): test too gentle"
    assert b.max_holding >= 3, f"b held at most {b.max_holding}: the rest did not go to b"
    assert got[0] > 2, f"a's slots were not given back: it took {got[0]} calls in all"
    # the caller may see the last 200 before the UAS thread, which sent
    # it, has counted it as sent: wait (bounded) for the UAS to catch up
    deadline = time.monotonic() + 3
    while (a.holding or b.holding) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert a.holding == 0 and b.holding == 0


def test_max_calls_single_destination_503_retry_after(sipedge_factory, inflight_uas_factory,
                                                      ua):
    # `max-calls: 2` on the pool's only destination, which rings without
    # answering: the 3rd concurrent INVITE gets 503 with Retry-After (no
    # destination left, docs/internals/pools.md "Caps"); a MESSAGE still
    # goes through (caps count INVITEs only); once a call is CANCELled
    # (§9: 487), its slot is free and the next INVITE reaches the UAS.
    a = inflight_uas_factory({"INVITE": [100, (180, 0.05)], "MESSAGE": [200]})
    policy = {"pools": {"p": {"destinations": [dest(a, **{"max-calls": 2})]}},
              "rules": [{"name": "default", "route": "p"}]}
    proxy = sipedge_factory({}, policy)

    def invite():
        inv = ua.request("INVITE", f"sip:bob@{R_HOST}", body=SDP)
        ua.send(inv, proxy.addr)
        return inv

    def cancel(inv):
        ua.send(ua.cancel_for(inv), proxy.addr)
        r = ua.recv_response(inv, final=True, timeout=5)
        ack(ua, proxy, inv, r)
        assert r.status == 487, r

    inv1, inv2 = invite(), invite()
    a.wait_for("INVITE", count=2, timeout=5)
    inv3 = invite()
    r3 = ua.recv_response(inv3, final=True, timeout=5)
    ack(ua, proxy, inv3, r3)
    assert r3.status == 503 and r3.get("Retry-After"), r3
    assert len(a.requests("INVITE")) == 2, "the 3rd INVITE reached the capped destination"

    msg = ua.request("MESSAGE", f"sip:bob@{R_HOST}")
    ua.send(msg, proxy.addr)
    assert ua.recv_response(msg, final=True, timeout=5).status == 200, \
        "a MESSAGE was refused by an INVITE cap"

    cancel(inv1)
    inv4 = invite()
    a.wait_for("INVITE", count=3, timeout=5)
    cancel(inv2)
    cancel(inv4)
    assert a.max_holding == 2, a.max_holding
    wait_until("a's INVITEs all ended", lambda: a.holding == 0, 5)


# ------------------------------------------------------------- max-cps ----


def test_max_cps_caps_new_invites_per_second(sipedge_factory, uas_factory, ua):
    # Destination `max-cps: 5` (new INVITEs per second, across workers):
    # `priority` makes a (capped) the first choice for every call, b the
    # next. A burst of 30 INVITEs: a takes 5 in each second the burst
    # touches and b the rest, every call 200. The cap counts per clock
    # second (docs/internals/pools.md "Caps"), so a burst that straddles
    # a second boundary may give a up to 5 on each side: the bound is
    # 5 x (seconds touched), 10 for a burst shorter than a second. A new
    # second gives a its 5 again. MESSAGEs are not capped: all go to a.
    cap = 5
    pol = {"INVITE": [100, (200, 0.01)], "MESSAGE": [200]}
    a, b = uas_factory(pol), uas_factory(pol)
    uases = [a, b]
    policy = {"pools": {"p": {"algorithm": "priority", "destinations": [
        dest(a, priority=1, **{"max-cps": cap}), dest(b, priority=2)]}},
        "rules": [{"name": "default", "route": "p"}]}
    proxy = sipedge_factory({}, policy)
    n = 30
    for burst in range(2):
        before = counts(uases, "INVITE")
        t0 = time.monotonic()
        res = invites(ua, proxy, n, window=n)
        all_ok(res, n)
        new = [u.requests("INVITE")[k:] for u, k in zip(uases, before)]
        got = [len(m) for m in new]
        assert sum(got) == n, got
        # the proxy counted them between the first send and the last
        # arrival at a UAS: at most ceil(span) + 1 clock seconds
        span = max(m.time for ms in new for m in ms) - t0
        bound = cap * (math.ceil(span) + 1)
        assert cap <= got[0] <= bound, (
            f"burst {burst}: a took {got[0]} of {n} INVITEs counted within {span:.3f} s "
            f"(max-cps {cap}: want {cap}..{bound}); b took {got[1]}")
        time.sleep(1.2)  # the next burst starts in a new second

    assert route_n(ua, proxy, uases, 20) == [20, 0], "max-cps capped MESSAGEs"


# ---------------------------------------------------------- slow-start ----


def test_slow_start_after_probe_up(sipedge_factory, uas_factory, ua):
    # Pool `slow-start: 10s`, `weighted`, two destinations of weight 1.
    # a stops answering probes and goes down; when it answers again it is
    # up with a weight ramping from 10 % to 100 % over 10 s (per mille,
    # docs/internals/pools.md "Slow start"). Right after, it gets far less
    # than half of the requests (expected share r / (1 + r) with r its
    # ramp, under 25 % in the first 2 s); once 10 s have passed, half.
    a = uas_factory({"OPTIONS": [200], "MESSAGE": [200]})
    b = uas_factory({"OPTIONS": [200], "MESSAGE": [200]})
    uases = [a, b]
    ramp_s = 10.0
    proxy = sipedge_factory({}, one_pool(uases, algorithm="weighted", probe=PROBE,
                                         **{"slow-start": "10s"}))
    a.wait_for("OPTIONS", timeout=5)
    got = route_n(ua, proxy, uases, 20)
    assert got == [10, 10], f"equal weights before any down: {got}"

    a.policy["OPTIONS"] = None
    route_until(ua, proxy, uases, lambda g: g[0] == 0, "a taken out by probes")
    n_opts = len(a.requests("OPTIONS"))
    t_flip = time.monotonic()  # a's up comes after this
    a.policy["OPTIONS"] = [200]
    # the first probe a answers brings it up (up-after 1)
    wait_until("a answered a probe", lambda: len(a.requests("OPTIONS")) > n_opts + 1, 3, 0.01)
    t_seen = a.requests("OPTIONS")[n_opts + 1].time  # answered 200: a is up by ~then

    n = 80
    got = route_n(ua, proxy, uases, n)
    elapsed = time.monotonic() - t_flip  # at least the time a has been up
    r = (100 + 900 * min(1.0, elapsed / ramp_s)) / 1000
    bound = r / (1 + r) + 0.12  # + ~3 sigma of a share over 80 draws
    assert bound < 0.5, f"{n} requests took {elapsed:.1f} s: too slow to see the ramp"
    assert got[0] / n <= bound, (
        f"a got {got[0]} of {n} within {elapsed:.2f} s of coming back (ramp {r:.0%}: "
        f"expected share {r / (1 + r):.0%}, allowed {bound:.0%})")
    assert got[0] > 0, f"a is back but got nothing: {got}"

    # bounded wait: the ramp ends 10 s after the up
    time.sleep(max(0.0, t_seen + ramp_s + 0.3 - time.monotonic()))
    got = route_n(ua, proxy, uases, 100)
    assert 40 <= got[0] <= 60, f"after slow start: {got} (want about half each)"


# -------------------------------------------------------------- reload ----


@pytest.fixture
def sipp_uas(tmp_path, free_udp_port):
    # rings 100 ms before its 200: at 1,000 calls/s some 100 INVITE
    # transactions are pending in the proxy at each reload
    port = free_udp_port()
    p = sipp_run.run_sipp_uas(port, workdir=tmp_path / "sipp-uas", timeout=120, ring_ms=100)
    p.hostport = f"127.0.0.1:{port}"
    yield p
    sipp_run.stop_process(p)


@pytest.mark.load
def test_reload_under_sipp_load_1000_cps(sipedge_factory, sipp_uas, tmp_path):
    # SIGHUP reload under load at the rate: 5,000 SIPp calls at
    # 1,000 calls/s (the UAS rings 100 ms, so ~100 INVITEs are pending at
    # any time), a reload about every 0.7 s while they run, each moving
    # the rule to a new pool of the same UAS -> 0 failed calls:
    # transactions in flight finish on the generation they started on.
    calls, rate = 5000, 1000

    def pol(name):
        return {"pools": {name: {"destinations": [{"uri": f"sip:{sipp_uas.hostport}"}]}},
                "rules": [{"name": f"r-{name}", "route": name}]}

    proxy = sipedge_factory({"workers": 2, "record_route": True}, pol("g0"))
    run = sipp_run.start_sipp_uac(proxy.addr, calls=calls, rate=rate, timeout=60,
                                  workdir=tmp_path / "sipp-uac")
    during = []  # SIPp's calls created (its last per-second row) at each reload
    try:
        wait_until("SIPp started placing calls",
                   lambda: run.calls_created() > 0 or run.popen.poll() is not None, 10)
        for k in range(1, 11):
            time.sleep(0.4)
            created = run.calls_created()
            if created >= calls or run.popen.poll() is not None:
                break
            reload_policy(proxy, pol(f"g{k}"))  # returns ~0.3 s after the reload
            if run.popen.poll() is None:
                during.append(created)
    except BaseException:
        run.stop()
        raise
    r = run.wait()
    reloads = len(re.findall(r"reloaded: generation", proxy.log_text()))
    assert len(during) >= 3 and reloads >= len(during), \
        f"only {len(during)} reloads during the run (calls created then: {during})"
    assert r.ok and r.failed == 0 and r.successful == calls, \
        f"reloads at calls created {during}\n{r.summary()}"
    assert proxy.alive()
