"""Every command that works on one shop takes it as `--shop NAME` (documented) and `--name NAME` (a hidden
alias, the old spelling of `qlosync config`). Parsed by click itself, nothing is run."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest

from qlosync.cli import cli

#: Commands known to work on one shop: the test fails if one of them loses its option.
EXPECTED = {"config set", "config show", "config test", "sync", "mappings import", "mappings list", "mappings set",
            "ari push", "ari diff"}


def commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield " ".join((*path, name)), command


def shop_commands() -> dict[str, click.Command]:
    return {name: command for name, command in commands()
            if any("--shop" in p.opts or "--name" in p.opts for p in command.params if isinstance(p, click.Option))}


def test_the_commands_that_take_a_shop_are_the_known_ones():
    assert set(shop_commands()) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("spelling", ["--shop", "--name"])
def test_both_spellings_name_the_shop(name, spelling):
    command = shop_commands()[name]
    required = [p for p in command.params if p.required]
    extra = ["1", "DBL"] if name == "mappings set" else []
    assert len(required) == len(extra), [p.name for p in required]
    context = command.make_context(name, [spelling, "hotel-7", *extra])
    assert context.params["shop"] == "hotel-7"
    assert command.make_context(name, list(extra)).params["shop"] == "default"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_help_documents_shop_only(name):
    command = shop_commands()[name]
    help_text = command.get_help(click.Context(command, info_name=name))
    assert "--shop" in help_text
    assert "--name" not in help_text, help_text
