"""Whatever a student's functions return, a real bwrap worker gets it the
verdicts trusted in-process grading gives it (the checks of ``pytest
--student`` judge it there): an array the wire cannot carry must never turn a
named mistake into an error, or a passed check into a failed one."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpcheck import RunOptions, RunReport
from bpcheck.grading._config import GradingConfig
from bpcheck.grading._grade import grade_all
from bpcheck.grading._submissions import Submission
from tests.implementations import HERE

#: A submission: the correct module with one function wrapped, and that
#: function's return in terms of what the correct one returned (``result``).
RETURNS = {
    "correct": ("backward", "result"),
    "complex": ("backward", "{key: value + 0j for key, value in result.items()}"),
    "complex64": ("backward", "{key: value.astype(np.complex64) for key, value in result.items()}"),
    "bool": ("backward", "{key: value > 0 for key, value in result.items()}"),
    "int": ("backward", "{key: np.rint(value).astype(int) for key, value in result.items()}"),
    "float16": ("backward", "{key: value.astype(np.float16) for key, value in result.items()}"),
    "longdouble": (
        "backward",
        "{key: value.astype(np.longdouble) for key, value in result.items()}",
    ),
    "lists": ("backward", "{key: value.tolist() for key, value in result.items()}"),
    "flat": ("backward", "{key: value.ravel() for key, value in result.items()}"),
    "extra_keys": (
        "backward",
        "{**result, 'note': 'text', 'cache': {'A1': 1}, 'count': 3, 'dZ1': [1.0]}",
    ),
    "AL_list": ("forward", "(result[0].tolist(), result[1])"),
    "AL_complex": ("forward", "(result[0] + 0j, result[1])"),
    "loss_array": ("compute_loss", "np.array([[result]])"),
    "loss_list": ("compute_loss", "[result]"),
    "loss_complex": ("compute_loss", "result + 0j"),
    "update_lists": ("update", "{key: value.tolist() for key, value in result.items()}"),
    "update_complex": ("update", "{key: value + 0j for key, value in result.items()}"),
    "update_extra_keys": ("update", "{**result, 'note': 'adam', 't': 1, 'm': {'W1': 0}}"),
    "forward_as_list": ("forward", "[result[0], result[1]]"),
    "AL_matrix": ("forward", "(np.asmatrix(result[0]), result[1])"),
    "AL_float32": ("forward", "(result[0].astype(np.float32), result[1])"),
    "AL_int": ("forward", "(np.rint(result[0]).astype(int), result[1])"),
    "forward_as_dict": ("forward", "{'AL': result[0], 'cache': result[1]}"),
    "dW_matrix": ("backward", "{key: np.asmatrix(value) for key, value in result.items()}"),
    "dW_float32": ("backward", "{key: value.astype(np.float32) for key, value in result.items()}"),
    "dW_fortran": ("backward", "{key: np.asfortranarray(value) for key, value in result.items()}"),
    "dW_read_only": (
        "backward",
        "{k: np.lib.stride_tricks.as_strided(v, writeable=False) for k, v in result.items()}",
    ),
    "grads_ordered": ("backward", "__import__('collections').OrderedDict(result)"),
    "grads_read_only": ("backward", "__import__('types').MappingProxyType(dict(result))"),
    "grads_numpy_keys": ("backward", "{np.str_(key): value for key, value in result.items()}"),
    "forward_namedtuple": (
        "forward",
        "__import__('collections').namedtuple('F', 'AL cache')(*result)",
    ),
}
OPTIONS = RunOptions(
    profile="grade", seed=0, max_examples=2, hidden_activations=("relu",), losses=("mse",)
)


def _verdicts(report: RunReport | None) -> tuple[list[tuple[str, str, float]], list[str]]:
    assert report is not None
    checks = [(result.name, result.status, result.points) for result in report.checks]
    return checks, sorted(str(entry["mistake"]) for entry in report.diagnoses)


#: A complex value cast to real in the grader (outside the student's calls) is a harness error.
@pytest.mark.filterwarnings("error::numpy.exceptions.ComplexWarning")
def test_every_kind_of_return_gets_the_same_verdicts_in_a_worker_as_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bpcheck._report.heatmaps", lambda results: [])  # costly, and not judged
    correct = (HERE / "correct_table.py").read_text()
    submissions = []
    for name, (function, returned) in RETURNS.items():
        path = tmp_path / "submissions" / f"{name}.py"
        path.parent.mkdir(exist_ok=True)
        wrapper = (
            f"\n\n_{function} = {function}\n\n\ndef {function}(*args):\n"
            f"    result = _{function}(*args)\n    return {returned}\n"
        )
        path.write_text(correct + wrapper)
        submissions.append(Submission(name, path))
    config = GradingConfig(options=OPTIONS)
    trusted = grade_all(submissions, config, tmp_path / "in-process", isolation="in-process")
    isolated = grade_all(submissions, config, tmp_path / "worker")
    for in_process, worker in zip(trusted, isolated, strict=True):
        name = worker.submission.name
        assert worker.status == in_process.status == "graded", (name, worker.message)
        assert worker.isolation.startswith("bwrap"), worker.isolation
        assert _verdicts(worker.report) == _verdicts(in_process.report), name
    failed = {
        outcome.submission.name: {
            result.id
            for result in outcome.report.checks
            if result.status != "passed" and result.status != "skipped"
        }
        for outcome in trusted
        if outcome.report is not None
    }
    # Lists and matrices where the contract asks for arrays and numbers (forward's
    # AL, the loss and update's parameters are converted; only backward's are
    # judged), float16 and long double gradients, other memory layouts and
    # mappings, and extra keys holding anything.
    clean = {
        "correct", "extra_keys", "float16", "longdouble", "dW_float32", "dW_matrix",
        "dW_fortran", "dW_read_only", "grads_ordered", "grads_read_only", "grads_numpy_keys",
        "forward_namedtuple",
        "AL_list", "AL_matrix", "AL_float32", "forward_as_list", "loss_array", "loss_list",
        "update_lists", "update_extra_keys",
    }  # fmt: skip
    assert {name for name, checks in failed.items() if not checks} == clean
    assert failed["AL_complex"] == {"forward"}
    assert failed["AL_int"] == {"forward", "finite_differences"}  # rounded: wrong, and flat
    assert failed["update_complex"] == {"update"}
    assert failed["loss_complex"] == {"forward", "worked_examples"}  # the checks that ask for it
    named = {outcome.submission.name: _verdicts(outcome.report)[1] for outcome in trusted}
    assert named["complex"] == named["complex64"] == ["complex_gradients"]
    assert named["AL_complex"] == ["complex_forward"]  # its real part is right
    assert named["bool"] == named["int"] == ["integer_gradients"]
    assert named["flat"] == ["wrong_gradient_shape"]
