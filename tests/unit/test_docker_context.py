"""Which Docker daemon the kind runtime talks to: the docker CLI's (kind runs the CLI)."""

import hashlib
import json

import pytest

from kindscape.errors import KindscapeError
from kindscape.runtimes.kind import dockerctx


def _store(tmp_path, name: str, host: str) -> None:
    meta = tmp_path / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({"Name": name, "Endpoints": {"docker": {"Host": host}}}))


@pytest.fixture
def config(tmp_path, monkeypatch):
    for name in ("DOCKER_HOST", "DOCKER_CONTEXT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    _store(tmp_path, "colima", "unix:///home/me/.colima/default/docker.sock")
    _store(tmp_path, "desktop-linux", "unix:///home/me/.docker/desktop/docker.sock")
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "colima"}))
    return tmp_path


def test_the_current_context_of_the_cli_config(config):
    found = dockerctx.current()
    assert (found.host, str(found)) == ("unix:///home/me/.colima/default/docker.sock",
                                        "docker context colima (unix:///home/me/.colima/default/docker.sock)")


def test_docker_context_variable_then_docker_host_win(config, monkeypatch):
    monkeypatch.setenv("DOCKER_CONTEXT", "desktop-linux")
    assert dockerctx.current().host == "unix:///home/me/.docker/desktop/docker.sock"
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.5:2375")
    assert str(dockerctx.current()) == "DOCKER_HOST (tcp://10.0.0.5:2375)"


def test_default_without_a_context_and_a_clear_error_for_a_missing_one(config, monkeypatch):
    (config / "config.json").write_text("{}")
    assert str(dockerctx.current()) == "unix:///var/run/docker.sock"
    monkeypatch.setenv("DOCKER_CONTEXT", "gone")
    with pytest.raises(KindscapeError, match="docker context gone .* is not in .*docker context ls"):
        dockerctx.current()


def test_a_daemon_whose_containers_are_elsewhere_is_named():
    assert dockerctx.not_here("unix:///var/run/docker.sock", {"OperatingSystem": "Debian GNU/Linux 12"}) == ""
    desktop = dockerctx.not_here("unix:///home/me/.docker/desktop/docker.sock", {"OperatingSystem": "Docker Desktop"})
    assert "Docker Desktop" in desktop and "VM" in desktop
    assert "over the network" in dockerctx.not_here("tcp://10.0.0.5:2375", {"OperatingSystem": "Ubuntu"})
