"""The Pacemaker resource agent cluster/ocf/tandemd against a real node, action by action, with
the exit codes Pacemaker acts on (OCF: 0 success, 1 generic error, 5 not installed,
6 not configured, 7 not running). resource-agents' ocf-tester is not in Debian's minimal set,
so the actions are driven directly."""
import os
import signal
import subprocess
import xml.etree.ElementTree as ET

import pytest

from harness import BUILD, SOURCE

AGENT = os.path.join(SOURCE, "cluster", "ocf", "tandemd")


@pytest.fixture(scope="module")
def env(stack, tmp_path_factory):
    node = stack.node("ocf1", start=False)
    d = tmp_path_factory.mktemp("ocf")
    params = {"OCF_RESKEY_binary": os.path.join(BUILD, "tandemd"),
              "OCF_RESKEY_config": node.config_path,
              "OCF_RESKEY_pidfile": str(d / "run" / "tandemd.pid"),
              "OCF_RESKEY_logfile": node.log_path,
              "OCF_ROOT": str(d / "no-ocf-root")}
    yield node, params
    agent("stop", params)


def agent(action, params, **extra):
    env = {**os.environ, **params, **extra}
    return subprocess.run([AGENT, action], env=env, capture_output=True, text=True, timeout=60)


def test_meta_data_describes_the_actions(env):
    r = agent("meta-data", env[1])
    assert r.returncode == 0
    root = ET.fromstring(r.stdout)
    assert root.get("name") == "tandemd"
    actions = {a.get("name") for a in root.iter("action")}
    assert {"start", "stop", "monitor", "validate-all", "meta-data"} <= actions
    assert {"binary", "config", "pidfile", "health_url"} <= {p.get("name") for p in root.iter("parameter")}


def test_validate_all(env, tmp_path):
    node, params = env
    assert agent("validate-all", params).returncode == 0
    assert agent("validate-all", params, OCF_RESKEY_binary="/nonexistent/tandemd").returncode == 5
    bad = tmp_path / "bad.conf"
    bad.write_text("sip.port = 99999\n")
    r = agent("validate-all", params, OCF_RESKEY_config=str(bad))
    assert r.returncode == 6 and "sip.port" in r.stderr
    assert agent("no-such-action", params).returncode == 3


def test_lifecycle(env):
    node, params = env
    assert agent("monitor", params).returncode == 7
    assert agent("stop", params).returncode == 0  # stopping a stopped resource succeeds
    r = agent("start", params)
    assert r.returncode == 0, r.stderr + node.log()[-2000:]
    assert agent("monitor", params).returncode == 0
    assert agent("start", params).returncode == 0  # already running: still success
    pid = int(open(params["OCF_RESKEY_pidfile"]).read())

    # A node that stops answering its API while its process lives is a failure (1)...
    os.kill(pid, signal.SIGSTOP)
    try:
        assert agent("monitor", params).returncode == 1
    finally:
        os.kill(pid, signal.SIGCONT)
    assert agent("monitor", params).returncode == 0

    # ...and one that died is not running (7), so Pacemaker restarts it.
    os.kill(pid, signal.SIGKILL)
    subprocess.run(["sh", "-c", f"while kill -0 {pid} 2>/dev/null; do sleep 0.05; done"], timeout=10)
    assert agent("monitor", params).returncode == 7
    assert agent("start", params).returncode == 0
    assert agent("stop", params).returncode == 0
    assert agent("monitor", params).returncode == 7
    assert "node ocf1 stopping" in node.log()
    assert "Sanitizer" not in node.log()
