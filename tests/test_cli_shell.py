"""The CLI shell: every command documents a runnable example; dates are checked; serve is private."""
import shlex

import pytest

from analytics import cli, serve

COMMANDS = ["ingest", "imports", "undo-import", "demo", "serve", "backup", "restore", "kpis", "outcomes", "attendance", "readiness"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_carries_a_runnable_example(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, "--help"])
    assert exit_.value.code == 0
    help_text = capsys.readouterr().out
    example = help_text.split("Example:")[1].strip().splitlines()[0]
    argv = shlex.split(example.split(">")[0])
    assert argv[0] == "waypoint" and argv[1] == command
    cli.build_parser().parse_args(argv[1:])  # the example parses


def test_the_top_help_names_the_environment_variables(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    help_text = capsys.readouterr().out
    for name in ("WAYPOINT_DB", "WAYPOINT_CONFIG", "WAYPOINT_MEMORY_LIMIT"):
        assert name in help_text


@pytest.mark.parametrize("command", ["kpis", "outcomes", "attendance", "readiness"])
def test_every_figure_command_takes_db_and_as_of(command):
    args = cli.build_parser().parse_args([command, "--db", "x.duckdb", "--as-of", "2025-03-31"])
    assert args.db == "x.duckdb" and str(args.as_of) == "2025-03-31"


def test_a_bad_date_is_refused_with_the_expected_form(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["kpis", "--as-of", "31/03/2025"])
    assert exit_.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_serve_defaults_to_localhost_8501_without_usage_statistics():
    args = cli.build_parser().parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 8501)
    command = serve.streamlit_command(args.port, args.host)
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert command[command.index("--browser.gatherUsageStats") + 1] == "false"
