"""pytest fixtures: a fresh stack (PostgreSQL, Redis, schema, superadmin key) per test module.

Every node's exit code is checked at teardown, so a sanitizer report fails the module."""
import pytest

from harness import Stack


@pytest.fixture(scope="module")
def stack():
    s = Stack()
    yield s
    logs = {n.name: n for n in s.nodes}
    codes = s.close()
    bad = {name: rc for name, rc in codes.items() if rc not in (0, None)}
    assert not bad, f"nodes exited badly: {bad}\n" + "\n".join(
        logs[name].log()[-4000:] for name in bad)
