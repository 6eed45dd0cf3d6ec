"""``bpcheck grade --scheduler`` on a real dask.distributed cluster on 127.0.0.1: a
scheduler and two worker processes, one of them killed mid-run."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest

from bpcheck._cli import main
from bpcheck.grading import _commands, _dask, _grade
from bpcheck.grading._progress import Progress
from tests.grading.test_grade import BUGGY, CORRECT, reports

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def scheduler() -> Any:
    """The address of a scheduler with two single-threaded worker processes (nannies
    restart a killed one)."""
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        yield cluster.scheduler_address


def kill_a_busy_worker(address: str) -> int:
    """SIGKILL the process of a Dask worker that is running a task; its pid."""
    with distributed.Client(address, set_as_default=False) as client:
        (busy, *_) = [worker for worker, keys in client.processing().items() if keys]
        pid: int = client.run(os.getpid, workers=[busy])[busy]
    os.kill(pid, signal.SIGKILL)
    return pid


def test_a_cluster_gives_the_scores_of_a_local_run_and_survives_a_worker_killed_mid_task(
    scheduler: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """alice and bob finish first; slow (alice's code, 2 s to import) is then the only
    task running, and its worker is killed: the task is run again elsewhere, and every
    result is written once, by the grader."""
    (tmp_path / "bpcheck.toml").write_text(
        'activations = ["relu"]\nlosses = ["mse", "cce"]\nmax_examples = 3\n'
    )
    fast = ["--config", str(tmp_path / "bpcheck.toml")]
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    shutil.copy(CORRECT, submissions / "alice.py")
    shutil.copy(BUGGY, submissions / "bob.py")
    (submissions / "slow.py").write_text(CORRECT.read_text() + "\nimport time\ntime.sleep(2)\n")
    paths = [str(submissions / name) for name in ("alice.py", "bob.py", "slow.py")]

    killed: list[int] = []
    ticks: list[tuple[str, str]] = []

    class KillingProgress(Progress):
        def tick(self, submission: str, check: str) -> None:
            ticks.append((submission, check))
            super().tick(submission, check)

        def advance(self, graded: _grade.Graded) -> None:
            super().advance(graded)
            if self.done == 2:
                killed.append(kill_a_busy_worker(scheduler))

    written: list[str] = []
    write = _grade.write_atomically

    def counting(path: Path, content: str | bytes) -> None:
        written.append(path.name)
        write(path, content)

    monkeypatch.setattr(_commands, "Progress", KillingProgress)
    monkeypatch.setattr(_grade, "write_atomically", counting)
    out = tmp_path / "cluster"
    assert main(["grade", *paths, "--out", str(out), "--scheduler", scheduler, *fast]) == 0
    assert len(killed) == 1
    assert sorted(name for name in written if name.endswith(".state")) == [
        "alice.state",
        "bob.state",
        "slow.state",
    ]
    assert {submission for submission, _ in ticks} == {"alice", "bob", "slow"}

    monkeypatch.setattr(_commands, "Progress", Progress)
    local = tmp_path / "local"
    assert main(["grade", paths[1], "--out", str(local), "--jobs", "1", *fast]) == 0
    on_cluster = reports(out)
    assert on_cluster["bob.json"] == reports(local)["bob.json"]
    assert on_cluster["slow.json"] == on_cluster["alice.json"].replace('"alice"', '"slow"')
    alice, bob = (json.loads(on_cluster[f"{name}.json"]) for name in ("alice", "bob"))
    assert alice["score"] == alice["max_score"] > bob["score"] > 0


def test_a_scheduler_that_does_not_answer_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_dask, "CONNECT_TIMEOUT", 1)
    command = ["grade", str(CORRECT), "--out", str(tmp_path), "--scheduler", "tcp://127.0.0.1:9"]
    assert main(command) == 4
    error = capsys.readouterr().err
    assert "scheduler (from the command line, --scheduler): expected the address of a running Dask scheduler" in error
    assert "isolation:" not in error  # the refusal comes before the banner
