"""
Self-tests of the test harness: the SIP library (sip.py), UA to UA and
UA to ScriptedUAS on loopback, the YAML emitter, the log parser, and the
process handling of harness.py against a stand-in daemon. None of these
need sipedge.
"""

import os
import signal
import sys
import textwrap
import time

import pytest

import harness
import sip

# --------------------------------------------------------------- parsing ----


def test_parse_compact_forms_multi_values_folding_and_body():
    # RFC 3261 §7.3.1 (folding, comma lists), §7.3.3 (compact forms), §18.3
    raw = (b"\r\n"
           b"INVITE sip:bob@example.com SIP/2.0\r\n"
           b"v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa;rport=5062;received=10.0.0.9,"
           b" SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bKb\r\n"
           b"VIA: SIP/2.0/TCP host.example;branch=z9hG4bKc\r\n"
           b"Record-Route: <sip:p1.example;lr>, \"Proxy, Two\" <sip:p2.example;lr>\r\n"
           b"Subject: folded\r\n  line\r\n"
           b"f: \"A, B\" <sip:a@x>;tag=ftag\r\n"
           b"t: sip:b@y\r\n"
           b"i: cid-1\r\n"
           b"CSeq: 4 INVITE\r\n"
           b"m: <sip:a@10.0.0.1>\r\n"
           b"l: 4\r\n"
           b"\r\n"
           b"bodyTRAILING")
    m = sip.parse(raw)
    assert m.is_request and m.method == "INVITE" and m.ruri == "sip:bob@example.com"
    vias = m.vias
    assert [v.branch for v in vias] == ["z9hG4bKa", "z9hG4bKb", "z9hG4bKc"]
    assert vias[0].reply_addr() == ("10.0.0.9", 5062)
    assert (vias[1].host, vias[1].port) == ("2001:db8::1", 5070)
    assert vias[2].transport == "TCP" and vias[2].port is None
    assert m.count("via") == 3 and m.count("V") == 3
    assert m.record_routes == ["sip:p1.example;lr", "sip:p2.example;lr"]
    assert m["subject"] == "folded line"
    assert m.from_tag == "ftag" and m.to_tag is None
    assert m.call_id == "cid-1" and m["Call-Id"] == "cid-1"
    assert m.cseq == (4, "INVITE")
    assert m.contact_uri == "sip:a@10.0.0.1"
    assert m.body == b"body"  # Content-Length (compact l) cuts the rest


def test_parse_response_lf_only_and_missing_content_length():
    m = sip.parse(b"SIP/2.0 404 Not  Found Here\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\n\nxyz")
    assert m.is_response and m.status == 404 and m.reason == "Not  Found Here"
    assert m.body == b"xyz"
    assert m.get("Content-Length") is None


@pytest.mark.parametrize("bad", [b"", b"\r\n\r\n", b"hello world", b"SIP/2.0 abc OK\r\n\r\n",
                                 b"\x00\xff\xfe garbage"])
def test_parse_rejects_non_sip(bad):
    with pytest.raises(sip.SipParseError):
        sip.parse(bad)


def test_encode_crlf_and_content_length():
    m = sip.Message.request("MESSAGE", "sip:b@example.com",
                            [("Via", "SIP/2.0/UDP h:5;branch=z9hG4bK1"), ("Content-Length", "99")],
                            body="héllo")
    data = m.encode()
    head, body = data.split(b"\r\n\r\n", 1)
    assert body == "héllo".encode()
    assert b"\n" not in head.replace(b"\r\n", b"")  # every line ends in CRLF
    assert b"Content-Length: 6" in head and b"99" not in head
    assert head.count(b"Content-Length") == 1
    # content_length=False keeps a deliberately wrong value
    assert b"Content-Length: 99" in m.encode(content_length=False)
    again = sip.parse(data)
    assert again.body == "héllo".encode() and again.method == "MESSAGE"


def test_header_edit_operations():
    m = sip.Message.request("OPTIONS", "sip:x@y", [("Via", "SIP/2.0/UDP a;branch=z9hG4bK1"),
                                                  ("Route", "<sip:r1;lr>"), ("Route", "<sip:r2;lr>")])
    m.add("Via", "SIP/2.0/UDP b;branch=z9hG4bK0", first=True)
    assert [v.host for v in m.vias] == ["b", "a"]
    assert m.remove("route") == 2 and "Route" not in m
    m.set("Max-Forwards", 3)
    m.set("max-forwards", 2)
    assert m.max_forwards == 2 and m.count("Max-Forwards") == 1


def test_uri_and_name_addr():
    u = sip.parse_uri("sips:alice:pw@[2001:db8::2]:5071;transport=tcp;lr?subject=x")
    assert (u.scheme, u.user, u.password, u.host, u.port) == ("sips", "alice", "pw",
                                                              "2001:db8::2", 5071)
    assert u.params == {"transport": "tcp", "lr": None} and u.headers == "subject=x"
    assert sip.parse_uri("sips:h.example").hostport() == ("h.example", 5061)
    a = sip.parse_addr('"Bob ;x" <sip:bob@h;transport=udp>;tag=t1;expires=5')
    assert a.display == "Bob ;x" and a.uri == "sip:bob@h;transport=udp"
    assert a.tag == "t1" and a.params["expires"] == "5"
    b = sip.parse_addr("sip:bob@h;tag=t2")
    assert b.uri == "sip:bob@h" and b.tag == "t2"
    assert sip.param('<sip:p;lr>;x=1', "lr") is None  # lr is a URI parameter here
    assert sip.split_values('"a,b" <sip:x>, <sip:y,z>;p=1, sip:w') == [
        '"a,b" <sip:x>', "<sip:y,z>;p=1", "sip:w"]
    assert sip.same_host("[::1]", "0:0::1") and not sip.same_host("127.0.0.1", "127.0.0.2")


# -------------------------------------------------------------- builders ----


def test_request_builder_fields(ua):
    # RFC 3261 §8.1.1: the mandatory header fields of a new request.
    r = ua.request("INVITE", "sip:bob@example.com", body="v=0\r\n")
    via = r.top_via
    assert via.branch.startswith("z9hG4bK") and len(via.branch) > len("z9hG4bK") + 8
    assert "rport" in via.params and via.params["rport"] is None
    assert (via.host, via.port) == ("127.0.0.1", ua.port)
    assert r.max_forwards == 70 and r.from_tag and r.to_tag is None
    assert r.cseq == (1, "INVITE") and r.call_id
    assert r.contact_uri == ua.uri() and r["Content-Type"] == "application/sdp"
    other = ua.request("INVITE", "sip:bob@example.com")
    assert other.branch != r.branch and other.call_id != r.call_id
    assert other.from_tag != r.from_tag
    assert ua.request("OPTIONS", "sip:x@y", max_forwards=None).max_forwards is None
    assert "Contact" not in ua.request("MESSAGE", "sip:x@y")


def test_response_to_copies_per_8_2_6(ua):
    # RFC 3261 §8.2.6.2 (copied fields, To tag) and §12.1.1 (Record-Route).
    req = ua.request("INVITE", "sip:bob@example.com")
    req.add("Via", "SIP/2.0/UDP proxy.example:5060;branch=z9hG4bKp", first=True)
    req.add("Record-Route", "<sip:proxy.example;lr>")
    trying = ua.response_to(req, 100)
    ringing = ua.response_to(req, 180)
    ok = ua.response_to(req, 200)
    busy = ua.response_to(req, 486)
    assert [v.branch for v in ok.vias] == [v.branch for v in req.vias]
    assert ok["From"] == req["From"] and ok.call_id == req.call_id and ok["CSeq"] == req["CSeq"]
    assert trying.to_tag is None  # no tag on 100
    assert ringing.to_tag and ringing.to_tag == ok.to_tag == busy.to_tag
    assert ok.record_routes == ["sip:proxy.example;lr"] and "Record-Route" not in busy
    assert ok.contact_uri == ua.uri() and "Contact" not in busy
    assert ua.response_to(req, 200, to_tag="fixed").to_tag == "fixed"


def test_ack_for_non_2xx_and_2xx(ua):
    inv = ua.request("INVITE", "sip:bob@example.com",
                     route=["<sip:outbound.example;lr>"])
    fail = ua.response_to(inv, 486)
    ack = ua.ack_for(inv, fail)
    # §17.1.1.3: same branch, R-URI, Route; To from the response.
    assert ack.method == "ACK" and ack.ruri == inv.ruri and ack.branch == inv.branch
    assert ack.count("Via") == 1 and ack.routes == inv.routes
    assert ack.to_tag == fail.to_tag and ack.cseq == (1, "ACK")

    ok = ua.response_to(inv, 200)
    ok.set("Contact", "<sip:bob@192.0.2.7:5099>")
    ok.add("Record-Route", "<sip:p2.example;lr>")
    ok.add("Record-Route", "<sip:p1.example:5070;lr>")
    ack2 = ua.ack_for(inv, ok)
    # §13.2.2.4 + §12.2.1.1: new branch, R-URI = Contact, Route = RR reversed.
    assert ack2.branch != inv.branch and ack2.ruri == "sip:bob@192.0.2.7:5099"
    assert ack2.routes == ["sip:p1.example:5070;lr", "sip:p2.example;lr"]
    assert sip.next_hop(ack2) == ("p1.example", 5070)
    assert ack2.cseq == (1, "ACK") and ack2.to_tag == ok.to_tag
    bye = ua.bye_for(inv, ok)
    assert bye.cseq == (2, "BYE") and bye.routes == ack2.routes and bye.ruri == ack2.ruri
    with pytest.raises(sip.SipError):
        ua.ack_for(inv, ua.response_to(inv, 180))


def test_cancel_for_and_strict_route(ua):
    inv = ua.request("INVITE", "sip:bob@example.com", cseq=7)
    c = ua.cancel_for(inv, reason='SIP;cause=487;text="gone"')
    # §9.1: same branch, R-URI, Call-ID, From, To, CSeq number.
    assert c.method == "CANCEL" and c.branch == inv.branch and c.count("Via") == 1
    assert c.ruri == inv.ruri and c["To"] == inv["To"] and c["From"] == inv["From"]
    assert c.cseq == (7, "CANCEL") and c["Reason"].startswith("SIP;cause=487")
    ok = ua.response_to(inv, 200)
    ok.add("Record-Route", "<sip:strict.example>")  # no ;lr: a strict router
    d = ua.dialog(inv, ok)
    bye = d.request("BYE")
    assert bye.ruri == "sip:strict.example"
    assert bye.routes == [ok.contact_uri]


# ------------------------------------------------------------ UA over UDP ----


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_ua_to_ua_options(ua_factory, host):
    a = ua_factory(host, "alice")
    b = ua_factory(host, "bob")
    req = a.request("OPTIONS", b.uri())
    a.send(req, b.addr)
    got = b.recv(2.0)
    assert got.method == "OPTIONS" and got.branch == req.branch and got.source == a.addr
    b.send(b.response_to(got, 200), got.top_via.reply_addr(got.source))
    resp = a.recv_response(req, timeout=2.0)
    assert resp.status == 200 and resp.to_tag
    with pytest.raises(sip.SipTimeout):
        a.recv(0.2)


def test_ua_sends_to_loopback_only(ua):
    for dst in [("192.0.2.1", 5060), ("example.com", 5060), "10.0.0.1:5060"]:
        with pytest.raises(sip.SipError):
            ua.send(b"x", dst)
    assert ua.sent == []


def test_ua_expect_queues_skipped_messages(ua_factory):
    a, b = ua_factory(), ua_factory()
    r1 = a.request("OPTIONS", b.uri())
    r2 = a.request("MESSAGE", b.uri())
    a.send(r1, b.addr)
    a.send(r2, b.addr)
    assert b.recv_request("MESSAGE").branch == r2.branch
    assert b.recv().branch == r1.branch  # was queued, not lost
    a.send(b"not sip at all", b.addr)
    with pytest.raises(AssertionError):
        b.expect_nothing(0.5)


def test_scripted_uas_call_and_bye(ua, uas_factory):
    uas = uas_factory({"INVITE": [100, (180, 0.05), (200, 0.05)], "BYE": [200]})
    inv = ua.request("INVITE", uas.uri("bob"))
    ua.send(inv, uas.addr)
    codes = [ua.recv_response(inv).status for _ in range(3)]
    assert codes == [100, 180, 200]
    ok = ua.pending[-1] if ua.pending else ua.received[-1]
    assert ok.status == 200
    ack = ua.ack_for(inv, ok)
    ua.send(ack, sip.next_hop(ack))
    bye = ua.bye_for(inv, ok)
    ua.send(bye, sip.next_hop(bye))
    assert ua.recv_response(bye, final=True).status == 200
    assert [m.method for m in uas.requests()] == ["INVITE", "ACK", "BYE"]
    assert uas.requests("ACK")[0].ruri == uas.uri()


def test_scripted_uas_delay_is_respected(ua, uas_factory):
    uas = uas_factory({"OPTIONS": [(200, 0.4)]})
    req = ua.request("OPTIONS", uas.uri())
    t0 = time.monotonic()
    ua.send(req, uas.addr)
    assert ua.recv_response(req, timeout=3).status == 200
    assert time.monotonic() - t0 >= 0.38


def test_scripted_uas_cancel_gives_200_and_487(ua, uas_factory):
    # RFC 3261 §9.2
    uas = uas_factory({"INVITE": [180, (200, 1.0)]})
    inv = ua.request("INVITE", uas.uri("bob"))
    ua.send(inv, uas.addr)
    assert ua.recv_response(inv).status == 180
    cancel = ua.cancel_for(inv)
    ua.send(cancel, uas.addr)
    assert ua.recv_response(cancel, final=True).status == 200
    final = ua.recv_response(inv, final=True)
    assert final.status == 487
    ua.send(ua.ack_for(inv, final), uas.addr)
    ua.expect_nothing(1.3)  # the scripted 200 was dropped
    assert uas.wait_for("CANCEL")[0].branch == inv.branch


def test_scripted_uas_no_answer_retransmission_and_405(ua, uas_factory):
    uas = uas_factory({"INVITE": None, "OPTIONS": [200]})
    inv = ua.request("INVITE", uas.uri())
    ua.send(inv, uas.addr)
    ua.expect_nothing(0.5)
    assert len(uas.wait_for("INVITE")) == 1
    opt = ua.request("OPTIONS", uas.uri())
    ua.send(opt, uas.addr)
    first = ua.recv_response(opt)
    ua.send(opt, uas.addr)  # retransmission: same response again, script not rerun
    again = ua.recv_response(opt)
    assert again.encode() == first.encode()
    assert len(uas.requests("OPTIONS")) == 1
    assert len(uas.requests("OPTIONS", retransmissions=True)) == 2
    sub = ua.request("SUBSCRIBE", uas.uri())
    ua.send(sub, uas.addr)
    r = ua.recv_response(sub)
    assert r.status == 405 and "INVITE" in r.get_all("Allow")


def test_scripted_uas_replies_to_via_not_source(ua_factory, uas_factory):
    # RFC 3261 §18.2.2 / RFC 3581: responses go to the top Via's sent-by
    # (received/rport when present), not merely to the packet's source.
    uas = uas_factory({"OPTIONS": [200]})
    sender, receiver = ua_factory(), ua_factory()
    req = sender.request("OPTIONS", uas.uri())
    req.set("Via", f"SIP/2.0/UDP {receiver.hostport};branch={sip.new_branch()}")
    sender.send(req, uas.addr)
    assert receiver.recv_response(req).status == 200
    sender.expect_nothing(0.3)


# --------------------------------------------------------- YAML emitter ----


def test_to_yaml():
    text = harness.to_yaml({
        "listen": ["udp://127.0.0.1:5060", "udp://[::1]:5062"],
        "workers": 2, "record_route": True, "shm_size": "64MiB",
        "timers": {"timer_c": "5s"}, "empty": [], "nothing": None,
        "odd": ["yes", "12", "a: b", "#x", "", 'q"uote'],
        "pools": {"uas": {"destinations": [{"uri": "sip:127.0.0.1:5080", "weight": 1}]}},
        "rules": [{"name": "default", "route": "uas"}],
    })
    assert text == textwrap.dedent('''\
        listen:
          - udp://127.0.0.1:5060
          - "udp://[::1]:5062"
        workers: 2
        record_route: true
        shm_size: 64MiB
        timers:
          timer_c: 5s
        empty: []
        nothing: null
        odd:
          - "yes"
          - "12"
          - "a: b"
          - "#x"
          - ""
          - "q\\"uote"
        pools:
          uas:
            destinations:
              - uri: sip:127.0.0.1:5080
                weight: 1
        rules:
          - name: default
            route: uas
        ''')


# ------------------------------------------------------------ log parser ----


def test_parse_worker_pids_tolerant():
    log = "\n".join([
        "2025-01-01T00:00:00 sipedge[100]: info: master: config loaded",
        "2025-01-01T00:00:00 sipedge[100]: info: worker 0 started (pid 101)",
        "sipedge[100]: info: spawned worker slot=1 pid=102",
        'sipedge[100]: {"event":"worker_start","slot":2,"pid":103}',
        "sipedge[100]: warn: worker 1 (pid 102) exited on signal 9",
        "sipedge[100]: info: worker[1] pid=104 running",
        "sipedge[100]: info: all 3 workers running; ready",
        "sipedge[100]: info: worker 0 pid 101 stopping",
    ])
    assert harness.parse_worker_pids(log) == {0: 101, 1: 104, 2: 103}
    assert harness.parse_worker_pids("ready\n") == {}
    # the runtime's own wording (src/runtime/master.c, log.c)
    real = "\n".join([
        "2025-01-01T00:00:00.001Z info [master 200]: sipedge 0.1.0 starting: x.yaml, 2 workers",
        "2025-01-01T00:00:00.002Z info [master 200]: spawned w0 pid 201",
        "2025-01-01T00:00:00.002Z info [master 200]: spawned w1 pid 202",
        "2025-01-01T00:00:00.003Z error [w1 202]: the master (pid 200) is gone before w1 started",
        "2025-01-01T00:00:00.010Z info [master 200]: ready: 2 workers, 1 listeners",
        "2025-01-01T00:00:01.000Z error [master 200]: w1 pid 202 killed by signal 9",
        "2025-01-01T00:00:01.100Z info [master 200]: respawned w1 pid 203 (restart 1)",
        "2025-01-01T00:00:01.101Z info [w1 203]: w1 running on 1 listeners",
    ])
    assert harness.parse_worker_pids(real) == {0: 201, 1: 203}


# ----------------------------------------------- process handling (fake) ----

FAKE_DAEMON = r'''
import os, signal, sys, time
n = 2
kids = {}
def spawn(slot):
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        end = time.monotonic() + 60
        while time.monotonic() < end:
            time.sleep(0.1)
        os._exit(0)
    kids[slot] = pid
    print(f"fake: worker {slot} started pid {pid}", file=sys.stderr, flush=True)
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
if "-t" in sys.argv:
    print("policy.yaml:3:12: pool 'nosuch' is not defined", flush=True)
    sys.exit(1)
cfg = open(sys.argv[sys.argv.index("-c") + 1]).read()
if "fail_start" in cfg:
    print("fake: cannot bind", file=sys.stderr, flush=True)
    sys.exit(2)
for s in range(n):
    spawn(s)
print("fake: all workers running, ready", file=sys.stderr, flush=True)
if "mode_crash" in cfg:
    time.sleep(0.2)
    for p in kids.values():
        os.kill(p, signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGSEGV)
if "mode_ignore_term" in cfg:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
end = time.monotonic() + 60
while not stop and time.monotonic() < end:
    try:
        pid, status = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        pid = 0
    for slot, p in list(kids.items()):
        if pid and p == pid:
            print(f"fake: worker {slot} pid {p} died", file=sys.stderr, flush=True)
            spawn(slot)
    time.sleep(0.02)
if "mode_orphans" in cfg:
    sys.exit(0)  # leaves its workers running
for p in kids.values():
    os.kill(p, signal.SIGTERM)
for p in kids.values():
    os.waitpid(p, 0)
sys.exit(3 if "mode_exit3" in cfg else 0)
'''


@pytest.fixture
def fake_bin(tmp_path):
    script = tmp_path / "fake_sipedge"
    script.write_text(f"#!{sys.executable}\n" + FAKE_DAEMON)
    script.chmod(0o755)
    return script


def test_harness_launch_kill_worker_respawn_and_stop(tmp_path, fake_bin):
    proc = harness.launch(tmp_path / "run", {"workers": 2}, {"rules": []}, binary=fake_bin)
    try:
        assert proc.alive() and proc.addr[0] == "127.0.0.1"
        assert "workers: 2" in proc.config_path.read_text()
        pids = proc.worker_pids(alive_only=True)
        assert sorted(pids) == [0, 1] and set(pids.values()) == proc.child_pids()
        old = proc.kill_worker(1)
        new = proc.wait_worker_respawn(1, old, timeout=5)
        assert new != old and new in proc.child_pids()
    finally:
        rc = proc.stop(timeout=5)
    assert rc == 0 and proc.stop_problem is None and proc.leftovers == []
    assert not proc.session_pids()


def test_harness_reports_start_failure_with_log(tmp_path, fake_bin):
    with pytest.raises(AssertionError) as e:
        harness.launch(tmp_path / "run", {"fail_start": 1}, {"rules": []}, binary=fake_bin,
                       ready_timeout=5)
    assert "cannot bind" in str(e.value) and "status 2" in str(e.value)


def test_harness_reaps_orphaned_workers(tmp_path, fake_bin):
    proc = harness.launch(tmp_path / "run", {}, {"rules": []}, binary=fake_bin)
    workers = set(proc.worker_pids().values())
    assert len(workers) == 2
    # SIGKILL the master alone: its workers are orphaned and must be found.
    proc.stop(timeout=5, sig=signal.SIGKILL)
    assert sorted(proc.leftovers) == sorted(workers)
    for pid in workers:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z"


def test_harness_run_check(tmp_path, fake_bin):
    r = harness.run_check(tmp_path / "chk", {}, "rules: []\n", binary=fake_bin)
    assert r.returncode == 1 and "policy.yaml:3:12:" in r.output


@pytest.mark.parametrize("mode, problem, note", [
    ("mode_ok", None, None),
    ("mode_crash", "exited during the test with status -11", None),
    ("mode_exit3", "exited with status 3 on SIGTERM", None),
    ("mode_orphans", "still alive after it exited", None),
    ("mode_ignore_term", None, "still running 1.0s after SIGTERM; sent SIGKILL"),
])
def test_harness_teardown_judgement(tmp_path, fake_bin, mode, problem, note):
    proc = harness.launch(tmp_path / "run", {mode: True}, {"rules": []}, binary=fake_bin,
                          stop_timeout=1.0)
    time.sleep(0.5)
    problems, notes = harness.stop_all([proc])
    assert not proc.session_pids()
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0], problems
    if note is None:
        assert notes == []
    else:
        assert len(notes) == 1 and note in notes[0], notes


def test_scripted_uas_records_unparsable(ua, uas_factory):
    uas = uas_factory()
    uas.assert_nothing_received()
    ua.send(b"\x00garbage", uas.addr)
    deadline = time.monotonic() + 2
    while not uas.unparsed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert uas.unparsed and uas.unparsed[0][0] == b"\x00garbage"
    with pytest.raises(AssertionError):
        uas.assert_nothing_received()
