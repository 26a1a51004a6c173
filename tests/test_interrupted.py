"""A killed run's leftovers: temp files of dead processes removed, MLflow runs left
RUNNING by a dead process on this host closed as KILLED, a live one left alone."""

import os
import socket
import subprocess
import sys

import pytest

from fss.interrupted import clear_leftovers
from fss.io import pid_alive, remove_stale_temp_files


@pytest.fixture(scope="module")
def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    assert not pid_alive(p.pid)
    return p.pid


def test_pid_alive():
    assert pid_alive(os.getpid()) and pid_alive(os.getppid())
    assert not pid_alive(0) and not pid_alive(-1)


def test_stale_checkpoint_temp_file_removed_live_one_kept(tmp_path, dead_pid, capsys):
    run = tmp_path / "models" / "cut" / "seed0"
    (run / "samples").mkdir(parents=True)
    stale = run / f".latest.pt.tmp-{dead_pid}"
    stale_deep = run / "samples" / f".epoch_0001.png.tmp-{dead_pid}"
    live = run / f".latest.pt.tmp-{os.getppid()}"   # another process, still writing
    mine = run / f".generator.pt.tmp-{os.getpid()}"
    kept = [run / "latest.pt", run / ".hidden", run / ".x.tmp-abc"]
    for f in (stale, stale_deep, live, mine, *kept):
        f.write_bytes(b"x")
    lines = clear_leftovers("train cut/seed0", [run])
    assert not stale.exists() and not stale_deep.exists()
    assert all(f.exists() for f in (live, mine, *kept))
    assert len(lines) == 2 and f"removed {stale}, left by process {dead_pid}" in lines[0]
    assert capsys.readouterr().out.count("train cut/seed0: removed") == 2
    assert remove_stale_temp_files(tmp_path / "nowhere") == []


def test_stale_mlflow_run_closed_live_one_left(tmp_path, monkeypatch, dead_pid, capsys):
    import mlflow
    from mlflow.tracking import MlflowClient

    from fss.tracking import Tracker

    uri = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    host = socket.gethostname()
    # A run made by the Tracker carries its owner.
    t = Tracker("train-cut-seed0", {"a": 1}, {"row": "cut", "stage": "train", "seed": "0"})
    mlflow.end_run()  # leave it RUNNING in the store, as a live writer would
    client = MlflowClient(tracking_uri=uri)
    live = client.get_run(t.run_id)
    assert live.data.tags["pid"] == str(os.getpid()) and live.data.tags["host"] == host
    exp = client.get_experiment_by_name("fss").experiment_id
    mlflow.set_tracking_uri(uri)
    client.set_terminated(t.run_id, "RUNNING")

    def make(pid, run_host, seed="0", row="cut"):
        r = client.create_run(exp, tags={"row": row, "stage": "train", "seed": seed,
                                         "pid": str(pid), "host": run_host})
        return r.info.run_id

    stale = make(dead_pid, host)
    other_host = make(dead_pid, "another-machine")
    other_seed = make(dead_pid, host, seed="1")
    other_row = make(dead_pid, host, row="fss")
    untagged = client.create_run(exp, tags={"row": "cut", "stage": "train", "seed": "0"})

    lines = clear_leftovers("train cut/seed0", [], ("cut", "train", 0))
    assert lines == [f"MLflow run {stale} was left RUNNING by process {dead_pid} on {host}, "
                     "which is gone: closed as KILLED"]
    assert "closed as KILLED" in capsys.readouterr().out
    status = {rid: client.get_run(rid).info.status
              for rid in (stale, t.run_id, other_host, other_seed, other_row,
                          untagged.info.run_id)}
    assert status.pop(stale) == "KILLED"
    assert set(status.values()) == {"RUNNING"}

    # Resuming the killed run (its checkpoint names it) reopens it under this process.
    r = Tracker("train-cut-seed0", {}, {}, run_id=stale)
    assert r.run_id == stale and client.get_run(stale).data.tags["pid"] == str(os.getpid())
    r.end()
    assert client.get_run(stale).info.status == "FINISHED"

    # A run the store no longer has: said, not swallowed, and a new run starts.
    n = Tracker("train-cut-seed0", {}, {"row": "cut"}, run_id="0" * 32)
    assert n.run_id != "0" * 32
    n.end()
    err = capsys.readouterr().err
    assert f"MLflow run {'0' * 32} (from the checkpoint) is not in the store" in err
    mlflow.set_tracking_uri(None)


def test_train_stage_clears_its_leftovers_first(tmp_path, monkeypatch, dead_pid, capsys):
    """At its start, before reading any data, the stage removes its own stale files."""
    import runpy
    import shutil
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    shutil.copy(repo / "params.yaml", tmp_path / "params.yaml")
    run = tmp_path / "models" / "cut" / "seed0"
    run.mkdir(parents=True)
    stale = run / f".latest.pt.tmp-{dead_pid}"
    stale.write_bytes(b"half a checkpoint")
    other_seed = tmp_path / "models" / "cut" / "seed1" / f".latest.pt.tmp-{dead_pid}"
    other_seed.parent.mkdir()
    other_seed.write_bytes(b"not this run's")
    monkeypatch.chdir(tmp_path)
    main = runpy.run_path(str(repo / "stages" / "train.py"))["main"]
    with pytest.raises(SystemExit):  # no data/splits.csv here: stops after the clean-up
        main(row="cut", seed=0, resume=True, track=False)
    assert not stale.exists() and other_seed.exists()
    out = capsys.readouterr()
    assert f"train cut/seed0: removed models/cut/seed0/.latest.pt.tmp-{dead_pid}" in out.out
    assert "splits.csv" in out.err
