"""
The SIPp scenarios (sipp/uac_call.xml, sipp/uas_call.xml) and their
runner (sipp_run.py) checked without sipedge: UAC straight to UAS, and
each scenario against the Python UA/UAS for what the proxy tests rely on
(Record-Route handling, RFC 3261 §12.1.1 and §12.2.1.1).
"""

import sip
import sipp_run


def test_sipp_uac_to_uas_direct(tmp_path, free_udp_port):
    port = free_udp_port()
    uas = sipp_run.run_sipp_uas(port, workdir=tmp_path / "uas", timeout=60)
    try:
        r = sipp_run.run_sipp_uac(("127.0.0.1", port), calls=200, rate=100, timeout=30,
                                  workdir=tmp_path / "uac")
    finally:
        sipp_run.stop_process(uas)
    assert r.ok, r.summary()
    assert (r.successful, r.failed, r.created) == (200, 0, 200), r.summary()
    assert r.rtd_ms is not None and r.rtd_ms < 1000, r.summary()
    assert sipp_run._int(sipp_run.uas_stats(uas), "SuccessfulCall(C)") == 200


def test_sipp_uac_reports_failures(tmp_path, uas_factory):
    # The runner must see failed calls: a UAS that rejects every INVITE.
    uas = uas_factory({"INVITE": [486]})
    r = sipp_run.run_sipp_uac(uas.addr, calls=5, rate=50, timeout=15, workdir=tmp_path)
    assert not r.ok
    assert r.failed == 5 and r.successful == 0 and r.returncode == 1, r.summary()


def test_sipp_uac_follows_record_route(tmp_path, uas_factory):
    # RFC 3261 §12.1.2 / §12.2.1.1: ACK and BYE carry the Route set (the
    # 2xx's Record-Route reversed) and have the 2xx Contact as R-URI.
    rr = ["<sip:127.0.0.2:5070;lr>", "<sip:127.0.0.3;lr;x=1>"]  # SIPp sends to its target anyway
    hdrs = {"Record-Route": rr}
    uas = uas_factory({"INVITE": [(180, 0, hdrs), (200, 0, hdrs)], "BYE": [200]})
    r = sipp_run.run_sipp_uac(uas.addr, calls=1, rate=1, timeout=15, workdir=tmp_path)
    assert r.ok, r.summary()
    ack = uas.wait_for("ACK")[0]
    bye = uas.wait_for("BYE")[0]
    ok = [s for s in uas.sent if s.status == 200 and s.cseq_method == "INVITE"][0]
    inv = uas.requests("INVITE")[0]
    assert inv.ruri != uas.uri()  # so the R-URI check below means something
    for m in (ack, bye):
        assert m.get_all("Route") == list(reversed(rr)), m
        assert m.ruri == uas.uri(), m  # the 2xx Contact
        assert m.to_tag == ok.to_tag and m.from_tag == inv.from_tag, m
    assert ack.branch != inv.branch and ack.cseq == (1, "ACK") and bye.cseq == (2, "BYE")


def test_sipp_uas_copies_record_route(tmp_path, free_udp_port, ua):
    # RFC 3261 §12.1.1: the UAS copies Record-Route into 18x/2xx.
    port = free_udp_port()
    p = sipp_run.run_sipp_uas(port, workdir=tmp_path, timeout=30)
    try:
        dest = ("127.0.0.1", port)
        inv = ua.request("INVITE", f"sip:callee@127.0.0.1:{port}", body="v=0\r\n")
        inv.add("Record-Route", f"<sip:{ua.hostport};lr>")
        ua.send(inv, dest)
        ringing = ua.recv_response(inv, code=180, timeout=3)
        ok = ua.recv_response(inv, code=200, timeout=3)
        for resp in (ringing, ok):
            assert resp.record_routes == [f"sip:{ua.hostport};lr"], resp
            assert [v.branch for v in resp.vias] == [inv.branch]
        assert ringing.to_tag and ringing.to_tag == ok.to_tag
        assert sip.parse_uri(ok.contact_uri).hostport() == dest
        ack = ua.ack_for(inv, ok)
        assert ack.routes == [f"sip:{ua.hostport};lr"]
        ua.send(ack, dest)  # Route points at ourselves: send straight to SIPp
        bye = ua.bye_for(inv, ok)
        ua.send(bye, dest)
        assert ua.recv_response(bye, final=True, timeout=3).status == 200
    finally:
        sipp_run.stop_process(p)
