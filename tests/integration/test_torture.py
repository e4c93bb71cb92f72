"""RFC 4475 torture messages against one node, over UDP and over TCP (a fresh connection each).

Every message must get a sane answer (a status line with a code in 100..699, and for the invalid
ones a rejection where RFC 4475 asks for one) or be dropped (nothing within a second), and after
every message the node must still answer OPTIONS. The conftest fails the module if the node does
not exit 0, so under AddressSanitizer a leak or an overflow anywhere in the suite fails it.

Each message goes out as it is and, when its top Via names another transport than the one it is
sent over, once more with only that transport token changed (UDP/TCP/TLS are all three letters, so
the Content-Length stays right): as it is, the mismatch is what the node sees first (nta drops it);
rewritten, the rest of the message reaches the parser and the application.

Each case is sent from its own loopback address (127.a.b.c) and listens on the port its top Via
names: that is where RFC 3261 18.2.2 sends a UDP response (received address, sent-by port), so no
case hears the late answers or INVITE retransmissions meant for another.

TANDEM_TORTURE_TABLE=<file> writes the observed answers as the markdown table kept in
docs/security.md."""
import glob
import os
import random
import re
import select
import socket
import time

import pytest

from harness import SOURCE
from sipclient import SipClient

TORTURE_DIR = os.path.normpath(os.environ.get("TANDEM_TORTURE_DIR") or
                               os.path.join(SOURCE, "..", "shared", "sip-torture"))
WAIT = 1.0  # no answer within this long counts as dropped

# RFC 4475 section and what the RFC asks of an element receiving the message:
#   valid    - well-formed: must not break; any sane answer (401, 405, 501 ...) or a drop
#   either   - invalid, but the RFC lets an element be liberal: any sane answer or a drop
#   reject   - the RFC asks for an error: a 4xx (or the listed other codes) or a drop
#   response - a response: never answered, whatever it holds
EXPECT = {
    "wsinv": ("3.1.1.1", "valid", ""),
    "intmeth": ("3.1.1.2", "valid", ""),
    "esc01": ("3.1.1.3", "valid", ""),
    "escnull": ("3.1.1.4", "valid", ""),
    "esc02": ("3.1.1.5", "valid", "unknown method RE%47IST%45R, not REGISTER"),
    "lwsdisp": ("3.1.1.6", "valid", ""),
    "longreq": ("3.1.1.7", "valid", ""),
    "dblreq": ("3.1.1.8", "valid", "the INVITE after it is body (Content-Length 0) on UDP"),
    "semiuri": ("3.1.1.9", "valid", ""),
    "transports": ("3.1.1.10", "valid", ""),
    "mpart01": ("3.1.1.11", "valid", ""),
    "unreason": ("3.1.1.12", "response", ""),
    "noreason": ("3.1.1.13", "response", ""),
    "badinv01": ("3.1.2.1", "reject", "400"),
    "clerr": ("3.1.2.2", "reject", "400 on UDP; on TCP the node waits for the rest"),
    "ncl": ("3.1.2.3", "reject", "400, or close the TCP connection"),
    "scalar02": ("3.1.2.4", "reject", "400 (CSeq)"),
    "scalarlg": ("3.1.2.5", "response", ""),
    "quotbal": ("3.1.2.6", "reject", "400"),
    "ltgtruri": ("3.1.2.7", "reject", "400"),
    "lwsruri": ("3.1.2.8", "reject", "400"),
    "lwsstart": ("3.1.2.9", "either", "400 or ignore the extra SP"),
    "trws": ("3.1.2.10", "either", "400 or ignore the trailing SP"),
    "escruri": ("3.1.2.11", "either", "400 or ignore the escaped headers"),
    "baddate": ("3.1.2.12", "either", "400 or ignore Date"),
    "regbadct": ("3.1.2.13", "either", "400 or infer the <>"),
    "badaspec": ("3.1.2.14", "either", "400 or ignore Warning"),
    "baddn": ("3.1.2.15", "either", "400 or infer the quotes"),
    "badvers": ("3.1.2.16", "reject", "505", {505}),
    "mismatch01": ("3.1.2.17", "reject", "400"),
    "mismatch02": ("3.1.2.18", "reject", "501 (or 400)", {501}),
    "bigcode": ("3.1.2.19", "response", ""),
    "badbranch": ("3.2.1", "valid", "RFC 2543 transaction matching"),
    "insuf": ("3.3.1", "reject", "400"),
    "unkscm": ("3.3.2", "reject", "416"),
    "novelsc": ("3.3.3", "reject", "416 (or 404)"),
    "unksm2": ("3.3.4", "reject", "400 from a registrar (To is not SIP)"),
    "bext01": ("3.3.5", "reject", "420 with Unsupported"),
    "invut": ("3.3.6", "reject", "415 with Accept"),
    "regaut01": ("3.3.7", "valid", "401 with a Digest challenge"),
    "multi01": ("3.3.8", "reject", "400"),
    "mcl01": ("3.3.9", "reject", "400, or close the TCP connection"),
    "bcast": ("3.3.10", "response", ""),
    "zeromf": ("3.3.11", "valid", "483 from a proxy; an endpoint answers"),
    "cparam01": ("3.3.12", "valid", ""),
    "cparam02": ("3.3.13", "valid", ""),
    "regescrt": ("3.3.14", "valid", "a registrar must not drop the escaped header"),
    "sdp01": ("3.3.15", "reject", "406 or 400"),
    "inv2543": ("3.4.1", "valid", ""),
}

# The top Via's sent-protocol, allowing the folding wsinv puts in it (LWS = [*WSP CRLF] 1*WSP).
_SWS = rb"(?:(?:[ \t]*\r\n)?[ \t]+)?"
TOP_VIA = re.compile(rb"(?im)^((?:via|v)[ \t]*:" + _SWS + rb"SIP" + _SWS + rb"/" + _SWS +
                     rb"\d\.\d" + _SWS + rb"/" + _SWS + rb")(UDP|TCP|TLS)" + _SWS +
                     rb"(\[[0-9a-f:.]+\]|[^\s;:,]+)(?::(\d+))?")
STATUS_LINE = re.compile(rb"^SIP/2\.0 (\d{3}) [^\r\n]*$")


def _load():
    files = sorted(glob.glob(os.path.join(TORTURE_DIR, "*.dat")))
    return {os.path.basename(f)[:-4]: open(f, "rb").read() for f in files}


MESSAGES = _load()  # empty when the directory is missing: one failing case says so


def _cases():
    if not MESSAGES:
        return [pytest.param(None, None, id="missing-torture-dir")]
    cases = []
    for name, data in MESSAGES.items():
        m = TOP_VIA.search(data)
        via = m.group(2).decode().lower() if m else None
        for transport in ("udp", "tcp"):
            cases.append(pytest.param(name, transport, id=f"{name}-{transport}"))
            if via and via != transport:
                cases.append(pytest.param(name, transport + "-via",
                                          id=f"{name}-{transport}-via"))
    return cases


def via_port(data):
    m = TOP_VIA.search(data)
    return int(m.group(4)) if m and m.group(4) else 5060


def with_via_transport(data, transport):
    m = TOP_VIA.search(data)
    return data[:m.start(2)] + transport.upper().encode() + data[m.end(2):]


class Sources:
    """Hands out a fresh 127.x.y.z per case."""

    def __init__(self):
        self.a, self.b = random.randint(1, 254), random.randint(0, 200)
        self.n = 0

    def next(self):
        self.n += 1
        return f"127.{self.a}.{self.b + self.n // 250}.{self.n % 250 + 2}"


RESULTS = {}


@pytest.fixture(scope="module")
def env(stack):
    node = stack.node("node1")
    yield node, Sources()
    table = os.environ.get("TANDEM_TORTURE_TABLE")
    if table:
        with open(table, "w") as f:
            f.write(markdown_table())


def status_lines(buf):
    """The start lines of the responses in a TCP byte stream (ours carry no body)."""
    return [part.split(b"\r\n", 1)[0] for part in buf.split(b"\r\n\r\n") if part.strip()]


def exchange(node, source, data, transport):
    """Sends data from source; returns (start lines received within WAIT, tcp closed?)."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((source, via_port(data)))
    conn, buf, lines, closed = None, b"", [], False
    try:
        if transport == "udp":
            udp.sendto(data, ("127.0.0.1", node.sip_port))
        else:
            conn = socket.create_connection(("127.0.0.1", node.sip_port), timeout=5,
                                            source_address=(source, 0))
            conn.sendall(data)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            watch = [udp] + ([conn] if conn and not closed else [])
            ready, _, _ = select.select(watch, [], [], max(0.0, deadline - time.monotonic()))
            for sock in ready:
                if sock is udp:
                    lines.append(udp.recv(65535).split(b"\r\n", 1)[0])
                else:
                    try:
                        chunk = conn.recv(65535)
                    except ConnectionResetError:
                        chunk = b""
                    if not chunk:
                        closed = True
                    buf += chunk
            finals = [x for x in lines + status_lines(buf) if re.match(rb"SIP/2\.0 [2-6]", x)]
            if finals or (closed and not ready):
                break
        return lines + status_lines(buf), closed
    finally:
        udp.close()
        if conn:
            conn.close()


def describe(lines, closed):
    codes = [int(STATUS_LINE.match(x).group(1)) for x in lines if STATUS_LINE.match(x)]
    if not lines:
        text = "dropped"
    else:
        text = " ".join(x.decode(errors="replace")[8:] for x in lines)
    if closed:
        text += " (closed)" if lines else ", closed"
    return codes, text


@pytest.mark.parametrize("name,transport", _cases())
def test_torture_message(env, name, transport):
    node, sources = env
    assert name is not None, (f"no RFC 4475 messages in {TORTURE_DIR}: set TANDEM_SOURCE "
                              "(the repository, with shared/ beside it) or TANDEM_TORTURE_DIR")
    section, kind, rfc, *extra = EXPECT.get(name, ("?", "valid", ""))
    data = MESSAGES[name]
    if transport.endswith("-via"):
        data = with_via_transport(data, transport[:3])
    lines, closed = exchange(node, sources.next(), data, transport[:3])
    codes, text = describe(lines, closed)
    RESULTS[(name, transport)] = text

    for line in lines:
        m = STATUS_LINE.match(line)
        assert m and 100 <= int(m.group(1)) <= 699, f"{name}: not a sane response: {line!r}"
    final = [c for c in codes if c >= 200]
    assert len(final) <= 1 or transport.startswith("tcp"), f"{name}: several answers: {text}"
    if kind == "response":
        assert not lines, f"{name} is a response and was answered: {text}"
    elif kind == "reject" and final:
        allowed = extra[0] if extra else set()
        assert 400 <= final[0] <= 499 or final[0] in allowed, \
            f"{name} (RFC 4475 {section}: {rfc}) was answered {text}"

    # Still alive and serving.
    assert node.alive(), f"the node died on {name} over {transport}:\n{node.log()[-3000:]}"
    probe = SipClient(node.sip_port, "alive", "torture.tandem.test", "x")
    try:
        assert probe.request("OPTIONS", []).status == 200
    finally:
        probe.close()


@pytest.mark.xfail(strict=True, reason="sofia nta answers a request it cannot take into a "
                   "transaction (505 to SIP/7.0, 400 to some broken headers) with a stateless "
                   "reply sent to the Via sent-by host, resolved by a blocking getaddrinfo() on "
                   "the signalling thread; see docs/security.md")
def test_no_lookup_of_hosts_named_in_messages(env):
    if not MESSAGES:
        pytest.skip("no messages were sent")
    node, _ = env
    lookups = [line for line in node.log().splitlines() if "getaddrinfo(" in line]
    assert not lookups, "\n".join(lookups)


def markdown_table():
    rows = ["| file | RFC 4475 | RFC asks | UDP | TCP | UDP, Via fixed | TCP, Via fixed |",
            "|---|---|---|---|---|---|---|"]
    for name in sorted(MESSAGES):
        section, kind, rfc, *_ = EXPECT.get(name, ("?", "valid", ""))
        asks = {"valid": "handle", "either": "", "reject": "reject",
                "response": "drop (response)"}[kind]
        asks = "; ".join(x for x in (asks, rfc) if x)
        cells = [RESULTS.get((name, t), "—") for t in ("udp", "tcp", "udp-via", "tcp-via")]
        rows.append(f"| {name} | {section} | {asks} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"
