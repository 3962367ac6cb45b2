"""
First behaviour tests of sipedge as a proxy (RFC 3261 §16), end to end:
the real binary with a generated config, a Python UA as the caller and a
ScriptedUAS (or SIPp) behind it, all on loopback.

Each test names the RFC 3261 section it checks. They skip only when the
binary does not exist.
"""

import random
import re
import signal
import time

import pytest

import sip
import sipp_run

SDP = ("v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
       "t=0 0\r\nm=audio 40000 RTP/AVP 0\r\n")
# Requests are routed by policy, not by their Request-URI; it names a
# loopback address nobody serves, so that even a misrouted request (or a
# DNS lookup) never leaves loopback.
R_URI = "sip:bob@127.0.0.2:9"


def pool_policy(*uases, pool="uas"):
    dests = [{"uri": f"sip:{u.hostport}"} for u in uases]
    return {"pools": {pool: {"destinations": dests}},
            "rules": [{"name": "default", "route": pool}]}


def is_proxy_via(via: sip.Via, proxy) -> bool:
    host, port = proxy.addr
    return sip.same_host(via.host, host) and (via.port or 5060) == port


def is_proxy_uri(uri: str, proxy) -> bool:
    u = sip.parse_uri(uri)
    host, port = proxy.addr
    return sip.same_host(u.host, host) and (u.port or 5060) == port


@pytest.fixture
def proxy(sipedge_factory, uas):
    """sipedge, 2 workers, record_route on, routing everything to `uas`."""
    return sipedge_factory({"record_route": True}, pool_policy(uas))


def final_response(ua, req, timeout=3.0):
    return ua.recv_response(req, final=True, timeout=timeout)


# ------------------------------------------------------------------ routing ----


def test_options_routed_to_pool_and_200_relayed(proxy, uas, ua):
    # RFC 3261 §16.6 steps 3 (Max-Forwards -1) and 8 (push Via), §16.7
    # step 3 (pop own Via) and §18.2.2 (response sent back from the
    # address the request came to).
    req = ua.request("OPTIONS", R_URI)
    ua.send(req, proxy.addr)
    resp = final_response(ua, req)
    assert resp.status == 200, resp

    got = uas.wait_for("OPTIONS")[0]
    vias = got.vias
    assert len(vias) == 2, got
    assert is_proxy_via(vias[0], proxy), f"top Via {vias[0]} is not the proxy {proxy.addr}"
    assert vias[0].branch.startswith(sip.MAGIC_COOKIE) and vias[0].branch != req.branch
    assert vias[1].branch == req.branch and vias[1].sent_by == (ua.host, ua.port)
    assert got.max_forwards == 69
    assert got.ruri == R_URI and got.call_id == req.call_id and got["CSeq"] == req["CSeq"]

    assert [v.branch for v in resp.vias] == [req.branch], resp
    assert resp.source == proxy.addr
    assert resp.call_id == req.call_id and resp.to_tag == uas.sent[-1].to_tag


def test_long_advertised_name_in_via_and_record_route(sipedge_factory, uas_factory, ua):
    # `advertise` may be a host name of up to 253 characters: Via and
    # Record-Route carry it whole, and the response, whose top Via names
    # it, is still recognised as ours and relayed (RFC 3261 §16.7 step 3).
    name = ".".join(["edge-%02d" % i for i in range(30)]) + ".example.net"  # 251 chars
    assert len(name) > 240
    uas = uas_factory({"INVITE": [100, (200, 0.05)], "BYE": [200]}, reply_to="source")
    proxy = sipedge_factory({"record_route": True, "advertise": f"{name}:5999"},
                            pool_policy(uas))
    req = ua.request("INVITE", R_URI)
    ua.send(req, proxy.addr)
    resp = final_response(ua, req)
    assert resp.status == 200, resp
    got = uas.wait_for("INVITE")[0]
    assert got.vias[0].sent_by == (name, 5999), got.vias[0]
    assert f"<sip:{name}:5999;lr>" in got.get("Record-Route"), got.get("Record-Route")
    ua.send(ua.ack_for(req, resp), uas.addr)


def test_rport_filled_in(proxy, uas, ua):
    # RFC 3581 §4: a server receiving a request whose top Via has an empty
    # rport MUST set it to the source port (and add received when the
    # source address differs from sent-by).
    req = ua.request("OPTIONS", R_URI)
    # sent-by differs from the real source (loopback only, nobody there)
    req.set("Via", f"SIP/2.0/UDP 127.0.0.2:5999;branch={sip.new_branch()};rport")
    ua.send(req, proxy.addr)
    resp = final_response(ua, req)  # the response follows received/rport
    assert resp.status == 200, resp
    client_via = uas.wait_for("OPTIONS")[0].vias[1]
    assert client_via.params.get("rport") == str(ua.port), client_via
    assert client_via.params.get("received") == ua.host, client_via
    assert resp.vias[0].params.get("rport") == str(ua.port), resp


def test_options_over_ipv6(sipedge_factory, uas_factory, ua_factory, free_udp_port):
    # RFC 3261 §16.6 over IPv6 (RFC 5954 addresses in Via/URIs).
    uas = uas_factory(host="::1")
    proxy = sipedge_factory({"listen": [f"udp://[::1]:{free_udp_port('::1')}"]}, pool_policy(uas))
    ua = ua_factory("::1")
    req = ua.request("OPTIONS", "sip:bob@[::1]:9")
    ua.send(req, proxy.addr)
    assert final_response(ua, req).status == 200
    got = uas.wait_for("OPTIONS")[0]
    assert len(got.vias) == 2 and is_proxy_via(got.vias[0], proxy), got
    assert got.max_forwards == 69


def test_invite_dialog_record_routed(proxy, uas, ua):
    # RFC 3261 §16.6 step 4 (Record-Route), §12.1.1/§12.1.2 (route set),
    # §13.2.2.4 (ACK for 2xx), §16.4 (proxy removes its own Route entry),
    # §16.12 (in-dialog requests follow the Route set).
    inv = ua.request("INVITE", R_URI, body=SDP)
    ua.send(inv, proxy.addr)
    ua.recv_response(inv, code=180, timeout=3)
    ok = ua.recv_response(inv, code=200, timeout=3)

    uinv = uas.wait_for("INVITE")[0]
    rr = uinv.get_all("Record-Route")
    assert rr, f"no Record-Route at the UAS: {uinv}"
    for entry in rr:
        uri = sip.parse_addr(entry).uri
        assert is_proxy_uri(uri, proxy) and "lr" in sip.parse_uri(uri).params, entry
    assert ok.get_all("Record-Route") == rr, "Record-Route changed on the way back"
    assert len(uinv.vias) == 2 and uinv.max_forwards == 69

    ack = ua.ack_for(inv, ok)
    hop = sip.next_hop(ack)
    assert sip.same_host(hop[0], proxy.addr[0]) and hop[1] == proxy.addr[1], ack
    ua.send(ack, hop)
    uack = uas.wait_for("ACK")[0]
    assert uack.ruri == uas.uri(), uack
    assert not uack.get_all("Route"), f"proxy left Route in the ACK: {uack}"
    assert len(uack.vias) == 2 and is_proxy_via(uack.vias[0], proxy)
    assert uack.branch != uinv.branch  # a new transaction, not the INVITE's

    bye = ua.bye_for(inv, ok)
    ua.send(bye, sip.next_hop(bye))
    assert final_response(ua, bye).status == 200
    ubye = uas.wait_for("BYE")[0]
    assert ubye.ruri == uas.uri() and not ubye.get_all("Route"), ubye
    assert len(ubye.vias) == 2 and is_proxy_via(ubye.vias[0], proxy)
    assert ubye.to_tag == ok.to_tag and ubye.from_tag == inv.from_tag


def test_forward_request_uri(sipedge_factory, uas_factory, ua):
    # RFC 3261 §16.5/§16.6 step 6: the target is the Request-URI itself
    # (`forward: request-uri`), not a pool destination.
    decoy = uas_factory()
    target = uas_factory()
    policy = pool_policy(decoy, pool="decoy")
    policy["rules"] = [{"name": "direct", "forward": "request-uri"}]
    proxy = sipedge_factory({}, policy)
    req = ua.request("OPTIONS", target.uri("carol"))
    ua.send(req, proxy.addr)
    assert final_response(ua, req).status == 200
    got = target.wait_for("OPTIONS")[0]
    assert got.ruri == target.uri("carol") and len(got.vias) == 2
    decoy.assert_nothing_received()


# --------------------------------------------------------- request checks ----


def test_max_forwards_zero_gets_483(proxy, uas, ua):
    # RFC 3261 §16.3 step 3: Max-Forwards 0 on a non-OPTIONS request → 483.
    inv = ua.request("INVITE", R_URI, max_forwards=0, body=SDP)
    ua.send(inv, proxy.addr)
    resp = final_response(ua, inv)
    assert resp.status == 483, resp
    assert [v.branch for v in resp.vias] == [inv.branch]
    ua.send(ua.ack_for(inv, resp), proxy.addr)
    uas.assert_nothing_received(wait=0.5)


def test_missing_max_forwards_forwarded_with_70(proxy, uas, ua):
    # RFC 3261 §16.6 step 3: a copy without Max-Forwards gets one, 70.
    req = ua.request("OPTIONS", R_URI, max_forwards=None)
    assert "Max-Forwards" not in req
    ua.send(req, proxy.addr)
    assert final_response(ua, req).status == 200
    got = uas.wait_for("OPTIONS")[0]
    assert got.count("Max-Forwards") == 1 and got.max_forwards == 70, got


@pytest.mark.parametrize("cseq", ["one OPTIONS", "1 INVITE", None],
                         ids=["not-a-number", "method-mismatch", "missing"])
def test_bad_cseq_gets_400_naming_cseq(proxy, uas, ua, cseq):
    # RFC 3261 §16.3 step 1 (reasonable syntax) and §8.1.1.5 (CSeq); the
    # 400 reason phrase names the faulty header (§21.4.1, DESIGN).
    req = ua.request("OPTIONS", R_URI)
    if cseq is None:
        req.remove("CSeq")
    else:
        req.set("CSeq", cseq)
    ua.send(req, proxy.addr)
    resp = ua.expect(lambda m: m.is_response and m.call_id == req.call_id, timeout=3,
                     what="a response to the bad request")
    assert resp.status == 400, resp
    assert "cseq" in resp.reason.lower(), f"reason {resp.reason!r} does not name CSeq"
    assert [v.branch for v in resp.vias] == [req.branch]
    uas.assert_nothing_received(wait=0.3)


def test_garbage_datagrams_dropped_and_proxy_keeps_working(proxy, uas, ua):
    # RFC 3261 §16.3 step 1 / §18.2.1: what is not a request with a Via
    # cannot be answered; it is dropped, and nothing else is disturbed.
    workers_before = proxy.worker_pids()
    rnd = random.Random(3261)
    garbage = [
        b"",
        b"\r\n\r\n",
        b"hello world",
        b"\x00\x01\x02\xff\xfe garbage \x00" * 20,
        bytes(rnd.getrandbits(8) for _ in range(1400)),
        b"SIP/2.0 200 OK\r\n\r\n",                      # a response without Via
        b"SIP/2.0 200 OK\r\nVia: \r\n\r\n",
        b"SIP/2.0 99999 OK\r\nContent-Length: -1\r\n\r\n",
        # a stray response (no transaction; top Via not ours: §18.1.2 discard)
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKnone\r\n"
        b"CSeq: 1 OPTIONS\r\nCall-ID: x\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n\r\n",
    ]
    for g in garbage:
        ua.send(g, proxy.addr)
    ua.expect_nothing(1.0)
    uas.assert_nothing_received()

    req = ua.request("OPTIONS", R_URI)
    ua.send(req, proxy.addr)
    assert final_response(ua, req).status == 200
    assert [m.method for m in uas.requests()] == ["OPTIONS"]
    assert proxy.alive() and proxy.worker_pids() == workers_before, proxy.log_tail()


def test_proxy_require_unknown_gets_420(proxy, uas, ua):
    # RFC 3261 §16.3 step 5: an unsupported Proxy-Require option → 420
    # with Unsupported listing it.
    req = ua.request("OPTIONS", R_URI, headers={"Proxy-Require": "foo"})
    ua.send(req, proxy.addr)
    resp = final_response(ua, req)
    assert resp.status == 420, resp
    assert "foo" in [v.strip() for v in resp.get_all("Unsupported")], resp
    uas.assert_nothing_received(wait=0.3)


def test_loop_detected_gets_482(sipedge_factory, ua):
    # RFC 3261 §16.3 step 4: the proxy forwards to the Request-URI, which
    # is the proxy itself; the request comes back carrying the proxy's own
    # Via with the same branch computation (nothing changed: R-URI, Route,
    # To, From, Call-ID, CSeq) — a loop, not a spiral → 482.
    proxy = sipedge_factory({}, {"rules": [{"name": "direct", "forward": "request-uri"}]})
    inv = ua.request("INVITE", f"sip:loop@{proxy.hostport}", body=SDP)
    ua.send(inv, proxy.addr)
    resp = final_response(ua, inv, timeout=5)
    assert resp.status == 482, resp
    ua.send(ua.ack_for(inv, resp), proxy.addr)


# -------------------------------------------------------------- INVITE life ----


def test_cancel_pending_invite(sipedge_factory, uas_factory, ua):
    # RFC 3261 §16.10 (proxy answers CANCEL 200 and cancels its pending
    # client transactions), §9.1 (CANCEL has the INVITE's branch),
    # §17.1.1.3 (proxy ACKs the 487), §16.7 (487 forwarded upstream).
    uas = uas_factory({"INVITE": [100, 180], "BYE": [200]})
    proxy = sipedge_factory({}, pool_policy(uas))
    inv = ua.request("INVITE", R_URI, body=SDP)
    ua.send(inv, proxy.addr)
    ua.recv_response(inv, code=180, timeout=3)
    cancel = ua.cancel_for(inv)
    ua.send(cancel, proxy.addr)
    assert final_response(ua, cancel).status == 200
    resp = final_response(ua, inv)
    assert resp.status == 487, resp
    ua.send(ua.ack_for(inv, resp), proxy.addr)

    uinv = uas.wait_for("INVITE")[0]
    ucancel = uas.wait_for("CANCEL")[0]
    assert ucancel.branch == uinv.branch, "CANCEL must match the INVITE's client transaction"
    assert ucancel.ruri == uinv.ruri and ucancel.cseq == (uinv.cseq[0], "CANCEL")
    uack = uas.wait_for("ACK", timeout=3)[0]
    assert uack.branch == uinv.branch, "the proxy's ACK for 487 reuses the INVITE branch"


def test_unanswered_invite_gets_408_after_timer_c(sipedge_factory, uas_factory, ua):
    # RFC 3261 §16.6 step 11 and §16.8: Timer C (5 s here) fires with no
    # provisional from downstream → the proxy answers 408 upstream.
    uas = uas_factory({"INVITE": None})
    # Graceful stop may wait for the downstream INVITE's Timer B (32 s).
    proxy = sipedge_factory({"timers": {"timer_c": "5s"}}, pool_policy(uas), stop_timeout=45)
    inv = ua.request("INVITE", R_URI, body=SDP)
    t0 = time.monotonic()
    ua.send(inv, proxy.addr)
    resp = final_response(ua, inv, timeout=12)
    elapsed = time.monotonic() - t0
    assert resp.status == 408, resp
    assert 4.5 <= elapsed <= 9.0, f"408 after {elapsed:.2f}s, Timer C is 5s"
    ua.send(ua.ack_for(inv, resp), proxy.addr)
    assert uas.wait_for("INVITE")  # it was forwarded, just never answered


# ---------------------------------------------------------------- lifecycle ----


def test_sigterm_on_idle_proxy_exits_zero(sipedge_factory, uas):
    # The daemon contract: foreground until SIGTERM, then a clean exit.
    proxy = sipedge_factory({}, pool_policy(uas))
    workers = set(proxy.worker_pids(alive_only=True).values())
    assert len(workers) == 2, proxy.log_tail()
    rc = proxy.stop(timeout=5)
    assert proxy.stop_problem is None, proxy.stop_problem
    assert rc == 0 and proxy.leftovers == [], proxy.describe()
    assert not (workers & proxy.session_pids())


# --------------------------------------------------------------- sipedge -t ----

POLICY_UNDEFINED_POOL = """\
pools:
  uas:
    destinations:
      - uri: sip:127.0.0.1:5080
rules:
  - name: default
    route: nosuch
"""


def test_check_reports_undefined_pool_with_position(run_check):
    # `sipedge -t`: every error as file:line:col (DESIGN, nginx -t style).
    good = run_check({}, POLICY_UNDEFINED_POOL.replace("nosuch", "uas"))
    assert good.returncode == 0, good.output
    r = run_check({}, POLICY_UNDEFINED_POOL)
    assert r.returncode != 0, r.output
    found = [m for m in re.finditer(r"policy\.yaml:(\d+):(\d+):([^\n]*)", r.output)
             if "nosuch" in m.group(3)]
    assert len(found) == 1, f"want one policy.yaml:LINE:COL: error naming 'nosuch': {r.output!r}"
    m = found[0]
    assert int(m.group(1)) == 7, r.output
    assert int(m.group(2)) in (5, 12), r.output  # the key or its value
    assert "warning" not in m.group(3).lower(), r.output


# --------------------------------------------------------------- SIPp load ----


@pytest.fixture
def sipp_uas_factory(tmp_path, free_udp_port):
    started = []

    def start(ring_ms=0):
        port = free_udp_port()
        p = sipp_run.run_sipp_uas(port, workdir=tmp_path / f"sipp-uas-{len(started)}",
                                  timeout=120, ring_ms=ring_ms)
        p.addr = ("127.0.0.1", port)
        p.hostport = f"127.0.0.1:{port}"
        started.append(p)
        return p

    yield start
    for p in started:
        sipp_run.stop_process(p)


@pytest.fixture
def sipp_uas(sipp_uas_factory):
    return sipp_uas_factory()


@pytest.mark.load
def test_sipp_load_two_workers(sipedge_factory, sipp_uas, tmp_path):
    # RFC 3261 §16 under load: 2000 calls at 200 cps through 2 workers.
    proxy = sipedge_factory({"workers": 2, "record_route": True}, pool_policy(sipp_uas))
    r = sipp_run.run_sipp_uac(proxy.addr, calls=2000, rate=200, timeout=60,
                              workdir=tmp_path / "sipp-uac")
    assert r.ok and r.failed == 0 and r.successful == 2000, r.summary()
    assert proxy.alive()


@pytest.mark.load
def test_sipp_load_survives_worker_kill(sipedge_factory, sipp_uas_factory, tmp_path):
    # RFC 3261 §17 transactions survive a worker crash (DESIGN: the master
    # respawns the slot and adopts its transactions): SIGKILL one of two
    # workers mid-run, still 0 failed calls. The UAS rings 300 ms before
    # its 200, so some 60 INVITE transactions are pending at the kill.
    sipp_uas = sipp_uas_factory(ring_ms=300)
    proxy = sipedge_factory({"workers": 2, "record_route": True}, pool_policy(sipp_uas))
    run = sipp_run.start_sipp_uac(proxy.addr, calls=2000, rate=200, timeout=60,
                                  workdir=tmp_path / "sipp-uac")
    try:
        deadline = time.monotonic() + 15
        while run.calls_created() < 600 and time.monotonic() < deadline:
            if run.popen.poll() is not None:
                break
            time.sleep(0.1)
        assert run.popen.poll() is None, "SIPp ended before the worker could be killed"
        assert run.calls_created() >= 600, "SIPp did not reach 600 calls in 15 s"
        old = proxy.kill_worker(1, signal.SIGKILL)
        new = proxy.wait_worker_respawn(1, old, timeout=5)
    except BaseException:
        run.stop()
        raise
    r = run.wait()
    assert r.ok and r.failed == 0 and r.successful == 2000, r.summary()
    assert proxy.alive() and proxy.worker_pids(alive_only=True).get(1) == new


def test_received_rport_with_spaced_params(proxy, uas, ua):
    # RFC 3581 §4 with RFC 3261 §25.1 SEMI = SWS ";" SWS: dropping the
    # client's bare rport must leave a well-formed Via (no ";;"), and a
    # quoted parameter holding ';' must survive untouched.
    req = ua.request("OPTIONS", R_URI)
    req.set("Via", f'SIP/2.0/UDP 127.0.0.9:5999 ; rport ;branch={sip.new_branch()}; foo="a;b"')
    ua.send(req, proxy.addr)
    assert final_response(ua, req).status == 200
    got = uas.wait_for("OPTIONS")[0]
    raw = got.get_all("Via")[1]
    assert ";;" not in raw, raw
    assert 'foo="a;b"' in raw, raw
    client_via = got.vias[1]
    assert client_via.params.get("rport") == str(ua.port), raw
    assert client_via.params.get("received") == ua.host, raw
