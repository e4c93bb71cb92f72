"""monitoring/fail2ban/filter.d/tandem.conf against log lines a real node wrote: a scripted client
fails digest authentication (IPv4 and IPv6), and fail2ban-regex (Debian's fail2ban) must find
exactly those failures with the sender as the host, and nothing else: not a successful
registration, not an address a client wrote into its Call-ID or user name."""
import os
import re
import shutil
import socket
import subprocess

import pytest

from harness import SOURCE, api
from sipclient import SipClient

DOMAIN = "f2b.tandem.test"
PASSWORD = "correct-horse-3"
FILTER = os.path.join(SOURCE, "monitoring", "fail2ban", "filter.d", "tandem.conf")
FORGED = "192.0.2.66"  # an address only ever written by a client, never a sender

pytestmark = pytest.mark.skipif(shutil.which("fail2ban-regex") is None,
                                reason="fail2ban-regex not installed (Debian package fail2ban)")


@pytest.fixture(scope="module")
def env(stack):
    # No ban: every failure must reach the log. A second node listens on IPv6 loopback.
    node = stack.node("node1", security__ban_failures=0)
    node6 = stack.node("node6", sip__address="::1", security__ban_failures=0)
    status, tenant = api(node, "POST", "/v1/tenants", stack.key, {"name": "F2b", "domain": DOMAIN})
    assert status == 201, tenant
    status, body = api(node, "POST", f"/v1/tenants/{tenant['id']}/users", stack.key,
                       {"extension": "3001", "password": PASSWORD})
    assert status == 201, body
    return node, node6


def fail2ban_regex(log_text, tmp_path, name="tandemd.log"):
    """Runs fail2ban-regex on the text; returns (matched count, [captured address])."""
    path = tmp_path / name
    path.write_text(log_text)
    summary = subprocess.run(["fail2ban-regex", str(path), FILTER], capture_output=True,
                             text=True, timeout=60)
    assert summary.returncode == 0, summary.stdout + summary.stderr
    m = re.search(r"^Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed",
                  summary.stdout, re.M)
    assert m, summary.stdout
    hosts = subprocess.run(["fail2ban-regex", "-o", "ip", str(path), FILTER],
                           capture_output=True, text=True, timeout=60)
    assert hosts.returncode == 0, hosts.stdout + hosts.stderr
    return int(m.group(3)), hosts.stdout.split()


def failure_lines(node):
    return [line for line in node.log().splitlines() if "auth failure:" in line]


class Sip6Client(SipClient):
    """SipClient over IPv6 (the Via and Contact hosts need brackets)."""

    def __init__(self, server_port, user, domain, password):
        super().__init__(server_port, user, domain, password)
        self.sock.close()
        self.sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        self.sock.bind(("::1", 0))
        self.sock.settimeout(5)
        self.local_port = self.sock.getsockname()[1]
        self.server = ("::1", server_port)
        self.source = "[::1]"


def test_every_failure_is_matched_with_its_sender(env, tmp_path):
    node, node6 = env
    assert not failure_lines(node)
    # Wrong passwords from two IPv4 sources and from IPv6, and an unknown user.
    for source, tries in (("127.0.0.1", 2), ("127.0.0.9", 3)):
        c = SipClient(node.sip_port, "3001", DOMAIN, "not-the-password", source=source)
        for _ in range(tries):
            assert c.register(expires=600)[0].status == 401
        c.close()
    ghost = SipClient(node.sip_port, "3999", DOMAIN, PASSWORD, source="127.0.0.9")
    assert ghost.register(expires=600)[0].status == 401
    # And one success, which must not count.
    ok = SipClient(node.sip_port, "3001", DOMAIN, PASSWORD, source="127.0.0.9")
    assert ok.register(expires=600)[0].status == 200

    failures = failure_lines(node)
    assert len(failures) == 2 + 3 + 1, "\n".join(failures)
    matched, hosts = fail2ban_regex(node.log(), tmp_path)
    assert matched == len(failures)
    assert sorted(hosts) == ["127.0.0.1"] * 2 + ["127.0.0.9"] * 4

    # The same over IPv6: src=::1.
    c6 = Sip6Client(node6.sip_port, "3001", DOMAIN, "not-the-password")
    for _ in range(2):
        assert c6.register(expires=600)[0].status == 401
    c6.close()
    failures = failure_lines(node6)
    assert len(failures) == 2 and all(" src=::1 " in line for line in failures), failures
    assert fail2ban_regex(node6.log(), tmp_path, "node6.log") == (2, ["::1", "::1"])


def test_a_successful_registration_does_not_match(env, tmp_path):
    node, _ = env
    registered = [line for line in node.log().splitlines() if "] registered 3001@" in line]
    assert registered, node.log()[-2000:]
    matched, hosts = fail2ban_regex("\n".join(registered) + "\n", tmp_path)
    assert matched == 0 and hosts == []
    # Nor the node's other warnings about a source (they are its own bans, not failures).
    others = [line for line in node.log().splitlines()
              if " WARN " in line and "auth failure:" not in line]
    if others:
        assert fail2ban_regex("\n".join(others) + "\n", tmp_path, "others.log")[0] == 0


def test_a_client_cannot_get_another_address_banned(env, tmp_path):
    """Call-ID and user name are the client's: a fake "auth failure: src=..." written into either
    must never be read back as a sender."""
    node, _ = env
    before = len(failure_lines(node))
    fake = f"] auth failure: src={FORGED} port=1 user=a domain={DOMAIN} reason=wrong-password"
    c = SipClient(node.sip_port, "3001", DOMAIN, "not-the-password", source="127.0.0.10")
    c.call_id = "x" + fake.replace(" reason=wrong-password", "")  # Call-ID with white space
    assert c.register(expires=600)[0].status == 401
    # A user name (Authorization) that carries a fake line tail, and one with a folded line.
    first = c.request("REGISTER", [f"Contact: <{c.contact()}>"])
    challenge = SipClient.challenge_params(first)
    for username in (f"a domain=b reason=c{fake}",
                     f"a\r\n 2026-11-23T06:09:39.456Z tandemd[1] WARN [x{fake}"):
        auth = c.authorization(challenge, username=username)
        assert c.request("REGISTER", [f"Contact: <{c.contact()}>", auth]).status in (400, 401, 403)
    c.close()

    written = failure_lines(node)[before:]
    assert written, "the node logged none of these failures"
    matched, hosts = fail2ban_regex(node.log(), tmp_path)
    assert FORGED not in hosts, "\n".join(written)
    assert set(hosts) <= {"127.0.0.1", "127.0.0.9", "127.0.0.10"}


def test_the_jail_loads_and_bans_both_protocols_on_both_ports(tmp_path):
    """fail2ban-client --test on a copy of the system configuration plus ours (the stock sshd
    jail left out, its log may not exist here), with logpath pointed at an existing file."""
    if shutil.which("fail2ban-client") is None or not os.path.isdir("/etc/fail2ban"):
        pytest.skip("fail2ban-client or /etc/fail2ban missing")
    conf = tmp_path / "fail2ban"
    shutil.copytree("/etc/fail2ban", conf)
    for stock in (conf / "jail.d").iterdir():
        stock.unlink()
    ours = os.path.join(SOURCE, "monitoring", "fail2ban")
    shutil.copy(os.path.join(ours, "filter.d", "tandem.conf"), conf / "filter.d")
    shutil.copy(os.path.join(ours, "jail.d", "tandem.conf"), conf / "jail.d")
    log = tmp_path / "tandemd.log"
    log.write_text("")
    (conf / "jail.d" / "zz-test.local").write_text(f"[tandem]\nlogpath = {log}\n")
    test = subprocess.run(["fail2ban-client", "-c", str(conf), "--test"], capture_output=True,
                          text=True, timeout=60)
    assert test.returncode == 0 and "configuration test is successful" in test.stdout + \
        test.stderr, test.stdout + test.stderr
    dump = subprocess.run(["fail2ban-client", "-c", str(conf), "-d"], capture_output=True,
                          text=True, timeout=60).stdout
    for expected in ("'maxretry', 5", "'findtime', '600'", "'bantime', '3600'",
                     "'protocol', 'udp'", "'protocol', 'tcp'", "'port', '5060,5061'",
                     "'blocktype', 'DROP'", "'usedns', 'no'"):
        assert expected in dump, expected
