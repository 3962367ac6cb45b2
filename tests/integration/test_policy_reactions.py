"""
Policy event reactions end to end (docs/policy.md, "on"): provisional,
success and failure responses (relay with rewrites, drop, reply, forced
failover, no failover), INVITE timeout (Timer C), on-target (abort, skip,
blacklist, by address/port), on-error by internal error id, the rule's
reactions before the pool's, the blacklist of non-pool targets, and the
internal error ids and reaction counts in `sipedgectl stats`.

Real binary, generated configs, Python UAs/UASes, loopback only. Waits
are bounded polls; no timing assertions beyond what a timer guarantees.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

import sip

SDP = ("v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
       "t=0 0\r\nm=audio 40000 RTP/AVP 0\r\n")
R_HOST = "127.0.0.2:9"  # nobody serves it: a misrouted request stays on loopback


def dest(u, **kw):
    d = {"uri": f"sip:{u.hostport}"}
    d.update(kw)
    return d


def two_dest(a, b, rule_on=None, pool_on=None, failover=None):
    pool = {"algorithm": "priority",
            "destinations": [dest(a, priority=1), dest(b, priority=2)]}
    if failover is not None:
        pool["failover"] = failover
    if pool_on is not None:
        pool["on"] = pool_on
    rule = {"name": "default", "route": "p"}
    if rule_on is not None:
        rule["on"] = rule_on
    return {"pools": {"p": pool}, "rules": [rule]}


def invite(ua, proxy, user="bob"):
    inv = ua.request("INVITE", f"sip:{user}@{R_HOST}", body=SDP)
    ua.send(inv, proxy.addr)
    return inv


def final(ua, inv, timeout=8.0):
    return ua.recv_response(inv, final=True, timeout=timeout)


def close(ua, proxy, inv, resp):
    """ACK the final (a non-2xx hop by hop, a 2xx along its Route set)."""
    ack = ua.ack_for(inv, resp)
    ua.send(ack, proxy.addr if resp.status >= 300 else sip.next_hop(ack))


def call_lands_on(ua, proxy, there, not_there):
    """One INVITE answered 200 by `there`; `not_there` never saw it."""
    inv = invite(ua, proxy)
    resp = final(ua, inv)
    assert resp.status == 200, resp
    close(ua, proxy, inv, resp)
    there.wait_for("INVITE")
    assert not not_there.requests("INVITE")


def stats(sipedgectl_bin, proxy):
    r = subprocess.run([str(sipedgectl_bin), "-c", str(proxy.config_path), "--json", "stats"],
                       capture_output=True, text=True, timeout=15)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


# ------------------------------------------------------------ responses ----


def test_failure_relay_stops_failover(sipedge_factory, uas_factory, ua):
    # on: failure relay: a 503 that failover would retry goes upstream
    # as it is, and the next destination is never tried.
    a = uas_factory({"INVITE": [100, 503]})
    b = uas_factory({"INVITE": [100, (200, 0.05)], "BYE": [200]})
    proxy = sipedge_factory({}, two_dest(a, b, rule_on={
        "failure": [{"codes": [503], "relay": True}]}))
    inv = invite(ua, proxy)
    resp = final(ua, inv)
    assert resp.status == 503, resp  # not turned into 500: relayed as is
    close(ua, proxy, inv, resp)
    time.sleep(0.5)
    assert not b.requests("INVITE"), "failover happened despite relay"


def test_failure_failover_forced_for_unlisted_code(sipedge_factory, uas_factory, ua):
    # on: failure failover: a 404 (not in failover.codes) still moves the
    # call to the next destination.
    a = uas_factory({"INVITE": [100, 404]})
    b = uas_factory({"INVITE": [100, (200, 0.05)], "BYE": [200]})
    proxy = sipedge_factory({}, two_dest(a, b, rule_on={
        "failure": [{"codes": [404], "failover": True}]}))
    inv = invite(ua, proxy)
    resp = final(ua, inv)
    assert resp.status == 200, resp
    close(ua, proxy, inv, resp)
    b.wait_for("INVITE")


def test_failure_reply_replaces_answer(sipedge_factory, uas_factory, ua):
    # on: failure reply: the caller gets the policy's code, reason and
    # header instead of the destination's 486.
    a = uas_factory({"INVITE": [100, 486]})
    b = uas_factory({"INVITE": [100, (200, 0.05)]})
    proxy = sipedge_factory({}, two_dest(a, b, rule_on={
        "failure": [{"codes": ["4xx"],
                     "reply": {"code": 600, "reason": "Busy Everywhere",
                               "headers": {"X-Why": "carrier-busy"}}}]}))
    inv = invite(ua, proxy)
    resp = final(ua, inv)
    assert (resp.status, resp.reason) == (600, "Busy Everywhere"), resp
    assert resp.get("X-Why") == "carrier-busy", resp
    close(ua, proxy, inv, resp)
    time.sleep(0.3)
    assert not b.requests("INVITE")


def test_provisional_rewrite_and_drop(sipedge_factory, uas_factory, ua):
    # on: provisional: 183 relayed as 180 Ringing with a header removed
    # and one added; 182 dropped (never reaches the caller).
    a = uas_factory({"INVITE": [100, (182, 0.02), (183, 0.05, {"P-Early-Media": "supported"}),
                                (200, 0.1)], "BYE": [200]})
    proxy = sipedge_factory({}, {
        "pools": {"p": {"destinations": [dest(a)]}},
        "rules": [{"name": "default", "route": "p", "on": {"provisional": [
            {"codes": [182], "drop": True},
            {"codes": [183], "relay": {"code": 180, "reason": "Ringing"},
             "headers": {"remove": ["P-Early-Media"], "add": {"X-Early": "rewritten"}}},
        ]}}]})
    inv = invite(ua, proxy)
    seen = []
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        r = ua.recv_response(inv, timeout=5)
        seen.append(r)
        if r.status >= 200:
            break
    codes = [r.status for r in seen]
    assert 182 not in codes and 183 not in codes, codes
    ringing = [r for r in seen if r.status == 180]
    assert ringing, codes
    assert ringing[0].reason == "Ringing"
    assert ringing[0].get("P-Early-Media") is None
    assert ringing[0].get("X-Early") == "rewritten"
    assert seen[-1].status == 200
    close(ua, proxy, inv, seen[-1])


def test_success_header_edit_keeps_dialog(sipedge_factory, uas_factory, ua):
    # on: success with header edits: the 200 carries the added header and
    # the call completes (ACK and BYE along the Route set).
    a = uas_factory({"INVITE": [100, (200, 0.05)], "BYE": [200]})
    proxy = sipedge_factory({"record_route": True}, {
        "pools": {"p": {"destinations": [dest(a)]}},
        "rules": [{"name": "default", "route": "p",
                   "on": {"success": [{"headers": {"add": {"X-Carrier": "a"}}}]}}]})
    inv = invite(ua, proxy)
    resp = final(ua, inv)
    assert resp.status == 200 and resp.get("X-Carrier") == "a", resp
    close(ua, proxy, inv, resp)
    a.wait_for("ACK")


def test_success_retransmission_edited_counted_once(sipedge_factory, uas_factory, ua,
                                                   sipedgectl_bin):
    # A 2xx retransmitted by the UAS (RFC 3261 §13.3.1.4: the ACK is held
    # back here) goes up edited as the first was, but the success
    # reaction is counted (and logged, blacklisted...) once.
    a = uas_factory({"INVITE": [100, (200, 0.05)], "BYE": [200]}, retransmit_2xx=True,
                    t1=0.1)
    proxy = sipedge_factory({}, {
        "pools": {"p": {"destinations": [dest(a)]}},
        "rules": [{"name": "default", "route": "p",
                   "on": {"success": [{"headers": {"add": {"X-Carrier": "a"}}}]}}]})
    inv = invite(ua, proxy)
    resp = final(ua, inv)
    assert resp.get("X-Carrier") == "a", resp
    again = ua.recv_response(inv, final=True, timeout=5)  # a's retransmission, relayed
    assert again.status == 200 and again.get("X-Carrier") == "a", again
    close(ua, proxy, inv, resp)
    s = stats(sipedgectl_bin, proxy)
    assert s["reactions"]["success"] == 1, s["reactions"]


def test_rule_reaction_before_pool_reaction(sipedge_factory, uas_factory, ua):
    # A rule's reactions are tried before its pool's: the rule relays the
    # 503, the pool would have failed over.
    a = uas_factory({"INVITE": [100, 503]})
    b = uas_factory({"INVITE": [100, (200, 0.05)], "BYE": [200]})
    proxy = sipedge_factory({}, two_dest(
        a, b, rule_on={"failure": [{"codes": [503], "relay": True}]},
        pool_on={"failure": [{"codes": [503], "failover": True}]}))
    inv = invite(ua, proxy)
    resp = final(ua, inv)
    assert resp.status == 503, resp
    close(ua, proxy, inv, resp)
    # the pool's reaction applies where the rule has none
    proxy2 = sipedge_factory({}, two_dest(
        a, b, pool_on={"failure": [{"codes": [503], "reply": {"code": 480}}]}))
    inv = invite(ua, proxy2)
    resp = final(ua, inv)
    assert resp.status == 480, resp
    close(ua, proxy2, inv, resp)


# --------------------------------------------------------- invite timeout ----


@pytest.mark.parametrize("reaction,want", [
    ({"failover": True}, 200),
    ({"reply": {"code": 480, "reason": "No Answer"}}, 480),
    (None, 408),
], ids=["failover", "reply", "default-408"])
def test_invite_timeout(sipedge_factory, uas_factory, ua, reaction, want):
    # on: invite-timeout (RFC 3261 §16.8 Timer C, 1 s here): the first
    # destination rings and never answers; the reaction tries the next
    # one, answers otherwise, or by default 408 INVITE Timeout goes up.
    a = uas_factory({"INVITE": [100, 180], "CANCEL": [200]})
    b = uas_factory({"INVITE": [100, (200, 0.05)], "BYE": [200]})
    on = {"invite-timeout": [reaction]} if reaction else None
    proxy = sipedge_factory({"timers": {"timer_c": "1s"}}, two_dest(a, b, rule_on=on),
                            stop_timeout=45)
    inv = invite(ua, proxy)
    resp = final(ua, inv, timeout=10)
    assert resp.status == want, resp
    if want == 408:
        assert resp.reason == "INVITE Timeout"
    close(ua, proxy, inv, resp)
    a.wait_for("CANCEL", timeout=5)  # §16.8: the ringing branch is cancelled


def test_failure_relay_does_not_wait_for_cancelled_try(sipedge_factory, uas_factory, ua):
    # invite-timeout failover leaves the first try cancelled but pending
    # (its UAS never sends the 487); the second try's 486 relayed with a
    # new reason goes up at once, rewritten, not when the first try's
    # transaction times out (RFC 3261 §16.7 step 10: that try stays
    # cancelled).
    a = uas_factory({"INVITE": [100, 180], "CANCEL": [200]})
    b = uas_factory({"INVITE": [100, 486]})
    proxy = sipedge_factory({"timers": {"timer_c": "1s"}}, two_dest(a, b, rule_on={
        "invite-timeout": [{"failover": True}],
        "failure": [{"codes": [486], "relay": {"reason": "Busy Elsewhere"}}]}),
                            stop_timeout=45)
    inv = invite(ua, proxy)
    t0 = time.monotonic()
    resp = final(ua, inv, timeout=10)
    assert (resp.status, resp.reason) == (486, "Busy Elsewhere"), resp
    assert time.monotonic() - t0 < 8, "the relay waited for the cancelled try"
    close(ua, proxy, inv, resp)
    a.wait_for("CANCEL", timeout=5)


# ------------------------------------------------------------------ target ----


def test_target_abort_by_address(sipedge_factory, uas_factory, ua, sipedgectl_bin):
    # on: target abort: a destination whose address and port match is not
    # used; routing stops with 403 Destination Aborted (DESIGN.md), counted
    # as the internal error destination_aborted.
    a = uas_factory({"INVITE": [100, (200, 0.05)]})
    b = uas_factory({"INVITE": [100, (200, 0.05)]})
    proxy = sipedge_factory({}, two_dest(a, b, rule_on={
        "target": [{"ip": ["127.0.0.0/8"], "port": a.port, "abort": True}]}))
    inv = invite(ua, proxy)
    resp = final(ua, inv)
    assert (resp.status, resp.reason) == (403, "Destination Aborted"), resp
    close(ua, proxy, inv, resp)
    time.sleep(0.3)
    assert not a.requests("INVITE") and not b.requests("INVITE")
    s = stats(sipedgectl_bin, proxy)
    assert s["internal_errors"]["destination_aborted"] == 1, s["internal_errors"]
    assert s["reactions"]["target"] == 1, s["reactions"]


def test_target_skip_and_blacklist_then_expiry(sipedge_factory, uas_factory, ua):
    # on: target skip + blacklist: the first destination is passed over and
    # blacklisted for 1 s; a rule routing straight to it (route: URI) is
    # answered with the blacklist's code and reason until it expires.
    a = uas_factory({"INVITE": [100, (200, 0.05)], "MESSAGE": [200], "BYE": [200]})
    b = uas_factory({"INVITE": [100, (200, 0.05)], "BYE": [200]})
    policy = two_dest(a, b, rule_on={"target": [
        {"port": a.port, "skip": True,
         "blacklist": {"seconds": 1, "code": 480, "reason": "Parked"}}]})
    policy["rules"].insert(0, {"name": "direct", "match": {"method": "MESSAGE"},
                               "route": f"sip:{a.hostport}"})
    proxy = sipedge_factory({}, policy)
    call_lands_on(ua, proxy, b, a)
    msg = ua.request("MESSAGE", f"sip:bob@{R_HOST}")
    ua.send(msg, proxy.addr)
    r = final(ua, msg)
    assert (r.status, r.reason) == (480, "Parked"), r
    assert not a.requests("MESSAGE")
    deadline = time.monotonic() + 6
    while True:  # the entry expires after 1 s
        time.sleep(0.3)
        msg = ua.request("MESSAGE", f"sip:bob@{R_HOST}")
        ua.send(msg, proxy.addr)
        r = final(ua, msg)
        if r.status == 200:
            break
        assert r.status == 480 and time.monotonic() < deadline, r
    assert a.requests("MESSAGE")


def test_target_skip_with_one_try_uses_next_destination(sipedge_factory, uas_factory, ua):
    # A skipped (or capped, or blacklisted) destination is not a try: with
    # failover.max-tries 1 the call still goes to the next destination.
    a = uas_factory({"INVITE": [100, (200, 0.05)], "BYE": [200]})
    b = uas_factory({"INVITE": [100, (200, 0.05)], "BYE": [200]})
    proxy = sipedge_factory({}, two_dest(a, b, failover={"max-tries": 1}, rule_on={
        "target": [{"port": a.port, "skip": True}]}))
    call_lands_on(ua, proxy, b, a)


def test_target_skip_blacklist_reason_without_code(sipedge_factory, uas_factory, ua):
    # The only destination skipped and blacklisted with a reason but no
    # code: the caller gets 403 with that reason, as the entry answers.
    a = uas_factory({"INVITE": [100, (200, 0.05)]})
    proxy = sipedge_factory({}, {
        "pools": {"p": {"destinations": [dest(a)]}},
        "rules": [{"name": "default", "route": "p", "on": {"target": [
            {"skip": True, "blacklist": {"seconds": 30, "reason": "Carrier Parked"}}]}}]})
    inv = invite(ua, proxy)
    resp = final(ua, inv)
    assert (resp.status, resp.reason) == (403, "Carrier Parked"), resp
    close(ua, proxy, inv, resp)
    assert not a.requests("INVITE")


# ------------------------------------------------------------------- error ----


def test_error_client_timeout_reply_and_counted(sipedge_factory, uas_factory, ua,
                                                sipedgectl_bin):
    # on: error [client_timeout] reply: a silent destination (Timer B =
    # 64*T1 = 1.28 s with T1 = 20 ms) is answered with the policy's 504
    # instead of 408 Client Timeout; the id is counted in stats.
    silent = uas_factory({"INVITE": None})
    proxy = sipedge_factory({"timers": {"t1": "20ms", "t2": "40ms"}}, {
        "pools": {"p": {"destinations": [dest(silent)]}},
        "rules": [{"name": "default", "route": "p", "on": {"error": [
            {"ids": ["client_timeout"], "reply": {"code": 504, "reason": "Carrier Silent"}}]}}]})
    inv = invite(ua, proxy)
    resp = final(ua, inv, timeout=10)
    assert (resp.status, resp.reason) == (504, "Carrier Silent"), resp
    close(ua, proxy, inv, resp)
    s = stats(sipedgectl_bin, proxy)
    assert s["internal_errors"]["client_timeout"] == 1, s["internal_errors"]
    assert s["reactions"]["error"] == 1, s["reactions"]


def test_error_failover_when_plan_says_no(sipedge_factory, uas_factory, ua):
    # on: error [client_timeout] failover: the pool says on-timeout: false,
    # the reaction moves the call to the second destination anyway.
    silent = uas_factory({"INVITE": None})
    b = uas_factory({"INVITE": [100, (200, 0.05)], "BYE": [200]})
    proxy = sipedge_factory({"timers": {"t1": "20ms", "t2": "40ms"}}, two_dest(
        silent, b, failover={"on-timeout": False},
        rule_on={"error": [{"ids": ["client_timeout"], "failover": True}]}))
    inv = invite(ua, proxy)
    resp = final(ua, inv, timeout=10)
    assert resp.status == 200, resp
    close(ua, proxy, inv, resp)


def test_error_on_unusable_uri_target(sipedge_factory, ua, sipedgectl_bin):
    # on: error [no_dns] reply: `forward: request-uri` to a host name
    # (DNS is not there yet: internal error no_dns, 478) answered as the
    # policy says; without the reaction the 478 of DESIGN.md goes up.
    proxy = sipedge_factory({}, {"rules": [
        {"name": "fwd", "match": {"ruri-user": "react"}, "forward": "request-uri",
         "on": {"error": [{"ids": ["no_dns"], "reply": {"code": 503, "reason": "No Route"}}]}},
        {"name": "plain", "forward": "request-uri"}]})
    msg = ua.request("MESSAGE", "sip:react@example.invalid")
    ua.send(msg, proxy.addr)
    r = final(ua, msg)
    assert (r.status, r.reason) == (503, "No Route"), r
    msg = ua.request("MESSAGE", "sip:other@example.invalid")
    ua.send(msg, proxy.addr)
    r = final(ua, msg)
    assert (r.status, r.reason) == (478, "Destination Requires Unsupported DNS Resolution"), r
    s = stats(sipedgectl_bin, proxy)
    assert s["internal_errors"]["no_dns"] == 2, s["internal_errors"]
