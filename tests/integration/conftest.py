"""
pytest fixtures for the sipedge integration tests.

Run with Debian's interpreter:  /usr/bin/python3 -m pytest tests/integration
The binary is $SIPEDGE_BIN, else build/src/sipedge of this checkout. Tests
that start it are skipped only when that file does not exist.

Fixtures
  free_udp_port            -> callable free_udp_port(host="127.0.0.1") -> int
  sipedge_bin              -> Path of the binary (skips when it is missing)
  sipedgectl_bin           -> Path of sipedgectl ($SIPEDGECTL_BIN, else next to it)
  sipedge_factory          -> start(config: dict|str|None, policy: dict|str,
                                    workers=2, expect_ready=True,
                                    ready_timeout=10, stop_timeout=10) -> SipedgeProc
  run_check                -> check(config: dict|str|None, policy: dict|str,
                                    workers=2) -> CheckResult   (sipedge -t)
  ua                       -> sip.UA on 127.0.0.1 (closed after the test)
  ua_factory               -> make(host="127.0.0.1", user="alice") -> sip.UA
  uas_factory              -> make(policy=None, host="127.0.0.1", **kw) -> started sip.ScriptedUAS
  uas                      -> a started ScriptedUAS with its default policy

On teardown each sipedge gets SIGTERM (bounded wait, then SIGKILL of the
master and of anything left in its session). A daemon that died during
the test, exited non-zero on SIGTERM, or exited leaving processes behind
makes the teardown fail; one that needed SIGKILL (drain longer than the
stop timeout) is a warning. A failing
test's report carries the daemon log and what each ScriptedUAS received.
"""

from __future__ import annotations

import itertools
import os
import sys
import warnings
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import harness  # noqa: E402
import sip  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "load: a SIPp load run (takes tens of seconds)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    for proc in getattr(item, "_sipedge_procs", []):
        rep.sections.append((f"sipedge pid {proc.pid} ({proc.workdir})", proc.describe()))
    for uas in getattr(item, "_uases", []):
        got = "\n".join(f"{m.time:.3f} from {m.source}: {m.summary()}"
                        + (" (retransmission)" if m.retransmission else "")
                        for m in list(uas.received)) or "(nothing)"
        rep.sections.append((f"ScriptedUAS {uas.hostport} received", got))


@pytest.fixture
def free_udp_port():
    """free_udp_port(host="127.0.0.1") -> a UDP port free right now."""
    return harness.free_udp_port


@pytest.fixture(scope="session")
def sipedge_bin():
    reason = harness.binary_missing_reason()
    if reason:
        pytest.skip(reason)
    return harness.sipedge_binary()


@pytest.fixture(scope="session")
def sipedgectl_bin(sipedge_bin):
    """$SIPEDGECTL_BIN, else cli/sipedgectl beside the daemon's build dir
    (build/src/cli/sipedgectl). Built with the daemon: missing is a failure."""
    p = Path(os.environ.get("SIPEDGECTL_BIN") or Path(sipedge_bin).parent / "cli" / "sipedgectl").resolve()
    if not p.exists():
        pytest.fail(f"sipedgectl not found at {p} (set SIPEDGECTL_BIN)", pytrace=False)
    return p


@pytest.fixture
def sipedge_factory(tmp_path, request, sipedge_bin):
    procs: list = []
    request.node._sipedge_procs = procs

    def start(config=None, policy=None, workers=2, expect_ready=True, **kw):
        if policy is None:
            raise ValueError("sipedge_factory: a policy (dict or YAML text) is required")
        wd = tmp_path if not procs else tmp_path / f"sipedge-{len(procs) + 1}"
        proc = harness.launch(wd, config, policy, workers, expect_ready, **kw)
        procs.append(proc)
        return proc

    yield start

    problems, notes = harness.stop_all(procs)
    for note in notes:
        warnings.warn(note)
    if problems:
        pytest.fail("\n".join(problems) + "\n\n" + "\n\n".join(p.describe() for p in procs),
                    pytrace=False)


@pytest.fixture
def run_check(tmp_path, sipedge_bin):
    n = itertools.count(1)

    def check(config=None, policy=None, workers=2, timeout=30.0):
        if policy is None:
            raise ValueError("run_check: a policy (dict or YAML text) is required")
        return harness.run_check(tmp_path / f"check-{next(n)}", config, policy, workers, timeout)

    return check


@pytest.fixture
def ua_factory():
    made: list = []

    def make(host="127.0.0.1", user="alice", port=0):
        u = sip.UA(host, port, user)
        made.append(u)
        return u

    yield make
    for u in made:
        u.close()


@pytest.fixture
def ua(ua_factory):
    return ua_factory()


@pytest.fixture
def uas_factory(request):
    made: list = []
    request.node._uases = made

    def make(policy=None, host="127.0.0.1", **kw):
        u = sip.ScriptedUAS(policy, host=host, **kw).start()
        made.append(u)
        return u

    yield make
    errors = []
    for u in made:
        try:
            u.stop()
        except sip.SipError as e:
            errors.append(f"{u.hostport}: {e}")
    if errors:
        pytest.fail("ScriptedUAS failures: " + "; ".join(errors), pytrace=False)


@pytest.fixture
def uas(uas_factory):
    return uas_factory()
