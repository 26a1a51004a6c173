"""What a killed earlier run of a stage left behind, cleared when the stage starts:
temp files of processes that are gone, and its MLflow run still marked RUNNING."""

from __future__ import annotations

from pathlib import Path

from fss.io import remove_stale_temp_files


def clear_leftovers(who: str, folders: list[Path],
                    run: tuple[str, str, int | None] | None = None) -> list[str]:
    """Remove dead processes' temp files under ``folders`` and close as KILLED the
    MLflow runs of ``run`` = (row, stage, seed) that a dead process left RUNNING on
    this host; a live process's files and runs are left alone. Each is said on stdout
    (``who: ...``); the lines are returned too."""
    lines = [f"removed {path}, left by process {pid}, which is gone"
             for folder in folders for path, pid in remove_stale_temp_files(folder)]
    if run is not None:
        from fss.tracking import close_stale_runs

        lines += close_stale_runs(*run)
    for line in lines:
        print(f"{who}: {line}")
    return lines
