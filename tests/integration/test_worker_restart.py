"""A worker killed mid-transaction: its slot is respawned and the new
worker adopts the slot's transactions and timers from shared memory
(DESIGN.md "Shared memory"; RFC 3261 §16.8 Timer C, §16.7)."""
import time

from test_proxy_basic import R_URI, SDP, final_response, pool_policy


def test_timer_c_survives_worker_kill(sipedge_factory, uas_factory, ua):
    # One worker, so the transaction is certainly its. The UAS rings and
    # never answers; the worker is SIGKILLed while the INVITE is pending.
    # Timer C lives in the slot's wheel in shared memory: the respawned
    # worker must still fire it, CANCEL downstream and answer 408 upstream.
    uas = uas_factory({"INVITE": [180], "CANCEL": [200]})
    proxy = sipedge_factory({"timers": {"timer_c": "4s"}}, pool_policy(uas), workers=1,
                            stop_timeout=45)
    inv = ua.request("INVITE", R_URI, body=SDP)
    ua.send(inv, proxy.addr)
    ringing = ua.recv_response(inv, code=180, timeout=3)
    assert ringing.status == 180
    old = proxy.kill_worker(0)
    new = proxy.wait_worker_respawn(0, old, timeout=3)
    assert new != old
    t0 = time.monotonic()
    resp = final_response(ua, inv, timeout=10)
    assert resp.status == 408, resp
    assert "INVITE Timeout" in resp.reason, resp
    assert time.monotonic() - t0 < 6, "Timer C fired late: it was not adopted"
    assert uas.wait_for("CANCEL", timeout=3), "the adopted transaction sent no CANCEL"
    ua.send(ua.ack_for(inv, resp), proxy.addr)


def test_response_reaches_caller_after_worker_kill(sipedge_factory, uas_factory, ua):
    # The UAS answers 200 two seconds after the worker that forwarded the
    # INVITE died: the 200 finds the transaction in shared memory (any
    # worker may receive it) and goes to the caller.
    uas = uas_factory({"INVITE": [180, (200, 2.0)], "ACK": None, "BYE": [200]})
    proxy = sipedge_factory({}, pool_policy(uas), workers=1)
    inv = ua.request("INVITE", R_URI, body=SDP)
    ua.send(inv, proxy.addr)
    assert ua.recv_response(inv, code=180, timeout=3).status == 180
    old = proxy.kill_worker(0)
    proxy.wait_worker_respawn(0, old, timeout=3)
    ok = final_response(ua, inv, timeout=6)
    assert ok.status == 200, ok
    assert ok.to_tag, ok
