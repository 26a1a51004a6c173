"""`fss --help` and every command's help read as paragraphs: the docstrings' line
breaks never survive into the output (a paragraph re-wraps to the terminal as one),
the command list shows each command's one-line summary, and every command's help
shows one example invocation."""

import inspect
import re

import pytest
import typer
from typer.testing import CliRunner

from fss.cli import app

COMMAND = typer.main.get_command(app)


def _commands(group, path: tuple[str, ...] = ()):
    for name, cmd in group.commands.items():
        yield (*path, name), cmd
        if hasattr(cmd, "commands"):  # a group (typer's own click)
            yield from _commands(cmd, (*path, name))


ALL = [(" ".join(p), c) for p, c in _commands(COMMAND)]


def _help(args, monkeypatch, width=400):
    monkeypatch.setenv("COLUMNS", str(width))
    r = CliRunner().invoke(app, [*args, "--help"])
    assert r.exit_code == 0, r.output
    return r.output


def _plain(paragraph: str) -> str:
    """A docstring paragraph as the terminal shows it: one line, Markdown code marks gone."""
    return " ".join(paragraph.replace("`", "").split())


@pytest.mark.parametrize(("name", "cmd"), ALL, ids=[n for n, _ in ALL])
def test_each_paragraph_is_one_line_and_there_is_an_example(name, cmd, monkeypatch):
    out = _help(name.split(), monkeypatch)
    lines = [" ".join(line.strip(" │").split()) for line in out.splitlines()]
    paragraphs = [p for p in inspect.cleandoc(cmd.help or "").split("\n\n") if p.strip()]
    assert len(paragraphs) >= 2, f"{name}: a summary line and more"
    for p in paragraphs:
        assert _plain(p) in lines, f"{name}: paragraph broken across lines:\n{p}"
    examples = [p for p in paragraphs if p.startswith("Example: `fss ")]
    assert len(examples) == 1, f"{name}: one 'Example: `fss ...`' paragraph"
    words = examples[0].split("`")[1].split()
    assert words[1:1 + len(name.split())] == name.split(), f"{name}: example runs another command"


def test_the_command_list_shows_one_line_summaries(monkeypatch):
    out = _help([], monkeypatch, width=120)
    for name, cmd in COMMAND.commands.items():
        summary = _plain(inspect.cleandoc(cmd.help or "").split("\n\n")[0])
        assert len(summary) <= 90, f"{name}: summary longer than a line"
        row = next(line for line in out.splitlines() if re.search(rf"│ {name}\s", line))
        assert summary in " ".join(row.split()), f"{name}: summary not on its own row"
