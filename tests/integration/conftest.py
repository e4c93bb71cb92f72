"""pytest fixtures: a fresh stack (PostgreSQL, Redis, schema, superadmin key) per test module.

Every node's exit code is checked at teardown, so a sanitizer report fails the module."""
import pytest

from harness import Stack


@pytest.fixture(scope="module")
def stack():
    s = Stack()
    yield s
    codes = s.stop_nodes()
    bad = {name: rc for name, rc in codes.items() if rc not in (0, None)}
    logs = "\n".join(n.log()[-6000:] for n in s.nodes if n.name in bad)
    s.close()
    assert not bad, f"nodes exited badly: {bad}\n{logs}"
