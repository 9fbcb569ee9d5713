"""Is a command line from a deployment file (compose, Procfile, systemd unit) one qlosync really runs?

``check_command(argv)`` fails the test unless argv[0] is a console script installed in this virtualenv and
the rest parses the way that program will parse it: click for ``qlosync`` (unknown commands, unknown options
and bad choices are usage errors), dramatiq's and periodiq's own argparse parsers for those two (the module
they load must exist; dramatiq's queues must be qlosync's), alembic's own parser. Nothing is executed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
from pathlib import Path

import click
import pytest

from qlosync.runtime.queues import SCHEDULE, WORK_QUEUES

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

#: For a pytest run in a scratch project: without the plugins only tests/api needs (schemathesis and the
#: hypothesis it imports, anyio), each pytest process starts in a second instead of five to ten.
SCRATCH_PYTEST_PLUGINS_OFF = ("-p", "no:schemathesis", "-p", "no:hypothesispytest", "-p", "no:anyio")

#: The console script that runs each long-running role (what a file must start for it).
ROLE_PROGRAMS = {"api": "qlosync", "worker": "dramatiq", "relay": "qlosync", "scheduler": "periodiq"}

#: What dramatiq does when --worker-shutdown-timeout is not given (ms): its running actors get this long.
DRAMATIQ_DEFAULT_SHUTDOWN_MS = 600_000


def check_command(argv: list[str], *, where: str) -> None:
    """Fail unless *argv* is a real qlosync entry point with arguments its parser accepts."""
    assert argv, f"{where}: empty command"
    program = Path(argv[0]).name
    if not (BIN / program).is_file():
        pytest.fail(f"{where}: {argv[0]!r} is not a console script of this installation ({BIN})")
    args = argv[1:]
    if program == "qlosync":
        _check_click(args, where)
    elif program == "dramatiq":
        parsed = _argparse("dramatiq.cli", args, where)
        _require_module(parsed.broker, where)
        for queue in parsed.queues or ():
            assert queue in WORK_QUEUES, f"{where}: dramatiq --queues {queue!r} is not one of {WORK_QUEUES}"
        # Every worker takes the scheduler's ticks (all queues are taken without --queues).
        assert not parsed.queues or SCHEDULE in parsed.queues, \
            f"{where}: a worker on {parsed.queues} does not take the scheduler's ticks ({SCHEDULE})"
    elif program == "periodiq":
        parsed = _argparse("periodiq", args, where)
        _require_module(parsed.broker, where)
    elif program == "alembic":
        from alembic.config import CommandLine

        try:
            with _quiet():
                options = CommandLine().parser.parse_args(args)
        except SystemExit:
            pytest.fail(f"{where}: alembic rejects its arguments {args}")
        assert getattr(options, "cmd", None), f"{where}: alembic {args} names no command"
    else:
        pytest.fail(f"{where}: unexpected program {program!r} (qlosync, dramatiq, periodiq or alembic)")


def dramatiq_shutdown_ms(argv: list[str]) -> int:
    """How long a dramatiq master started with *argv* lets running actors finish after SIGTERM (ms)."""
    parsed = _argparse("dramatiq.cli", argv[1:], "dramatiq")
    return int(parsed.worker_shutdown_timeout or DRAMATIQ_DEFAULT_SHUTDOWN_MS)


def _check_click(args: list[str], where: str) -> None:
    from qlosync.cli import cli

    command: click.Command = cli
    path = ["qlosync"]
    rest = list(args)
    while isinstance(command, click.Group):
        if not rest or rest[0].startswith("-"):
            pytest.fail(f"{where}: `{' '.join(path)}` needs a subcommand, got {args}")
        sub = command.get_command(click.Context(command), rest[0])
        if sub is None:
            pytest.fail(f"{where}: `{' '.join(path)}` has no command {rest[0]!r} (args {args})")
        path.append(rest.pop(0))
        command = sub
    try:
        with _quiet():
            command.make_context(" ".join(path), list(rest))  # parses and validates; never invokes
    except click.exceptions.Exit:
        pass
    except click.ClickException as exc:
        pytest.fail(f"{where}: `{' '.join(path)} {' '.join(rest)}` does not parse: {exc.format_message()}")


def _argparse(module: str, args: list[str], where: str):  # type: ignore[no-untyped-def]
    parser = importlib.import_module(module).make_argument_parser()
    try:
        with _quiet():
            return parser.parse_args(args)
    except SystemExit:
        pytest.fail(f"{where}: {module.split('.')[0]} rejects its arguments {args}")


def _require_module(name: str, where: str) -> None:
    module = name.split(":", 1)[0]
    assert importlib.util.find_spec(module) is not None, f"{where}: module {module!r} does not exist"
    assert module.startswith("qlosync."), f"{where}: loads {module!r}, not a qlosync module"


@contextlib.contextmanager
def _quiet():  # type: ignore[no-untyped-def]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield
