"""Paths are declared once, in conf's ``paths`` section: no pipeline location is
spelled in fss/ or stages/ (an AST walk over their string constants), dvc.yaml spells
none either but reads ``${paths.x}``, the resolved stages put their outputs where the
code's PathsParams says (moved together by one override), the section is checked like
every other, and the split file has one checked reader."""

from __future__ import annotations

import ast
import logging
import os
import re
from pathlib import Path

import pytest
import yaml

from fss.config import ParamsError
from fss.data.splits import COLUMNS, read_splits
from fss.errors import UserError
from fss.paths import PathsParams, read_paths

REPO = Path(__file__).resolve().parents[1]
SOURCES = sorted(p.relative_to(REPO).as_posix() for d in ("fss", "stages")
                 for p in (REPO / d).rglob("*.py"))

# The folders the pipeline writes at the repository root.
ROOTS = ("data", "metrics", "models", "results", "plots", "reports")
# a root followed by "/" where a path starts (not inside a longer word or path, so
# "fss/data/align.py" and "seed<k>/metrics" are not taken for one)
IN_TEXT = re.compile(r"(?<![\w./-])(?:" + "|".join(ROOTS) + ")/")

# (file, constant): strings that look like pipeline paths and are not: paths inside
# an installed package that ships a weights file.
NOT_PIPELINE_PATHS = {
    ("fss/weights.py", "data/pnet.pt"), ("fss/weights.py", "data/rnet.pt"),
    ("fss/weights.py", "data/onet.pt"),
}

# Files another change owns; each still spells paths (the lead moves them to
# fss.paths). strict: the mark must go once the file is clean.
PENDING = {
}


def _docstrings(tree: ast.AST) -> set[int]:
    """The docstring constants (prose about the pipeline, not paths it uses)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                out.add(id(body[0].value))
    return out


def path_literals(source: str, name: str = "") -> list[str]:
    """Every place ``source`` spells a pipeline location: a string constant (f-string
    parts included) holding ``data/...``, ``metrics/...``, ...; a root folder joined
    with ``/`` (``root / "metrics"``) or made a ``Path("results")``."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in skip and IN_TEXT.search(node.value)
                and (name, node.value) not in NOT_PIPELINE_PATHS):
            found.append(f"line {node.lineno}: {node.value[:70]!r}")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            found += [f"line {node.lineno}: / {s.value!r}" for s in (node.left, node.right)
                      if isinstance(s, ast.Constant) and s.value in ROOTS]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Path":
            found += [f"line {node.lineno}: Path({s.value!r})" for s in node.args
                      if isinstance(s, ast.Constant) and s.value in ROOTS]
    return found


def test_the_walk_finds_each_kind_of_spelling():
    src = '''"""Writes data/splits.csv (a docstring: prose)."""
a = "data/splits.csv"
b = root / "metrics"
c = Path("results")
d = f"-> models/{row}/"
e = "fss/data/align.py"
f = "seed0/metrics"
g = {"metrics": 1}
'''
    got = path_literals(src)
    assert [g.split(":")[0] for g in got] == ["line 2", "line 3", "line 4", "line 5"], got


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=PENDING[n]))
    if n in PENDING else n for n in SOURCES])
def test_no_pipeline_path_is_spelled_in_code(name):
    found = path_literals((REPO / name).read_text(), name)
    assert found == [], f"{name} spells pipeline paths (read them from params.paths): {found}"


def _entries(stage: dict) -> list[str]:
    out = []
    for key in ("deps", "outs", "metrics", "plots"):
        for e in stage.get(key) or []:
            out += list(e) if isinstance(e, dict) else [e]
    return out


def test_dvc_yaml_reads_every_location_from_params():
    """A stage's deps and outs are its code (stages/, fss/) or ``${paths.x}``."""
    dvc = yaml.safe_load((REPO / "dvc.yaml").read_text())
    bad = {f"{name}: {e}" for name, st in dvc["stages"].items()
           for e in _entries(st.get("do", st))
           if not (e.startswith(("stages/", "fss/")) or e.startswith("${paths."))}
    bad |= {f"metrics: {e}" for e in dvc.get("metrics", []) if not e.startswith("${paths.")}
    assert bad == set()


def test_one_override_moves_dvc_outputs_and_code_paths_together(tmp_path):
    """dvc.yaml's resolved outputs are where the stages write (PathsParams and
    fss.runs's layout), also after ``-S paths.x=...``: nothing pins the two equal."""
    pytest.importorskip("dvc")
    from dvc.repo import Repo

    from fss.params import read_params
    from fss.params_compose import compose_params
    from fss.runs import run_name

    (tmp_path / "dvc.yaml").write_text((REPO / "dvc.yaml").read_text())
    compose_params(tmp_path / "params.yaml", ["paths.results=out/res", "paths.metrics=out/m",
                                              "paths.models=out/nets"], conf_dir=REPO / "conf")
    p = read_params(tmp_path / "params.yaml").paths
    run = run_name("fss", 0)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    # dvc's log handler may hold a stream an earlier test's capture has closed; init's
    # one INFO line is not what this test checks
    dvc_log = logging.getLogger("dvc")
    level = dvc_log.level
    dvc_log.setLevel(logging.WARNING)
    try:
        repo = Repo.init(str(tmp_path), no_scm=True)
        outs = {st.addressing: {str(o.def_path) for o in st.outs} for st in repo.index.stages}
        deps = {st.addressing: {str(d.def_path) for d in st.deps} for st in repo.index.stages}
        repo.close()
    finally:
        os.chdir(cwd)
        dvc_log.setLevel(level)
    assert outs["evaluate@fss-0"] == {str(p.results_dir(run)), str(p.metrics_file(run))}
    assert outs["evaluate_reference@photo"] == {str(p.results_dir("photo")),
                                                str(p.metrics_file("photo"))}
    assert outs["train@fss-0"] == {str(p.model_dir(run)), str(p.train_metrics_file(run)),
                                   str(p.train_plot(run))}
    assert str(p.model_dir(run) / "generator.pt") in deps["evaluate@fss-0"]
    assert str(p.results) == "out/res" and str(p.splits) in deps["evaluate@fss-0"]
    assert outs["split"] == {str(p.splits)} and outs["download"] == {str(p.raw)}


def _paths_yaml(tmp: Path, change: dict) -> Path:
    d = yaml.safe_load((REPO / "params.yaml").read_text())
    d["paths"].update(change)
    (tmp / "params.yaml").write_text(yaml.safe_dump(d))
    return tmp / "params.yaml"


@pytest.mark.parametrize(("value", "words"), [
    ("/abs/results", "relative to the repository root"),
    ("../results", "inside it"),
    ("", "inside it"),
    (3, "valid string")])
def test_a_path_outside_the_repository_is_refused(tmp_path, value, words):
    with pytest.raises(ParamsError) as e:
        read_paths(_paths_yaml(tmp_path, {"results": value}))
    msg = str(e.value)
    assert "params.yaml" in msg and "paths.results" in msg and words in msg
    assert "\n" not in msg


def test_read_paths_needs_the_section_and_only_it(tmp_path):
    (tmp_path / "params.yaml").write_text("meta: {profile: smoke}\n")
    with pytest.raises(ParamsError, match="params.yaml: params section 'paths' missing"):
        read_paths(tmp_path / "params.yaml")
    full = yaml.safe_load((REPO / "params.yaml").read_text())
    (tmp_path / "cut.yaml").write_text(yaml.safe_dump({"paths": full["paths"]}))
    p = read_paths(tmp_path / "cut.yaml")
    assert isinstance(p, PathsParams) and str(p.splits) == full["paths"]["splits"]
    assert p.under(tmp_path).splits == tmp_path / full["paths"]["splits"]
    assert p.metrics_file("fss/seed0") == p.metrics / "fss" / "seed0.json"


# --- the one checked reader of the split file ---------------------------------------

GOOD = "id,subset,split,photo,sketch\n001,cuhk,train,p/001.png,s/001.png\n" \
       "002,cuhk,test,p/002.png,s/002.png\n"

# (file content, words of the one line); None: no file
BAD_SPLITS = [
    (None, "missing (run the split stage first)"),
    ("", "not a readable CSV"),
    ("id,subset,split\n001,cuhk,train\n", "column(s) photo, sketch missing"),
    (GOOD.replace("002,cuhk,test", "002,cuhk,tset"), "line 3: split 'tset' should be one of "
                                                     "train, test"),
    (GOOD.replace(",cuhk,train,", ",cuhk,,"), "line 2: split '' should be one of"),
    (GOOD.replace("001,cuhk", ",cuhk"), "line 2: empty id"),
    (GOOD.replace("002,cuhk", "001,cuhk"), "id '001' listed more than once"),
    ('id,subset,split,photo,sketch\n"001,cuhk,train,a,b\n', "not a readable CSV"),
]


@pytest.mark.parametrize(("text", "words"), BAD_SPLITS,
                         ids=[w.split(" (")[0][:30] for _, w in BAD_SPLITS])
def test_a_damaged_split_file_is_one_line_naming_it(tmp_path, text, words):
    path = tmp_path / "splits.csv"
    if text is not None:
        path.write_text(text)
    with pytest.raises(UserError) as e:
        read_splits(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: ") and words in msg and "\n" not in msg, msg


def test_a_good_split_file_reads_as_strings(tmp_path):
    (tmp_path / "splits.csv").write_text(GOOD)
    df = read_splits(tmp_path / "splits.csv")
    assert tuple(df.columns) == COLUMNS
    assert list(df["id"]) == ["001", "002"]  # not the integers 1, 2


def test_every_code_dependency_in_dvc_yaml_exists():
    """A moved module must move in dvc.yaml too: DVC fails only when the stage runs."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    code = {d for st in stages.values() for d in st.get("deps") or []
            if isinstance(d, str) and d.split("/")[0] in ("fss", "stages", "benchmarks")}
    assert code, "no code dependencies found in dvc.yaml"
    assert sorted(d for d in code if not (REPO / d).exists()) == []
