"""The rooms stand in layers (docs/architecture.md): models below training and
inference, inference below training (training saves the model file inference reads),
so neither models nor inference imports training. Every import counts, lazy ones too."""

import ast
from pathlib import Path

import pytest

FSS = Path(__file__).resolve().parent.parent / "fss"
BELOW = {"models": ("fss.training", "fss.inference", "fss.evaluation", "fss.report"),
         "inference": ("fss.training", "fss.evaluation", "fss.report")}


def imported_modules(source: str) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def test_imported_modules_sees_lazy_imports():
    src = "import os\ndef f():\n    from fss.training.config import NORMS\n"
    assert imported_modules(src) == {"os", "fss.training.config"}


@pytest.mark.parametrize("room", sorted(BELOW))
def test_a_lower_room_imports_nothing_above_it(room):
    bad = {f"{f.relative_to(FSS.parent)}: {m}"
           for f in sorted((FSS / room).rglob("*.py"))
           for m in imported_modules(f.read_text())
           if m.startswith(BELOW[room])}
    assert not bad, f"fss/{room} imports a room above it: {sorted(bad)}"
