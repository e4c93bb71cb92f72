"""Real SIP peers for the tests. sipsak resolves the SIP domain itself, so it runs in a private
mount namespace whose /etc/hosts maps the test domains to loopback; nothing on the host changes."""
import os
import shlex
import socket
import subprocess
import tempfile


def _hosts_file(domains):
    fd, path = tempfile.mkstemp(prefix="tandem-hosts-")
    with os.fdopen(fd, "w") as f:
        f.write(f"127.0.0.1 localhost {socket.gethostname()}\n")
        for d in domains:
            f.write(f"127.0.0.1 {d}\n")
    return path


def in_hosts_namespace(domains, script, timeout=120):
    """Runs a shell script where /etc/hosts resolves the given domains to 127.0.0.1."""
    hosts = _hosts_file(domains)
    try:
        return subprocess.run(["unshare", "-m", "sh", "-c",
                               f"mount --bind {shlex.quote(hosts)} /etc/hosts && {script}"],
                              capture_output=True, text=True, timeout=timeout)
    finally:
        os.unlink(hosts)


def sipsak_register_cmd(port, user, domain, password, contact_port, expires=600, transport="udp"):
    """One sipsak REGISTER with digest (usrloc mode with an explicit contact)."""
    return (f"sipsak -U -C sip:{user}@127.0.0.1:{contact_port} -s sip:{user}@{domain}:{port} "
            f"-u {user} -a {shlex.quote(password)} -x {expires} --transport={transport} -i")
