"""
A small SIP toolkit for the integration tests: message building and
parsing, a UDP user agent (UAC side) and a scripted UAS that runs in a
thread.  Loopback only; standard library only.

What it covers, with the RFC 3261 sections it follows:

- Message: start line, ordered headers with case-insensitive lookup and
  compact forms (§7.3.3), comma-separated multi-value headers (§7.3.1),
  line folding, body, Content-Length (§18.3, §20.14).
- UA.request(): Via with a z9hG4bK branch and rport (§8.1.1.7, RFC 3581),
  From tag, Call-ID, CSeq, Max-Forwards, Contact (§8.1.1).
- UA.response_to(): Via/From/To/Call-ID/CSeq copied, To tag added
  (§8.2.6.2), Record-Route copied in dialog-creating responses (§12.1.1).
- UA.ack_for(): ACK for a non-2xx (same branch, §17.1.1.3) or for a 2xx
  (new branch, in-dialog, Route set from Record-Route, §13.2.2.4, §12.2.1.1).
- UA.cancel_for(): CANCEL matching an INVITE (§9.1, RFC 3326 Reason).
- Dialog: in-dialog requests (BYE ...) for either side (§12.1, §12.2).
- send_windowed(): many requests, at most `window` without a final, for
  load that stays on loopback and bounded in count and time.
- ScriptedUAS: answers each method with a list of responses, optional
  delays, no answer, CANCEL → 200 + 487 (§9.2), and records everything.

Nothing here is a full stack: no transaction retransmissions on the
client side (tests run on loopback and assert on single messages).
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import re
import secrets
import select
import socket
import threading
import time
from typing import Callable, Iterable, Optional, Union

CRLF = "\r\n"
MAGIC_COOKIE = "z9hG4bK"
DEFAULT_TIMEOUT = 2.0

# RFC 3261 §7.3.3 and the IANA registry: compact form -> full name.
COMPACT = {
    "a": "accept-contact",
    "b": "referred-by",
    "c": "content-type",
    "d": "request-disposition",
    "e": "content-encoding",
    "f": "from",
    "i": "call-id",
    "j": "reject-contact",
    "k": "supported",
    "l": "content-length",
    "m": "contact",
    "n": "identity-info",
    "o": "event",
    "r": "refer-to",
    "s": "subject",
    "t": "to",
    "u": "allow-events",
    "v": "via",
    "x": "session-expires",
    "y": "identity",
}

# Headers whose comma-separated values are separate entries (§7.3.1).
MULTI_VALUE = {
    "via", "route", "record-route", "contact", "path", "allow", "supported",
    "require", "proxy-require", "unsupported", "accept", "accept-encoding",
    "accept-language", "allow-events", "content-encoding", "in-reply-to",
    "service-route", "reason", "security-client", "security-server",
    "security-verify",
}

REASONS = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
    183: "Session Progress", 199: "Early Dialog Terminated",
    200: "OK", 202: "Accepted",
    300: "Multiple Choices", 301: "Moved Permanently", 302: "Moved Temporarily",
    305: "Use Proxy", 380: "Alternative Service",
    400: "Bad Request", 401: "Unauthorized", 402: "Payment Required",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    406: "Not Acceptable", 407: "Proxy Authentication Required",
    408: "Request Timeout", 410: "Gone", 413: "Request Entity Too Large",
    414: "Request-URI Too Long", 415: "Unsupported Media Type",
    416: "Unsupported URI Scheme", 420: "Bad Extension",
    421: "Extension Required", 423: "Interval Too Brief", 430: "Flow Failed",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
    482: "Loop Detected", 483: "Too Many Hops", 484: "Address Incomplete",
    485: "Ambiguous", 486: "Busy Here", 487: "Request Terminated",
    488: "Not Acceptable Here", 491: "Request Pending", 493: "Undecipherable",
    500: "Server Internal Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Server Time-out", 505: "Version Not Supported",
    513: "Message Too Large", 600: "Busy Everywhere", 603: "Decline",
    604: "Does Not Exist Anywhere", 606: "Not Acceptable",
}

# Pretty spelling when a header is written from a lower-case key.
_CANONICAL = {
    "call-id": "Call-ID", "cseq": "CSeq", "www-authenticate": "WWW-Authenticate",
    "mime-version": "MIME-Version", "rack": "RAck", "rseq": "RSeq",
}


class SipError(Exception):
    """Base class of this module's errors."""


class SipParseError(SipError):
    """The bytes are not a SIP message, even read tolerantly."""


class SipTimeout(SipError, TimeoutError):
    """Nothing (or nothing matching) arrived in time."""


def header_key(name: str) -> str:
    """Lookup key of a header name: lower case, compact form expanded."""
    k = name.strip().lower()
    return COMPACT.get(k, k)


def canonical_name(name: str) -> str:
    k = header_key(name)
    if k in _CANONICAL:
        return _CANONICAL[k]
    return "-".join(p[:1].upper() + p[1:] for p in k.split("-"))


def new_branch() -> str:
    return MAGIC_COOKIE + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(6)


def new_call_id(host: str = "test.invalid") -> str:
    return f"{secrets.token_hex(10)}@{host}"


def split_values(value: str) -> list[str]:
    """Split a header value on commas that are outside quotes and <...>."""
    out, cur, quoted, angle, esc = [], [], False, False, False
    for ch in value:
        if esc:
            cur.append(ch)
            esc = False
            continue
        if quoted:
            if ch == "\\":
                esc = True
            elif ch == '"':
                quoted = False
            cur.append(ch)
            continue
        if ch == '"':
            quoted = True
        elif ch == "<":
            angle = True
        elif ch == ">":
            angle = False
        elif ch == "," and not angle:
            part = "".join(cur).strip()
            if part:
                out.append(part)
            cur = []
            continue
        cur.append(ch)
    part = "".join(cur).strip()
    if part:
        out.append(part)
    return out


def _split_params(text: str) -> tuple[str, dict]:
    """'head;a=1;b' -> ('head', {'a': '1', 'b': None}); keys lower-cased.
    Semicolons inside quotes do not split."""
    parts, cur, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    params = {}
    for p in parts[1:]:
        p = p.strip()
        if not p:
            continue
        if "=" in p:
            k, v = p.split("=", 1)
            params[k.strip().lower()] = v.strip()
        else:
            params[p.lower()] = None
    return parts[0].strip(), params


def param(value: str, name: str) -> Optional[str]:
    """A header parameter (the ones after the URI's closing '>' when there
    is one). Returns None when absent, '' for a parameter without value."""
    if ">" in value:
        _, params = _split_params(";" + value[value.rindex(">") + 1:].lstrip(" ;"))
    else:
        _, params = _split_params(value)
    v = params.get(name.lower(), False)
    if v is False:
        return None
    return "" if v is None else v


def format_hostport(host: str, port: Optional[int]) -> str:
    h = host
    if ":" in host and not host.startswith("["):
        h = f"[{host}]"
    return h if port is None else f"{h}:{port}"


def _strip_brackets(host: str) -> str:
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _split_hostport(text: str) -> tuple[str, Optional[int]]:
    text = text.strip()
    if text.startswith("["):
        end = text.index("]")
        host = text[1:end]
        rest = text[end + 1:]
        port = int(rest[1:]) if rest.startswith(":") and rest[1:] else None
        return host, port
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port) if port else None
    return text, None


def same_host(a: str, b: str) -> bool:
    """Host equality with IP addresses compared as addresses."""
    a, b = _strip_brackets(a), _strip_brackets(b)
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a.lower() == b.lower()


class Uri:
    """A SIP/SIPS URI: scheme:user[:password]@host[:port];params?headers."""

    def __init__(self, text: str):
        self.text = text.strip()
        t = self.text
        if t.startswith("<") and t.endswith(">"):
            t = t[1:-1]
        if ":" not in t:
            raise SipParseError(f"no scheme in URI {text!r}")
        self.scheme, rest = t.split(":", 1)
        self.scheme = self.scheme.lower()
        self.headers = ""
        if "?" in rest:
            rest, self.headers = rest.split("?", 1)
        self.user = self.password = None
        if "@" in rest:
            userinfo, rest = rest.rsplit("@", 1)
            if ":" in userinfo:
                self.user, self.password = userinfo.split(":", 1)
            else:
                self.user = userinfo
        hostport, self.params = _split_params(rest)
        self.host, self.port = _split_hostport(hostport)

    def hostport(self, default_port: Optional[int] = None) -> tuple[str, int]:
        port = self.port
        if port is None:
            port = default_port if default_port is not None else (
                5061 if self.scheme == "sips" else 5060)
        return self.host, port

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Uri({self.text!r})"


def parse_uri(text: str) -> Uri:
    return Uri(text)


class NameAddr:
    """A From/To/Contact/Route value: ["display"] <uri>;params, or a bare
    addr-spec whose ;params belong to the header (§20.10)."""

    def __init__(self, value: str):
        self.value = value.strip()
        v = self.value
        if "<" in v:
            self.display = v[:v.index("<")].strip().strip('"') or None
            self.uri = v[v.index("<") + 1:v.index(">")]
            _, self.params = _split_params(";" + v[v.index(">") + 1:].lstrip(";"))
        else:
            self.display = None
            self.uri, self.params = _split_params(v)

    @property
    def tag(self) -> Optional[str]:
        return self.params.get("tag")

    def __str__(self) -> str:
        return self.value


def parse_addr(value: str) -> NameAddr:
    return NameAddr(value)


class Via:
    """One Via entry: SIP/2.0/UDP host:port;branch=...;rport..."""

    def __init__(self, value: str):
        self.value = value.strip()
        head, self.params = _split_params(self.value)
        m = re.match(r"^\s*([^/\s]+)\s*/\s*([^/\s]+)\s*/\s*(\S+)\s+(.+)$", head)
        if not m:
            raise SipParseError(f"bad Via {value!r}")
        self.protocol = f"{m.group(1)}/{m.group(2)}".upper()
        self.transport = m.group(3).upper()
        self.host, self.port = _split_hostport(m.group(4).replace(" ", ""))

    @property
    def branch(self) -> Optional[str]:
        return self.params.get("branch")

    @property
    def sent_by(self) -> tuple[str, Optional[int]]:
        return self.host, self.port

    def reply_addr(self, source: Optional[tuple] = None) -> tuple[str, int]:
        """Where a response to this Via goes over UDP (§18.2.2, RFC 3581)."""
        host = self.params.get("received") or self.host
        port = self.port or 5060
        rport = self.params.get("rport")
        if rport:
            port = int(rport)
        elif "rport" in self.params and source is not None:
            port = source[1]
        return _strip_brackets(host), port

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"Via({self.value!r})"


def parse_via(value: str) -> Via:
    return Via(value)


def _as_bytes(body) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    return bytes(body)


class Message:
    """A SIP request or response.

    headers is the ordered list of [name, value] pairs as written (one pair
    per header line; a line may hold several comma-separated values).
    Lookups are case-insensitive and know the compact forms.
    """

    def __init__(self):
        self.method: Optional[str] = None
        self.ruri: Optional[str] = None
        self.status: Optional[int] = None
        self.reason: Optional[str] = None
        self.version = "SIP/2.0"
        self.headers: list[list[str]] = []
        self.body: bytes = b""
        self.raw: Optional[bytes] = None        # the bytes parsed, if parsed
        self.source: Optional[tuple] = None     # (host, port) it came from
        self.time: Optional[float] = None       # monotonic receive time
        self.retransmission = False             # set by ScriptedUAS

    # -- construction -------------------------------------------------
    @classmethod
    def request(cls, method: str, ruri: str, headers: Iterable = (), body=b"") -> "Message":
        m = cls()
        m.method, m.ruri = method.upper(), str(ruri)
        for name, value in _header_items(headers):
            m.add(name, value)
        m.body = _as_bytes(body)
        return m

    @classmethod
    def response(cls, status: int, reason: Optional[str] = None, headers: Iterable = (),
                 body=b"") -> "Message":
        m = cls()
        m.status = int(status)
        m.reason = reason if reason is not None else REASONS.get(m.status, "Unknown")
        for name, value in _header_items(headers):
            m.add(name, value)
        m.body = _as_bytes(body)
        return m

    def copy(self) -> "Message":
        m = Message()
        m.method, m.ruri, m.status, m.reason, m.version = (
            self.method, self.ruri, self.status, self.reason, self.version)
        m.headers = [list(h) for h in self.headers]
        m.body = self.body
        return m

    # -- kind -----------------------------------------------------------
    @property
    def is_request(self) -> bool:
        return self.method is not None

    @property
    def is_response(self) -> bool:
        return self.status is not None

    @property
    def start_line(self) -> str:
        if self.is_request:
            return f"{self.method} {self.ruri} {self.version}"
        return f"{self.version} {self.status} {self.reason}"

    # -- headers ----------------------------------------------------------
    def _lines(self, name: str) -> list[list[str]]:
        k = header_key(name)
        return [h for h in self.headers if header_key(h[0]) == k]

    def get_all(self, name: str) -> list[str]:
        """Every value of a header, in order; multi-value headers (Via,
        Route, Record-Route, Contact, ...) split on their commas."""
        k = header_key(name)
        out = []
        for h in self._lines(name):
            if k in MULTI_VALUE:
                out.extend(split_values(h[1]))
            else:
                out.append(h[1])
        return out

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        vals = self.get_all(name)
        return vals[0] if vals else default

    def __getitem__(self, name: str) -> str:
        v = self.get(name)
        if v is None:
            raise KeyError(name)
        return v

    def __contains__(self, name: str) -> bool:
        return bool(self._lines(name))

    def has(self, name: str) -> bool:
        return name in self

    def count(self, name: str) -> int:
        return len(self.get_all(name))

    def add(self, name: str, value, first: bool = False) -> "Message":
        """Append a header line; first=True puts it above the first line
        of the same header (or at the top of all headers)."""
        entry = [name, str(value)]
        if first:
            k = header_key(name)
            for i, h in enumerate(self.headers):
                if header_key(h[0]) == k:
                    self.headers.insert(i, entry)
                    return self
            self.headers.insert(0, entry)
        else:
            self.headers.append(entry)
        return self

    def set(self, name: str, value) -> "Message":
        """Replace every line of a header by one, where the first was."""
        k = header_key(name)
        for i, h in enumerate(self.headers):
            if header_key(h[0]) == k:
                h[1] = str(value)
                self.headers[i + 1:] = [x for x in self.headers[i + 1:]
                                        if header_key(x[0]) != k]
                return self
        self.headers.append([name, str(value)])
        return self

    def remove(self, name: str) -> int:
        k = header_key(name)
        before = len(self.headers)
        self.headers = [h for h in self.headers if header_key(h[0]) != k]
        return before - len(self.headers)

    # -- convenient views -----------------------------------------------
    @property
    def vias(self) -> list[Via]:
        return [Via(v) for v in self.get_all("Via")]

    @property
    def top_via(self) -> Optional[Via]:
        v = self.get("Via")
        return Via(v) if v is not None else None

    @property
    def branch(self) -> Optional[str]:
        v = self.top_via
        return v.branch if v else None

    @property
    def call_id(self) -> Optional[str]:
        return self.get("Call-ID")

    @property
    def cseq(self) -> tuple[int, str]:
        v = self.get("CSeq")
        if v is None:
            raise KeyError("CSeq")
        num, meth = v.split()
        return int(num), meth.upper()

    @property
    def cseq_method(self) -> Optional[str]:
        v = self.get("CSeq")
        parts = v.split() if v else []
        return parts[1].upper() if len(parts) == 2 else None

    @property
    def from_tag(self) -> Optional[str]:
        v = self.get("From")
        return NameAddr(v).tag if v else None

    @property
    def to_tag(self) -> Optional[str]:
        v = self.get("To")
        return NameAddr(v).tag if v else None

    @property
    def max_forwards(self) -> Optional[int]:
        v = self.get("Max-Forwards")
        return int(v) if v is not None else None

    @property
    def contact_uri(self) -> Optional[str]:
        v = self.get("Contact")
        return NameAddr(v).uri if v else None

    @property
    def routes(self) -> list[str]:
        return [NameAddr(v).uri for v in self.get_all("Route")]

    @property
    def record_routes(self) -> list[str]:
        return [NameAddr(v).uri for v in self.get_all("Record-Route")]

    # -- wire format -----------------------------------------------------
    def encode(self, content_length: bool = True) -> bytes:
        """The message as bytes. content_length=True sets Content-Length
        to the body's size (replacing any); False writes headers as they
        are (for deliberately wrong messages)."""
        headers = self.headers
        if content_length:
            n = str(len(self.body))
            headers = [list(h) for h in headers]
            found = False
            for h in headers:
                if header_key(h[0]) == "content-length":
                    if not found:
                        h[1], found = n, True
                    else:
                        h[1] = None
            headers = [h for h in headers if h[1] is not None]
            if not found:
                headers.append(["Content-Length", n])
        head = self.start_line + CRLF + "".join(f"{n}: {v}{CRLF}" for n, v in headers) + CRLF
        return head.encode("utf-8", "surrogateescape") + self.body

    def __bytes__(self) -> bytes:
        return self.encode()

    def __str__(self) -> str:
        return self.encode().decode("utf-8", "replace")

    def __repr__(self) -> str:
        return f"<Message {self.start_line!r}>"

    def summary(self) -> str:
        """One line for assertion messages."""
        cs = self.get("CSeq", "?")
        return f"{self.start_line} [CSeq {cs}, Call-ID {self.call_id}]"


def _header_items(headers) -> list[tuple[str, str]]:
    if headers is None:
        return []
    if isinstance(headers, dict):
        items = []
        for k, v in headers.items():
            if isinstance(v, (list, tuple)):
                items.extend((k, x) for x in v)
            else:
                items.append((k, v))
        return items
    return [(k, v) for k, v in headers]


_START_REQ = re.compile(r"^([!-~]+)\s+(\S+)\s+(SIP/\d+\.\d+)\s*$", re.I)
_START_RESP = re.compile(r"^(SIP/\d+\.\d+)\s+(\d{3})(?:\s+(.*))?$", re.I)


def parse(data: Union[bytes, str]) -> Message:
    """Parse one SIP message, tolerantly: CRLF or bare LF line ends,
    leading blank lines ignored, folded header lines joined, a header
    line without a colon or a missing Content-Length tolerated (the body
    is then everything after the blank line). Raises SipParseError when
    even the start line is unusable."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    raw = data
    data = data.lstrip(b"\r\n")
    m = re.search(rb"\r?\n\r?\n", data)
    if m:
        head, rest = data[:m.start()], data[m.end():]
    else:
        head, rest = data, b""
    lines = re.split(r"\r?\n", head.decode("utf-8", "surrogateescape"))
    if not lines or not lines[0].strip():
        raise SipParseError("empty message")
    msg = Message()
    msg.raw = raw
    start = lines[0].strip()
    mr = _START_RESP.match(start)
    mq = _START_REQ.match(start) if not mr else None
    if mr:
        msg.version, msg.status, msg.reason = mr.group(1), int(mr.group(2)), mr.group(3) or ""
    elif mq:
        msg.method, msg.ruri, msg.version = mq.group(1), mq.group(2), mq.group(3)
    else:
        raise SipParseError(f"bad start line {start!r}")
    msg.bad_lines = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and msg.headers:
            msg.headers[-1][1] = (msg.headers[-1][1] + " " + line.strip()).strip()
            continue
        if ":" not in line:
            if line.strip():
                msg.bad_lines.append(line)
            continue
        name, value = line.split(":", 1)
        msg.headers.append([name.strip(), value.strip()])
    cl = msg.get("Content-Length")
    body = rest
    if cl is not None:
        try:
            n = int(cl.strip())
            if 0 <= n:
                body = rest[:n]
        except ValueError:
            pass
    msg.body = body
    return msg


def try_parse(data: bytes) -> Optional[Message]:
    try:
        return parse(data)
    except (SipParseError, ValueError, IndexError):
        return None


def _addr(addr) -> tuple[str, int]:
    """Accept (host, port), 'host:port', '[v6]:port' or a Uri."""
    if isinstance(addr, Uri):
        return addr.hostport()
    if isinstance(addr, str):
        h, p = _split_hostport(addr)
        return h, p or 5060
    host, port = addr[0], addr[1]
    return _strip_brackets(host), int(port)


def check_loopback(addr: tuple) -> tuple:
    """The tests send to loopback only: refuse anything else (including
    names, which would need DNS)."""
    try:
        ok = ipaddress.ip_address(addr[0]).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise SipError(f"refusing to send to {addr[0]!r}: not a loopback address")
    return addr


def next_hop(msg: Message) -> tuple[str, int]:
    """Where a UA sends a request (§8.1.2): the top Route's URI if there
    is one (loose routing), else the Request-URI. IP literals only."""
    routes = msg.get_all("Route")
    target = NameAddr(routes[0]).uri if routes else msg.ruri
    return Uri(target).hostport()


class Dialog:
    """Dialog state of one side (§12), enough to build in-dialog requests.

    Build it with Dialog.uac(ua, invite, response) on the caller side, or
    Dialog.uas(ua, request, response) on the callee side."""

    def __init__(self, ua: "UA", call_id: str, local: str, remote: str, local_cseq: int,
                 remote_target: str, route_set: list[str], invite_cseq: int):
        self.ua = ua
        self.call_id = call_id
        self.local = local            # our From value (with our tag)
        self.remote = remote          # their To value (with their tag)
        self.local_cseq = local_cseq
        self.remote_target = remote_target
        self.route_set = route_set    # Route values in the order to send
        self.invite_cseq = invite_cseq

    @classmethod
    def uac(cls, ua: "UA", invite: Message, response: Message) -> "Dialog":
        # §12.1.2: route set = Record-Route reversed; remote target = Contact.
        rr = list(reversed(response.get_all("Record-Route")))
        contact = response.contact_uri
        if contact is None:
            raise SipError(f"no Contact in {response.summary()}")
        n, _ = invite.cseq
        return cls(ua, invite.call_id, invite["From"], response["To"], n, contact, rr, n)

    @classmethod
    def uas(cls, ua: "UA", request: Message, response: Message) -> "Dialog":
        # §12.1.1: route set = Record-Route in order; remote target = Contact.
        rr = list(request.get_all("Record-Route"))
        contact = request.contact_uri
        if contact is None:
            raise SipError(f"no Contact in {request.summary()}")
        return cls(ua, request.call_id, response["To"], request["From"], 0, contact, rr,
                   request.cseq[0])

    def request(self, method: str, headers: Iterable = (), body=b"",
                max_forwards: Optional[int] = 70) -> Message:
        """An in-dialog request (§12.2.1.1). ACK reuses the INVITE's CSeq
        number; anything else takes the next local CSeq."""
        method = method.upper()
        if method == "ACK":
            num = self.invite_cseq
        else:
            self.local_cseq += 1
            num = self.local_cseq
        routes = list(self.route_set)
        ruri = self.remote_target
        if routes and "lr" not in Uri(NameAddr(routes[0]).uri).params:
            # Strict router first (§12.2.1.1): it becomes the R-URI and the
            # remote target goes to the end of the Route set.
            ruri = NameAddr(routes[0]).uri
            routes = routes[1:] + [f"<{self.remote_target}>"]
        m = Message.request(method, ruri)
        m.add("Via", self.ua.via())
        if max_forwards is not None:
            m.add("Max-Forwards", max_forwards)
        for r in routes:
            m.add("Route", r)
        m.add("From", self.local)
        m.add("To", self.remote)
        m.add("Call-ID", self.call_id)
        m.add("CSeq", f"{num} {method}")
        for k, v in _header_items(headers):
            m.add(k, v)
        m.body = _as_bytes(body)
        return m

    def next_hop(self, msg: Optional[Message] = None) -> tuple[str, int]:
        if msg is not None:
            return next_hop(msg)
        if self.route_set:
            return Uri(NameAddr(self.route_set[0]).uri).hostport()
        return Uri(self.remote_target).hostport()


class UA:
    """A SIP user agent on one UDP socket bound to loopback.

    Received messages that a matching call skipped stay queued and are
    returned by later recv calls, so a test never loses a message it did
    not ask for yet."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, user: str = "alice"):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((host, port))
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.user = user
        self.family = family
        self.pending: list[Message] = []
        self.sent: list[tuple[bytes, tuple]] = []
        self.received: list[Message] = []
        self._to_tags: dict = {}

    # -- identity -----------------------------------------------------------
    @property
    def addr(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def hostport(self) -> str:
        return format_hostport(self.host, self.port)

    def uri(self, user: Optional[str] = None) -> str:
        u = self.user if user is None else user
        return f"sip:{u}@{self.hostport}" if u else f"sip:{self.hostport}"

    def via(self, branch: Optional[str] = None, rport: bool = True) -> str:
        v = f"SIP/2.0/UDP {self.hostport};branch={branch or new_branch()}"
        return v + (";rport" if rport else "")

    # -- I/O ------------------------------------------------------------------
    def send(self, msg, addr, content_length: bool = True) -> bytes:
        """Send a Message, str or bytes to addr ((host, port) or 'host:port');
        SipError for a non-loopback address."""
        if isinstance(msg, Message):
            data = msg.encode(content_length)
        elif isinstance(msg, str):
            data = msg.encode("utf-8", "surrogateescape")
        else:
            data = bytes(msg)
        dst = check_loopback(_addr(addr))
        self.sock.sendto(data, dst)
        self.sent.append((data, dst))
        return data

    def recv_raw(self, timeout: float = DEFAULT_TIMEOUT) -> tuple[bytes, tuple]:
        r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not r:
            raise SipTimeout(f"nothing received on {self.hostport} within {timeout}s")
        data, src = self.sock.recvfrom(65536)
        return data, src[:2]

    def _read_one(self, timeout: float) -> Message:
        data, src = self.recv_raw(timeout)
        try:
            m = parse(data)
        except SipParseError as e:
            raise SipParseError(f"unparsable datagram from {src}: {e}: {data[:200]!r}") from e
        m.source, m.time = src, time.monotonic()
        self.received.append(m)
        return m

    def recv(self, timeout: float = DEFAULT_TIMEOUT) -> Message:
        """The next message (queued first); SipTimeout if none in time."""
        if self.pending:
            return self.pending.pop(0)
        return self._read_one(timeout)

    def expect(self, match: Callable[[Message], bool], timeout: float = DEFAULT_TIMEOUT,
               what: str = "a matching message") -> Message:
        """The first message for which match(m) is true; others are queued."""
        for i, m in enumerate(self.pending):
            if match(m):
                return self.pending.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                m = self._read_one(left)
            except SipTimeout:
                break
            if match(m):
                return m
            self.pending.append(m)
        seen = "; ".join(m.summary() for m in self.pending[-5:]) or "nothing"
        raise SipTimeout(f"{what} not received on {self.hostport} within {timeout}s "
                         f"(queued: {seen})")

    def recv_response(self, request: Optional[Message] = None, timeout: float = DEFAULT_TIMEOUT,
                      final: bool = False, code: Optional[int] = None,
                      method: Optional[str] = None) -> Message:
        """A response (to `request` if given: same Call-ID and CSeq);
        final=True skips provisionals, code= waits for that code."""
        def ok(m: Message) -> bool:
            if not m.is_response:
                return False
            if request is not None and (m.call_id != request.call_id
                                        or m.get("CSeq") != request.get("CSeq")):
                return False
            if method is not None and m.cseq_method != method.upper():
                return False
            if final and m.status < 200:
                return False
            if code is not None and m.status != code:
                return False
            return True
        what = "a " + ("final " if final else "") + "response"
        if code is not None:
            what += f" {code}"
        if request is not None:
            what += f" to {request.method} (CSeq {request.get('CSeq')})"
        return self.expect(ok, timeout, what)

    def recv_request(self, method: Optional[str] = None,
                     timeout: float = DEFAULT_TIMEOUT) -> Message:
        return self.expect(lambda m: m.is_request and (method is None or m.method == method.upper()),
                           timeout, f"a {method or ''} request".replace("  ", " "))

    def expect_nothing(self, timeout: float = 1.0) -> None:
        """Assert that no message (queued or new) arrives within timeout."""
        if self.pending:
            raise AssertionError(f"unexpected message queued: {self.pending[0].summary()}")
        try:
            data, src = self.recv_raw(timeout)
        except SipTimeout:
            return
        raise AssertionError(f"unexpected datagram from {src}: {data[:300]!r}")

    def drain(self, timeout: float = 0.05) -> list[Message]:
        out = list(self.pending)
        self.pending.clear()
        while True:
            try:
                out.append(self._read_one(timeout))
            except SipTimeout:
                return out
            except SipParseError:
                continue

    # -- builders ---------------------------------------------------------------
    def request(self, method: str, ruri: str, *, to: Optional[str] = None,
                from_: Optional[str] = None, from_tag: Optional[str] = None,
                to_tag: Optional[str] = None, call_id: Optional[str] = None, cseq: int = 1,
                branch: Optional[str] = None, max_forwards: Optional[int] = 70,
                contact: Optional[bool] = None, headers: Iterable = (), body=b"",
                content_type: Optional[str] = None, route: Iterable[str] = ()) -> Message:
        """A new out-of-dialog request (§8.1.1): Via (z9hG4bK branch,
        rport), Max-Forwards (None leaves it out), To, From with a tag,
        Call-ID, CSeq, Contact (by default for dialog-creating and
        OPTIONS/REGISTER requests), then `headers`, then the body."""
        method = method.upper()
        m = Message.request(method, ruri)
        m.add("Via", self.via(branch))
        if max_forwards is not None:
            m.add("Max-Forwards", max_forwards)
        for r in route:
            m.add("Route", r if r.startswith("<") else f"<{r}>")
        to_val = to or f"<{ruri}>"
        if to_tag:
            to_val += f";tag={to_tag}"
        m.add("To", to_val)
        m.add("From", (from_ or f"<{self.uri()}>") + f";tag={from_tag or new_tag()}")
        m.add("Call-ID", call_id or new_call_id(self.host.strip("[]")))
        m.add("CSeq", f"{cseq} {method}")
        if contact is None:
            contact = method in ("INVITE", "OPTIONS", "REGISTER", "SUBSCRIBE", "REFER",
                                 "UPDATE", "NOTIFY")
        if contact:
            m.add("Contact", f"<{self.uri()}>")
        for k, v in _header_items(headers):
            m.add(k, v)
        if body:
            m.add("Content-Type", content_type or "application/sdp")
        m.body = _as_bytes(body)
        return m

    def _tag_for(self, req: Message) -> str:
        key = (req.call_id, req.from_tag, req.branch)
        if key not in self._to_tags:
            self._to_tags[key] = new_tag()
        return self._to_tags[key]

    def response_to(self, req: Message, code: int, reason: Optional[str] = None, *,
                    to_tag: Optional[str] = None, headers: Iterable = (), body=b"",
                    contact: Optional[bool] = None, record_route: bool = True,
                    content_type: Optional[str] = None) -> Message:
        """A response to req (§8.2.6.2): all Vias in order, From, To (with
        a tag unless the request had one, or it is a 100), Call-ID, CSeq;
        Record-Route copied into 101-299 responses to INVITE/SUBSCRIBE
        (§12.1.1); Contact added to those too."""
        r = Message.response(code, reason)
        for v in req.get_all("Via"):
            r.add("Via", v)
        if record_route and 100 < code < 300 and req.method in ("INVITE", "SUBSCRIBE"):
            for rr in req.get_all("Record-Route"):
                r.add("Record-Route", rr)
        r.add("From", req["From"])
        to = req["To"]
        if NameAddr(to).tag is None and code != 100:
            to += f";tag={to_tag or self._tag_for(req)}"
        r.add("To", to)
        r.add("Call-ID", req.call_id)
        r.add("CSeq", req["CSeq"])
        if contact is None:
            contact = 100 < code < 300 and req.method in ("INVITE", "SUBSCRIBE", "REFER", "UPDATE")
        if contact:
            r.add("Contact", f"<{self.uri()}>")
        for k, v in _header_items(headers):
            r.add(k, v)
        if body:
            r.add("Content-Type", content_type or "application/sdp")
        r.body = _as_bytes(body)
        return r

    def ack_for(self, invite: Message, response: Message) -> Message:
        """ACK for a final response to invite.

        non-2xx (§17.1.1.3): same R-URI, Call-ID, From, CSeq number, Route
        and top Via (same branch) as the INVITE; To from the response. It
        goes where the INVITE went.
        2xx (§13.2.2.4): an in-dialog request with a new branch, R-URI =
        the 2xx's Contact, Route = its Record-Route reversed; send it to
        next_hop(ack)."""
        if response.status is None or response.status < 200:
            raise SipError("ACK is only for a final response")
        if response.status < 300:
            return Dialog.uac(self, invite, response).request("ACK")
        m = Message.request("ACK", invite.ruri)
        m.add("Via", invite.get_all("Via")[0])
        m.add("Max-Forwards", 70)
        for r in invite.get_all("Route"):
            m.add("Route", r)
        m.add("From", invite["From"])
        m.add("To", response["To"])
        m.add("Call-ID", invite.call_id)
        m.add("CSeq", f"{invite.cseq[0]} ACK")
        return m

    def cancel_for(self, invite: Message, reason: Optional[str] = None) -> Message:
        """CANCEL for a pending INVITE (§9.1): same R-URI, Call-ID, To,
        From, CSeq number and Route; one Via equal to the INVITE's top Via
        (same branch). reason, e.g. 'SIP;cause=487;text="x"', adds an RFC
        3326 Reason header."""
        m = Message.request("CANCEL", invite.ruri)
        m.add("Via", invite.get_all("Via")[0])
        m.add("Max-Forwards", 70)
        for r in invite.get_all("Route"):
            m.add("Route", r)
        m.add("From", invite["From"])
        m.add("To", invite["To"])
        m.add("Call-ID", invite.call_id)
        m.add("CSeq", f"{invite.cseq[0]} CANCEL")
        if reason:
            m.add("Reason", reason)
        return m

    def dialog(self, invite: Message, response: Message) -> Dialog:
        return Dialog.uac(self, invite, response)

    def bye_for(self, invite: Message, response: Message,
                dialog: Optional[Dialog] = None) -> Message:
        """BYE within the dialog the 2xx `response` created (§15.1.1)."""
        return (dialog or Dialog.uac(self, invite, response)).request("BYE")

    # -- lifecycle ---------------------------------------------------------------
    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "UA":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# A policy step: a code, (code, delay_s), (code, delay_s, headers) or a dict
# with keys code, delay, reason, headers, body. Delays are from the previous
# step of the same request (the first from its arrival).
Step = Union[int, tuple, dict]


def _norm_step(step) -> dict:
    if isinstance(step, int):
        return {"code": step, "delay": 0.0}
    if isinstance(step, tuple):
        d = {"code": step[0], "delay": float(step[1]) if len(step) > 1 else 0.0}
        if len(step) > 2:
            d["headers"] = step[2]
        return d
    if isinstance(step, dict):
        d = dict(step)
        d.setdefault("delay", 0.0)
        return d
    raise TypeError(f"bad UAS step {step!r}")


class _ServerTxn:
    def __init__(self, req: Message):
        self.req = req
        self.last: Optional[Message] = None
        self.final = False
        self.cancelled = False


def send_windowed(ua: UA, target, reqs, window: int, stall: float, limit: float,
                  on_final: Optional[Callable[[Message, Message], None]] = None) -> dict:
    """Send reqs to target keeping at most `window` without a final
    response; on_final(request, final) for each first final (an INVITE's
    ACK). Returns {call_id: final response}; missing ones never got one:
    the loop ends after `stall` s without progress or `limit` s in all."""
    reqs = list(reqs)
    results, pending = {}, {}
    i = 0
    t_end = time.monotonic() + limit
    last = time.monotonic()
    while (i < len(reqs) or pending) and time.monotonic() < t_end:
        while i < len(reqs) and len(pending) < window:
            ua.send(reqs[i], target)
            pending[(reqs[i].call_id, reqs[i]["CSeq"])] = reqs[i]
            i += 1
        try:
            data, _ = ua.recv_raw(0.5)
        except SipTimeout:
            if time.monotonic() - last > stall:
                break
            continue
        m = try_parse(data)
        if m is None or not m.is_response or m.status < 200:
            continue
        req = pending.pop((m.call_id, m.get("CSeq")), None)
        if req is None:
            continue  # a retransmitted final: dealt with already
        if on_final:
            on_final(req, m)
        results[m.call_id] = m
        last = time.monotonic()
    return results


class ScriptedUAS:
    """A UAS on its own thread that answers by a policy and records all.

    policy maps a method to:
      - a list of steps (see Step): e.g. {"INVITE": [100, 180, (200, 0.5)]}
      - None or []: never answer (the request is still recorded)
      - a callable(uas, request) returning a list of steps or None
    Key "*" is the fallback; without it unknown methods get 405.
    ACK is never answered. CANCEL (unless the policy names it) gets 200
    and, if its INVITE has no final response yet, the INVITE gets 487 and
    its remaining steps are dropped (§9.2). A retransmitted request (same
    top-Via branch, sent-by and method) gets the last response again.
    Responses go to the top Via (received/rport, §18.2.2), or to the
    packet's source with reply_to="source".
    """

    # 180 and 200 a little apart: through a multi-worker proxy, responses
    # sent back to back may be relayed out of order, and a 180 relayed
    # after the 200 is rightly dropped (RFC 3261 §16.7 step 5).
    DEFAULT_POLICY = {"INVITE": [100, (180, 0.05), (200, 0.05)], "BYE": [200], "OPTIONS": [200]}

    def __init__(self, policy: Optional[dict] = None, host: str = "127.0.0.1", port: int = 0,
                 user: str = "uas", reply_to: str = "via", max_runtime: float = 300.0,
                 retransmit_2xx: bool = False, t1: float = 0.5):
        self.ua = UA(host, port, user)
        self.policy = dict(self.DEFAULT_POLICY if policy is None else policy)
        self.reply_to = reply_to
        self.max_runtime = max_runtime
        self.retransmit_2xx = retransmit_2xx
        self.t1 = t1
        self.received: list[Message] = []
        self.unparsed: list[tuple] = []  # (bytes, source) that were not SIP
        self.sent: list[Message] = []
        self.errors: list[BaseException] = []
        self._txns: dict = {}
        self._heap: list = []
        self._seq = itertools.count()
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._thread: Optional[threading.Thread] = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._unacked: dict = {}  # (call-id, cseq num) -> (msg, addr)

    @property
    def addr(self) -> tuple[str, int]:
        return self.ua.addr

    @property
    def port(self) -> int:
        return self.ua.port

    @property
    def host(self) -> str:
        return self.ua.host

    @property
    def hostport(self) -> str:
        return self.ua.hostport

    def uri(self, user: Optional[str] = None) -> str:
        return self.ua.uri(user)

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> "ScriptedUAS":
        self._thread = threading.Thread(target=self._run, name=f"uas-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self, raise_errors: bool = True) -> None:
        self._stop.set()
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        if self._thread is not None:
            self._thread.join(5.0)
        self.ua.close()
        self._wake_r.close()
        self._wake_w.close()
        if raise_errors and self.errors:
            raise SipError(f"ScriptedUAS thread failed: {self.errors[0]!r}") from self.errors[0]

    def __enter__(self) -> "ScriptedUAS":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop(raise_errors=exc[0] is None)

    # -- what it saw -------------------------------------------------------------------
    def requests(self, method: Optional[str] = None, retransmissions: bool = False) -> list[Message]:
        with self._cond:
            return [m for m in self.received if m.is_request
                    and (method is None or m.method == method.upper())
                    and (retransmissions or not m.retransmission)]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0,
                 retransmissions: bool = False) -> list[Message]:
        """Wait until `count` requests of `method` arrived; returns them
        all, or raises SipTimeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [m for m in self.received if m.is_request and m.method == method.upper()
                       and (retransmissions or not m.retransmission)]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = ", ".join(m.summary() for m in self.received[-5:]) or "nothing"
                    raise SipTimeout(f"UAS {self.hostport}: {count} {method} not received "
                                     f"within {timeout}s (got {len(got)}; last: {seen})")
                self._cond.wait(left)

    def assert_nothing_received(self, wait: float = 0.0) -> None:
        if wait:
            time.sleep(wait)
        with self._cond:
            if self.received or self.unparsed:
                raise AssertionError("UAS received: " + "; ".join(
                    [m.summary() for m in self.received] + [repr(d[:80]) for d, _ in self.unparsed]))

    # -- the loop ------------------------------------------------------------------
    def _run(self) -> None:
        end = time.monotonic() + self.max_runtime
        try:
            while not self._stop.is_set() and time.monotonic() < end:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    _, _, action = heapq.heappop(self._heap)
                    action()
                timeout = 0.2
                if self._heap:
                    timeout = max(0.0, min(timeout, self._heap[0][0] - time.monotonic()))
                r, _, _ = select.select([self.ua.sock, self._wake_r], [], [], timeout)
                if self.ua.sock in r:
                    try:
                        data, src = self.ua.sock.recvfrom(65536)
                    except OSError:
                        continue
                    m = try_parse(data)
                    if m is None:
                        with self._cond:
                            self.unparsed.append((data, src[:2]))
                        continue
                    m.source, m.time = src[:2], time.monotonic()
                    try:
                        self._on_message(m)
                    except Exception as e:  # keep serving; stop() reports it
                        self.errors.append(e)
        except BaseException as e:  # surfaced by stop()
            self.errors.append(e)

    def _schedule(self, delay: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), action))

    def _dest(self, resp: Message, source) -> tuple:
        if self.reply_to == "source":
            return source
        return resp.top_via.reply_addr(source)

    def _send(self, msg: Message, dest) -> bool:
        try:
            self.ua.send(msg, dest)
            return True
        except (SipError, OSError) as e:  # e.g. a Via off loopback: surfaced by stop()
            self.errors.append(e)
            return False

    def _send_response(self, txn: _ServerTxn, resp: Message) -> None:
        try:
            dest = self._dest(resp, txn.req.source)
        except SipError as e:
            self.errors.append(e)
            return
        if not self._send(resp, dest):
            return
        with self._cond:
            self.sent.append(resp)
        txn.last = resp
        if resp.status >= 200:
            txn.final = True
            if self.retransmit_2xx and resp.status < 300 and txn.req.method == "INVITE":
                key = (resp.call_id, resp.cseq[0])
                self._unacked[key] = (resp, dest)
                self._schedule(self.t1, lambda: self._retransmit_2xx(key, self.t1 * 2, 0))

    def _retransmit_2xx(self, key, interval: float, n: int) -> None:
        # §13.3.1.4: T1 doubling to T2 (4 s), given up after 64*T1.
        if key not in self._unacked or n >= 10:
            self._unacked.pop(key, None)
            return
        resp, dest = self._unacked[key]
        self._send(resp, dest)
        self._schedule(interval, lambda: self._retransmit_2xx(key, min(interval * 2, 4.0), n + 1))

    def _txn_key(self, m: Message, method: Optional[str] = None):
        v = m.top_via
        return (v.branch if v else None, v.sent_by if v else None, method or m.method)

    def _on_message(self, m: Message) -> None:
        if m.is_request:
            key = self._txn_key(m)
            if m.method != "ACK" and key in self._txns:
                m.retransmission = True
        with self._cond:
            self.received.append(m)
            self._cond.notify_all()
        if not m.is_request:
            return
        if m.method == "ACK":
            self._unacked.pop((m.call_id, m.cseq[0]), None)
            return
        if m.retransmission:
            txn = self._txns[self._txn_key(m)]
            if txn.last is not None:
                self._send(txn.last, self._dest(txn.last, m.source))
            return
        txn = _ServerTxn(m)
        self._txns[self._txn_key(m)] = txn
        if m.method == "CANCEL" and "CANCEL" not in self.policy:
            self._on_cancel(txn)
            return
        allow = ", ".join(sorted((set(self.policy) - {"*"}) | {"ACK", "CANCEL"}))
        rule = self.policy.get(m.method, self.policy.get("*", [(405, 0.0, {"Allow": allow})]))
        if callable(rule):
            rule = rule(self, m)
        if not rule:
            return
        t = 0.0
        for step in rule:
            s = _norm_step(step)
            t += float(s.get("delay", 0.0))
            self._schedule(t, lambda s=s: self._do_step(txn, s))

    def _do_step(self, txn: _ServerTxn, s: dict) -> None:
        if txn.final or txn.cancelled:
            return
        resp = self.ua.response_to(txn.req, s["code"], s.get("reason"),
                                   headers=s.get("headers", ()), body=s.get("body", b""))
        self._send_response(txn, resp)

    def _on_cancel(self, cancel_txn: _ServerTxn) -> None:
        c = cancel_txn.req
        inv = self._txns.get((c.branch, c.top_via.sent_by, "INVITE"))
        if inv is None:
            self._send_response(cancel_txn, self.ua.response_to(c, 481))
            return
        self._send_response(cancel_txn, self.ua.response_to(c, 200))
        if not inv.final:
            inv.cancelled = True
            self._send_response(inv, self.ua.response_to(inv.req, 487))
