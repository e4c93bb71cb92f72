"""A small SIP user agent for tests that need exact control over REGISTER (nonce reuse, CSeq
order, several contacts, wildcard). Real peers (sipsak) cover the ordinary paths."""
import hashlib
import random
import re
import socket
import ssl
import string
import time


def _rand(n=10):
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(n))


def md5(text):
    return hashlib.md5(text.encode()).hexdigest()


class Response:
    def __init__(self, raw):
        self.raw = raw
        head = raw.split("\r\n\r\n", 1)[0]
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        self.status = int(parts[1])
        self.reason = parts[2] if len(parts) > 2 else ""
        self.headers = []
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                self.headers.append((k.strip().lower(), v.strip()))

    def header(self, name):
        for k, v in self.headers:
            if k == name.lower():
                return v
        return None

    def all(self, name):
        return [v for k, v in self.headers if k == name.lower()]

    def contacts(self):
        """[(uri, {param: value})] from every Contact header, comma lists split."""
        out = []
        for value in self.all("contact") + self.all("m"):
            for item in re.findall(r"<([^>]*)>([^,]*)", value):
                params = dict(p.split("=", 1) if "=" in p else (p, "")
                              for p in item[1].split(";") if p.strip())
                out.append((item[0], {k.strip(): v.strip() for k, v in params.items()}))
        return out


class SipClient:
    def __init__(self, server_port, user, domain, password, transport="udp", host="127.0.0.1",
                 source="127.0.0.1", tls_ca=None):
        self.server = (host, server_port)
        self.source = source
        self.user, self.domain, self.password = user, domain, password
        self.transport = transport
        if transport == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((source, 0))
        elif transport == "tls":  # the server's certificate is checked against tls_ca
            raw = socket.create_connection(self.server, timeout=5, source_address=(source, 0))
            ctx = ssl.create_default_context(cafile=tls_ca)
            self.sock = ctx.wrap_socket(raw, server_hostname=host)
        else:
            self.sock = socket.create_connection(self.server, timeout=5, source_address=(source, 0))
        self.sock.settimeout(5)
        self.local_port = self.sock.getsockname()[1]
        self.call_id = _rand(16) + "@test"
        self.cseq = 0
        self.buffer = b""

    def close(self):
        self.sock.close()

    def contact(self, tag=""):
        return f"sip:{self.user}{tag}@{self.source}:{self.local_port}"

    def request(self, method, headers, uri=None, body=""):
        self.cseq += 1
        uri = uri or f"sip:{self.domain}"
        lines = [
            f"{method} {uri} SIP/2.0",
            f"Via: SIP/2.0/{self.transport.upper()} {self.source}:{self.local_port};branch=z9hG4bK{_rand()};rport",
            "Max-Forwards: 70",
            f"From: <sip:{self.user}@{self.domain}>;tag={_rand(8)}",
            f"To: <sip:{self.user}@{self.domain}>",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} {method}",
            "User-Agent: tandem-tests",
        ] + headers + [f"Content-Length: {len(body.encode())}", "", body]
        return self.send_raw("\r\n".join(lines).encode())

    def send_raw(self, data, expect_reply=True):
        if self.transport == "udp":
            self.sock.sendto(data, self.server)
        else:
            self.sock.sendall(data)
        return self.read_response() if expect_reply else None

    def read_response(self, timeout=10.0):
        """The next final response; requests from the server (keepalive OPTIONS) are answered.
        Bounded as a whole, not per read: a server that keeps pinging must not keep us here."""
        per_read = self.sock.gettimeout() or 5.0
        deadline = time.monotonic() + max(timeout, per_read)
        try:
            return self._read_final(deadline, per_read)
        finally:
            self.sock.settimeout(per_read)

    def _read_final(self, deadline, per_read):
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no final response before the deadline")
            self.sock.settimeout(min(per_read, left))
            if self.transport == "udp":
                data, peer = self.sock.recvfrom(65535)
                text = data.decode(errors="replace")
            else:
                text, peer = self._read_tcp(), None
            if not text.startswith("SIP/2.0 "):
                self._answer_request(text, peer)
                continue
            resp = Response(text)
            if resp.status >= 200:
                return resp

    def _answer_request(self, text, peer):
        lines = text.split("\r\n\r\n", 1)[0].split("\r\n")
        keep = [l for l in lines[1:]
                if l.split(":", 1)[0].strip().lower() in ("via", "v", "from", "f", "to", "t",
                                                          "call-id", "i", "cseq")]
        reply = "\r\n".join(["SIP/2.0 200 OK"] + keep + ["Content-Length: 0", "", ""]).encode()
        if self.transport == "udp":
            self.sock.sendto(reply, peer)
        else:
            self.sock.sendall(reply)

    def _read_tcp(self):
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65535)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk
        head, rest = self.buffer.split(b"\r\n\r\n", 1)
        m = re.search(rb"(?im)^(content-length|l)\s*:\s*(\d+)", head)
        length = int(m.group(2)) if m else 0
        while len(rest) < length:
            rest += self.sock.recv(65535)
        self.buffer = rest[length:]
        return (head + b"\r\n\r\n" + rest[:length]).decode(errors="replace")

    @staticmethod
    def challenge_params(resp):
        value = resp.header("www-authenticate")
        return dict(re.findall(r'(\w+)="?([^",]*)"?', value.split(" ", 1)[1]))

    def authorization(self, challenge, method="REGISTER", uri=None, nc=1, password=None,
                      username=None):
        uri = uri or f"sip:{self.domain}"
        username = username or self.user
        ha1 = md5(f"{username}:{challenge['realm']}:{password or self.password}")
        ha2 = md5(f"{method}:{uri}")
        cnonce = _rand(8)
        ncs = f"{nc:08x}"
        response = md5(f"{ha1}:{challenge['nonce']}:{ncs}:{cnonce}:auth:{ha2}")
        return (f'Authorization: Digest username="{username}", realm="{challenge["realm"]}", '
                f'nonce="{challenge["nonce"]}", uri="{uri}", response="{response}", '
                f'algorithm=MD5, qop=auth, nc={ncs}, cnonce="{cnonce}"')

    def register(self, contacts=None, expires=None, extra=None, password=None):
        """Full challenge/response; returns (final response, challenge used)."""
        contacts = [f"<{self.contact()}>"] if contacts is None else contacts
        headers = [f"Contact: {c}" for c in contacts] + (extra or [])
        if expires is not None:
            headers.append(f"Expires: {expires}")
        first = self.request("REGISTER", headers)
        if first.status != 401:
            return first, None
        ch = self.challenge_params(first)
        final = self.request("REGISTER", headers + [self.authorization(ch, password=password)])
        return final, ch
