"""pytest fixtures for the multi-node tests: a three-node corosync cluster in network namespaces
(cluster/netns.py) on a subnet and run id of its own, sharing one PostgreSQL and Redis.

Every node's exit code is checked at teardown, so a sanitizer report fails the module; the
namespaces, bridge and processes are removed whatever happened."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "cluster"))

import netns  # noqa: E402
from harness import Stack  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    stack = Stack()
    c = netns.Cluster(3, stack=stack, token_ms=400,
                      settings={"security.ban_failures": 0, "nat.keepalive_interval": 0})
    try:
        c.start()
        yield c
    finally:
        codes = c.close()
        logs = c.final_logs
        stack.close()
    bad = {name: rc for name, rc in codes.items() if rc not in (0, None)}
    assert not bad, f"nodes exited badly: {bad}\n" + "\n".join(logs.get(n, "") for n in bad)
