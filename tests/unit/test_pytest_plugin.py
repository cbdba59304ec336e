"""The pytest plugin without root: it loads through its entry point, marks the tests that
use `kindscape_lab`, and skips them with the reason when not root."""

from __future__ import annotations

from tests.pluginrun import declared_entry_points, run_pytest

USES_THE_FIXTURE = '''
def test_needs_a_lab(kindscape_lab):
    kindscape_lab("examples/multi-cluster.yaml")
    raise AssertionError("never reached without root")

def test_plain():
    pass
'''

# Not root, faked: this interpreter lives under /root (mode 0700), so no unprivileged
# user can run it on this machine; the plugin reads the process's effective capabilities,
# patched here to none, as a user's are (tests/integration/test_privileges.py drops them
# for real from root with setpriv).
AS_A_USER = '''
from kindscape import privileges
privileges.effective = lambda: 0
'''


def test_the_entry_point_is_declared():
    assert declared_entry_points()["pytest11"] == {"kindscape": "kindscape.pytest_plugin"}


def test_without_root_the_test_is_skipped_with_the_reason(tmp_path):
    (tmp_path / "conftest.py").write_text(AS_A_USER)
    (tmp_path / "test_lab.py").write_text(USES_THE_FIXTURE)
    done = run_pytest(tmp_path, str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed, 1 skipped" in done.stdout
    assert "kindscape_lab needs root: the netns runtime creates network namespaces" in done.stdout
    assert "lacks CAP_NET_ADMIN, CAP_SYS_ADMIN" in done.stdout


def test_tests_using_the_fixture_carry_the_marker(tmp_path):
    (tmp_path / "test_lab.py").write_text(USES_THE_FIXTURE)
    done = run_pytest(tmp_path, str(tmp_path), "-m", "not kindscape")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed, 1 deselected" in done.stdout
    markers = run_pytest(tmp_path, "--markers")
    assert "@pytest.mark.kindscape: brings kindscape scenarios up" in markers.stdout


def test_the_plugin_can_be_turned_off(tmp_path):
    (tmp_path / "test_lab.py").write_text(USES_THE_FIXTURE)
    done = run_pytest(tmp_path, str(tmp_path), "-p", "no:kindscape")
    assert done.returncode == 1
    assert "fixture 'kindscape_lab' not found" in done.stdout
