"""A scripted SIP phone for call tests: registers, calls (with 407 digest), answers, sends and
receives RTP on a real UDP socket, and hangs up. Messages are read one by one so tests can
assert every step. UDP only."""
import base64
import random
import re
import socket
import struct
import time

from sipclient import SipClient, md5, _rand


class Message:
    def __init__(self, raw, peer):
        self.raw, self.peer = raw, peer
        head, _, self.body = raw.partition("\r\n\r\n")
        lines = head.split("\r\n")
        self.first = lines[0]
        self.is_request = not self.first.startswith("SIP/2.0 ")
        if self.is_request:
            self.method, self.uri = self.first.split(" ")[:2]
            self.status = None
        else:
            self.status = int(self.first.split(" ")[1])
            self.method = None
        self.headers = []
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                self.headers.append((k.strip().lower(), v.strip()))

    _short = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
              "l": "content-length", "c": "content-type"}

    def all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if self._short.get(k, k) == name]

    def header(self, name):
        values = self.all(name)
        return values[0] if values else None

    def cseq(self):
        n, method = self.header("cseq").split()
        return int(n), method

    def tag(self, name):
        m = re.search(r";\s*tag=([^;>\s]+)", self.header(name) or "")
        return m.group(1) if m else None

    def contact_uri(self):
        m = re.search(r"<([^>]+)>", self.header("contact") or "")
        return m.group(1) if m else (self.header("contact") or "").split(";")[0]


def sdp_offer(ip, port, pts=(0, 8, 101), crypto=None, crypto_tag=1):
    """crypto: 30 bytes of SRTP key||salt to offer RTP/SAVP with an SDES a=crypto line."""
    profile = "RTP/SAVP" if crypto else "RTP/AVP"
    lines = ["v=0", f"o=- {random.randint(1, 10**9)} 1 IN IP4 {ip}", "s=-", f"c=IN IP4 {ip}",
             "t=0 0", f"m=audio {port} {profile} {' '.join(map(str, pts))}",
             "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
             "a=rtpmap:101 telephone-event/8000", "a=sendrecv"]
    if crypto:
        key = base64.b64encode(crypto).decode()
        lines.append(f"a=crypto:{crypto_tag} AES_CM_128_HMAC_SHA1_80 inline:{key}")
    return "\r\n".join(lines) + "\r\n"


def sdp_crypto(body):
    """(tag, suite, 30-byte key) of the first a=crypto line, or None."""
    m = re.search(r"(?m)^a=crypto:(\d+) (\S+) inline:([A-Za-z0-9+/=]+)", body)
    return (int(m.group(1)), m.group(2), base64.b64decode(m.group(3))) if m else None


def sdp_media(body):
    ip = re.search(r"(?m)^c=IN IP4 (\S+)", body).group(1)
    port = int(re.search(r"(?m)^m=audio (\d+)", body).group(1))
    return ip, port


def rtp_port_pair(ip):
    """Bound sockets on an even port and the one above it, as a phone holds them (RFC 3550
    section 11): a relay that has heard no RTCP sends its own to the RTP port + 1, and with
    ports picked at random that port could be another phone's SIP socket."""
    for _ in range(200):
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp.bind((ip, 0))
        port = rtp.getsockname()[1]
        if port % 2 == 0:
            rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                rtcp.bind((ip, port + 1))
                return rtp, rtcp
            except OSError:
                rtcp.close()
        rtp.close()
    raise OSError(f"no free RTP/RTCP port pair on {ip}")


class Rtp:
    """One RTP endpoint: sends numbered packets and records what arrives."""

    def __init__(self, ip="127.0.0.1"):
        self.sock, self.rtcp = rtp_port_pair(ip)
        self.ip, self.port = ip, self.sock.getsockname()[1]
        self.ssrc = random.getrandbits(32)
        self.seq = random.getrandbits(16)
        self.ts = random.getrandbits(32)

    def send(self, dest, count=10, pt=0, tag=b"A"):
        for i in range(count):
            payload = tag + struct.pack("!I", i) + bytes(155)
            header = struct.pack("!BBHII", 0x80, pt, self.seq & 0xFFFF, self.ts & 0xFFFFFFFF,
                                 self.ssrc)
            self.sock.sendto(header + payload, dest)
            self.seq += 1
            self.ts += 160
            time.sleep(0.005)

    def send_packet(self, dest, pt=0, lost=False, tag=b"A"):
        """One 20 ms packet, unpaced. lost=True only moves the numbering on, as if the packet
        had been lost on the way; returns whether a packet was sent."""
        if not lost:
            header = struct.pack("!BBHII", 0x80, pt, self.seq & 0xFFFF, self.ts & 0xFFFFFFFF,
                                 self.ssrc)
            self.sock.sendto(header + tag + bytes(159), dest)
        self.seq += 1
        self.ts += 160
        return not lost

    def send_sr(self, dest):
        """An RTCP sender report (no report blocks); returns its NTP time's middle 32 bits, what
        a receiver echoes as LSR."""
        now = time.time() + 2208988800  # NTP epoch
        secs, frac = int(now), int((now % 1) * 2**32)
        body = struct.pack("!IIIIII", self.ssrc, secs & 0xFFFFFFFF, frac, self.ts & 0xFFFFFFFF,
                           0, 0)
        self.rtcp.sendto(struct.pack("!BBH", 0x80, 200, 6) + body, dest)
        return ((secs & 0xFFFF) << 16) | (frac >> 16)

    def send_rr(self, dest, about, fraction=0, lost=0, ext_seq=0, jitter=0, lsr=0, dlsr=0.0):
        """An RTCP receiver report with one block about SSRC `about`; dlsr in seconds."""
        block = struct.pack("!IIIIII", about, (fraction << 24) | (lost & 0xFFFFFF), ext_seq,
                            jitter, lsr, int(dlsr * 65536))
        self.rtcp.sendto(struct.pack("!BBHI", 0x81, 201, 7, self.ssrc) + block, dest)

    def receive(self, seconds=2.0, want=None):
        got, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline and (want is None or len(got) < want):
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data, peer = self.sock.recvfrom(2048)
            except socket.timeout:
                break
            got.append((data, peer))
        return got

    def close(self):
        self.sock.close()
        self.rtcp.close()


class Phone:
    def __init__(self, server_port, user, domain, password, source="127.0.0.1", host="127.0.0.1"):
        """host: the node's SIP address (a cluster node's service address in tests/cluster)."""
        self.server = (host, server_port)
        self.user, self.domain, self.password = user, domain, password
        self.reg = SipClient(server_port, user, domain, password, host=host, source=source)
        self.sock = self.reg.sock  # one socket, like a phone behind NAT
        self.ip, self.port = source, self.reg.local_port
        self.pending = []
        self.dialog = None
        self.rtp = Rtp(source)

    def close(self):
        """Unregisters (as a phone switched off would) and closes the sockets."""
        if getattr(self, "registered", False):
            try:
                self.reg.register(contacts=[f"<{self.contact()}>"], expires=0)
            except (OSError, ValueError):
                pass
        self.sock.close()
        self.rtp.close()

    def register(self):
        r, _ = self.reg.register(expires=600)
        assert r.status == 200, r.raw
        self.registered = True
        return r

    def contact(self):
        return f"sip:{self.user}@{self.ip}:{self.port}"

    def send(self, text, dest=None):
        self.sock.sendto(text.encode(), dest or self.server)

    def next(self, timeout=5.0, want=None):
        """Next message (matching want(msg) if given); keepalive OPTIONS are answered."""
        deadline = time.monotonic() + timeout
        for i, m in enumerate(self.pending):
            if want is None or want(m):
                return self.pending.pop(i)
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data, peer = self.sock.recvfrom(65535)
            except socket.timeout:
                break
            m = Message(data.decode(errors="replace"), peer)
            if m.is_request and m.method == "OPTIONS":
                self.respond(m, 200, "OK")
                continue
            if want is None or want(m):
                return m
            self.pending.append(m)
        raise TimeoutError(f"{self.user}: no message within {timeout}s")

    def respond(self, req, status, reason, body="", to_tag=None, extra=(),
                content_type="application/sdp"):
        to = req.header("to")
        if to_tag and "tag=" not in to:
            to += f";tag={to_tag}"
        lines = [f"SIP/2.0 {status} {reason}"] + [f"Via: {v}" for v in req.all("via")] + [
            f"From: {req.header('from')}", f"To: {to}", f"Call-ID: {req.header('call-id')}",
            f"CSeq: {req.header('cseq')}", f"Contact: <{self.contact()}>", *extra]
        if body:
            lines.append(f"Content-Type: {content_type}")
        lines += [f"Content-Length: {len(body.encode())}", "", body]
        self.send("\r\n".join(lines), req.peer)

    # ---- calling ----

    def _invite_text(self, callee, body, cseq, call_id, from_tag, auth=None, extra=()):
        lines = [f"INVITE sip:{callee}@{self.domain} SIP/2.0",
                 f"Via: SIP/2.0/UDP {self.ip}:{self.port};branch=z9hG4bK{_rand()};rport",
                 "Max-Forwards: 70",
                 f"From: \"Phone {self.user}\" <sip:{self.user}@{self.domain}>;tag={from_tag}",
                 f"To: <sip:{callee}@{self.domain}>", f"Call-ID: {call_id}",
                 f"CSeq: {cseq} INVITE", f"Contact: <{self.contact()}>",
                 "Content-Type: application/sdp", *extra] + ([auth] if auth else []) + [
                 f"Content-Length: {len(body.encode())}", "", body]
        return "\r\n".join(lines)

    def _ack(self, invite_text, final):
        """ACK for a non-2xx: same branch, hop by hop (RFC 3261 17.1.1.3)."""
        via = re.search(r"(?m)^Via: [^\r\n]*", invite_text).group(0)
        lines = [invite_text.split("\r\n")[0].replace("INVITE", "ACK", 1), via,
                 "Max-Forwards: 70", f"From: {final.header('from')}", f"To: {final.header('to')}",
                 f"Call-ID: {final.header('call-id')}", f"CSeq: {final.cseq()[0]} ACK",
                 "Content-Length: 0", "", ""]
        self.send("\r\n".join(lines))

    def call(self, callee, password=None, wait_final=True, timeout=10, expect_auth=True,
             body=None, extra=()):
        """Sends INVITE (answering the 407 unless expect_auth is off, as for a gateway) with
        body as its SDP (default: sdp_offer on the phone's RTP) and the extra header lines;
        returns the list of responses up to the final."""
        call_id, from_tag = f"{_rand(16)}@phone", _rand(8)
        body = body or sdp_offer(self.rtp.ip, self.rtp.port)
        text = self._invite_text(callee, body, 1, call_id, from_tag, extra=extra)
        self.send(text)
        # The first answer beyond 100 tells whether the node wants credentials (not for
        # gateways); anything else stays queued for the caller to read in order.
        responses, cseq = [], 1
        first = self.next(want=lambda m: not m.is_request and m.status > 100 and
                          m.header("call-id") == call_id) if expect_auth else None
        if first is not None and first.status != 407:
            self.pending.insert(0, first)
        elif first is not None:
            cseq = 2
            self.challenge = first
            self._ack(text, first)
            ch = dict(re.findall(r'(\w+)="?([^",]*)"?',
                                 first.header("proxy-authenticate").split(" ", 1)[1]))
            uri = f"sip:{callee}@{self.domain}"
            ha1 = md5(f"{self.user}:{ch['realm']}:{password or self.password}")
            ha2 = md5(f"INVITE:{uri}")
            cnonce = _rand(8)
            resp = md5(f"{ha1}:{ch['nonce']}:00000001:{cnonce}:auth:{ha2}")
            auth = (f'Proxy-Authorization: Digest username="{self.user}", realm="{ch["realm"]}", '
                    f'nonce="{ch["nonce"]}", uri="{uri}", response="{resp}", algorithm=MD5, '
                    f'qop=auth, nc=00000001, cnonce="{cnonce}"')
            text = self._invite_text(callee, body, 2, call_id, from_tag, auth, extra=extra)
            self.send(text)
            responses = []
        self.dialog = {"call_id": call_id, "from_tag": from_tag, "cseq": cseq, "invite": text,
                       "callee": callee, "role": "caller", "invite_cseq": cseq}
        if not wait_final:
            return responses
        while True:
            m = self.next(timeout=timeout, want=lambda m: not m.is_request and
                          m.header("call-id") == call_id)
            responses.append(m)
            if m.status >= 200:
                break
        final = responses[-1]
        if final.status < 300:
            self.confirm(final)
        else:
            self._ack(text, final)
        return responses

    def confirm(self, final):
        """Takes the dialog from a 2xx to our INVITE (tags, target, the answer) and ACKs it."""
        self.dialog.update(remote_tag=final.tag("to"), target=final.contact_uri(),
                           remote_sdp=final.body, to=final.header("to"),
                           from_=final.header("from"))
        self.send_in_dialog("ACK", cseq=self.dialog.get("invite_cseq", self.dialog["cseq"]))

    def prack(self, provisional):
        """PRACKs a reliable 1xx to our INVITE (RFC 3262) in the early dialog it creates;
        returns the PRACK's final response."""
        self.dialog.update(remote_tag=provisional.tag("to"), target=provisional.contact_uri(),
                           to=provisional.header("to"), from_=provisional.header("from"))
        n, method = provisional.cseq()
        self.send_in_dialog("PRACK", extra=[f"RAck: {provisional.header('rseq')} {n} {method}"])
        cseq = self.dialog["cseq"]
        return self.next(want=lambda m: not m.is_request and m.cseq() == (cseq, "PRACK")
                         and m.status >= 200)

    def cancel(self):
        text = self.dialog["invite"]
        lines = text.split("\r\n\r\n")[0].split("\r\n")
        keep = [l for l in lines[1:] if l.split(":")[0] in ("Via", "From", "To", "Call-ID",
                                                            "Max-Forwards")]
        cseq = re.search(r"(?m)^CSeq: (\d+)", text).group(1)
        self.send("\r\n".join([lines[0].replace("INVITE", "CANCEL", 1)] + keep +
                              [f"CSeq: {cseq} CANCEL", "Content-Length: 0", "", ""]))

    def send_in_dialog(self, method, cseq=None, body="", extra=(), content_type="application/sdp"):
        d = self.dialog
        if cseq is None:
            d["cseq"] += 1
            cseq = d["cseq"]
        if d["role"] == "caller":
            from_h, to_h = d["from_"], d["to"]
        else:
            from_h, to_h = d["to"], d["from_"]
        lines = [f"{method} {d['target']} SIP/2.0",
                 f"Via: SIP/2.0/UDP {self.ip}:{self.port};branch=z9hG4bK{_rand()};rport",
                 "Max-Forwards: 70", f"From: {from_h}", f"To: {to_h}",
                 f"Call-ID: {d['call_id']}", f"CSeq: {cseq} {method}",
                 f"Contact: <{self.contact()}>", *extra]
        if body:
            lines.append(f"Content-Type: {content_type}")
        lines += [f"Content-Length: {len(body.encode())}", "", body]
        self.send("\r\n".join(lines))

    def bye(self, dest=None):
        self.send_in_dialog("BYE")
        return self.next(want=lambda m: not m.is_request and m.cseq()[1] == "BYE")

    # ---- answering ----

    def answer(self, ring=True, status=200, reason="OK", sdp=None):
        """Waits for an INVITE and answers it (after a 180 if ring) with sdp(invite) as the
        200's body when given; returns the INVITE."""
        inv = self.next(want=lambda m: m.is_request and m.method == "INVITE")
        tag = _rand(8)
        if ring:
            self.respond(inv, 180, "Ringing", to_tag=tag)
        body = ((sdp(inv) if sdp else sdp_offer(self.rtp.ip, self.rtp.port))
                if status == 200 else "")
        self.respond(inv, status, reason, body=body, to_tag=tag)
        self.callee_dialog(inv, tag)
        return inv

    def callee_dialog(self, inv, tag):
        """Takes our side, as the callee, of the dialog inv creates with our To tag."""
        self.dialog = {"call_id": inv.header("call-id"), "role": "callee",
                       "from_": inv.header("from"), "to": inv.header("to") + f";tag={tag}",
                       "target": inv.contact_uri(), "cseq": 1000, "remote_sdp": inv.body}

    def expect_bye(self, timeout=5):
        bye = self.next(timeout=timeout, want=lambda m: m.is_request and m.method == "BYE")
        self.respond(bye, 200, "OK")
        return bye
