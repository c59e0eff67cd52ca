"""The clinic's access config, local demo mode, and `waypoint serve` refusing a public address
without sign-in."""
from __future__ import annotations

import pytest

from analytics import serve
from analytics.access import (DEMO_VIEWER, check_bind_address, is_loopback, load_access_config,
                              sign_in_configured)
from analytics.cli import main
from analytics.errors import WaypointError

SECRETS = """
[auth]
redirect_uri = "https://waypoint.clinic.example/oauth2callback"
cookie_secret = "long-random-string"
client_id = "waypoint"
client_secret = "from-the-identity-provider"
server_metadata_url = "https://login.clinic.example/.well-known/openid-configuration"
"""


@pytest.fixture
def no_secrets(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    calls = []
    monkeypatch.setattr(serve, "run_server", lambda cmd, env=None: calls.append(cmd) or 0)
    return calls


def test_users_map_to_roles_and_clinician_ids_case_insensitively(tmp_path):
    path = tmp_path / "clinic.toml"
    path.write_text('[access.users]\n"A.Smith@Clinic.example" = { role = "clinician", clinician_id = "C01" }\n'
                    '"dir@clinic.example" = { role = "director" }\n')
    config = load_access_config(path)
    anna = config.viewer_for("a.smith@clinic.example")
    assert (anna.role, anna.clinician_id, anna.scope.clinician_id) == ("clinician", "C01", "C01")
    assert config.viewer_for("DIR@clinic.example").scope.whole_clinic
    assert config.viewer_for("someone@else.example") is None
    assert config.viewer_for(None) is None


@pytest.mark.parametrize("entry, message", [
    ('{ role = "superuser" }', "use one of admin, director, clinician"),
    ('{ role = "clinician" }', "needs a clinician_id"),
    ('{ role = "director", site = "x" }', "unknown key"),
])
def test_a_wrong_user_entry_is_a_clear_error(tmp_path, entry, message):
    path = tmp_path / "clinic.toml"
    path.write_text(f'[access.users]\n"x@clinic.example" = {entry}\n')
    with pytest.raises(WaypointError, match=message):
        load_access_config(path)


def test_the_demo_viewer_is_a_local_admin_of_the_whole_clinic():
    assert DEMO_VIEWER.is_admin and DEMO_VIEWER.demo and DEMO_VIEWER.scope.whole_clinic


def test_sign_in_is_configured_only_by_an_auth_table_with_redirect_and_cookie_secret(tmp_path):
    good, partial = tmp_path / "good.toml", tmp_path / "partial.toml"
    good.write_text(SECRETS)
    partial.write_text('[auth]\nclient_id = "x"\n')
    assert sign_in_configured([good])
    assert not sign_in_configured([partial])
    assert not sign_in_configured([tmp_path / "missing.toml"])


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                            ("127.0.0.2", True), ("0.0.0.0", False), ("192.168.1.20", False),
                                            ("::", False), ("waypoint.clinic.example", False)])
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback


def test_demo_mode_refuses_to_listen_on_a_public_address_and_says_how_to_configure_sign_in(no_secrets):
    with pytest.raises(WaypointError, match=r"local demo mode.*configure sign-in.*secrets.toml"):
        serve.serve(db=":memory:", host="0.0.0.0")
    assert no_secrets == []  # nothing was started


def test_the_cli_refuses_with_one_line_and_exit_status_2(no_secrets, capsys):
    assert main(["serve", "--db", ":memory:", "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "local demo mode" in err and "[access.users]" in err
    assert no_secrets == []


def test_demo_mode_serves_on_loopback(no_secrets):
    assert serve.serve(db=":memory:", host="127.0.0.1") == 0
    assert no_secrets and no_secrets[0][no_secrets[0].index("--server.address") + 1] == "127.0.0.1"


def test_with_sign_in_configured_a_public_address_is_allowed(no_secrets, tmp_path):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(SECRETS)
    check_bind_address("0.0.0.0", signed_in=sign_in_configured())
    assert serve.serve(db=":memory:", host="0.0.0.0") == 0
    assert no_secrets


def test_stopping_waypoint_serve_stops_the_server_it_started(tmp_path):
    """`kill <waypoint serve>` (a service manager's stop) must not leave the dashboard running."""
    import os
    import signal
    import subprocess
    import sys
    import time

    pid_file = tmp_path / "server.pid"
    server = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(120)"
    parent = subprocess.Popen([sys.executable, "-c",
                               "import os, sys; from analytics.serve import run_server; "
                               f"sys.exit(run_server([sys.executable, '-c', {server!r}], dict(os.environ)))"])
    deadline = time.time() + 30
    while not (pid_file.exists() and pid_file.read_text()) and time.time() < deadline:
        time.sleep(0.05)
    child = int(pid_file.read_text())
    parent.send_signal(signal.SIGTERM)
    parent.wait(30)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the server outlived `waypoint serve`")
