"""Choosing the adapter: ``auto`` reads the module's source and says what it chose."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bpcheck import ConfigError, InProcessStudent, get_plugin_manager
from bpcheck._options import CourseSettings, course_settings, RawOption
from bpcheck.adapters import AdapterRequest, choose_adapter, read_source
from tests.adapters.table import Course, courses

COURSES = courses()


@pytest.mark.parametrize("course", COURSES, ids=lambda c: c.name)
def test_auto_picks_the_course_adapter_and_says_why(course: Course) -> None:
    settings = course.settings()
    adapter = choose_adapter(str(course.path), settings.request, get_plugin_manager(), settings.scope)
    assert adapter.name == course.adapter
    assert adapter.reason and adapter.problems == ()


def test_auto_picks_functional_for_the_contract(reference_copy: Path) -> None:
    adapter = choose_adapter(str(reference_copy), AdapterRequest(), get_plugin_manager())
    assert (adapter.name, adapter.reason) == ("functional", "auto: the module defines forward, backward")


def test_detection_never_runs_the_module(tmp_path: Path) -> None:
    module = tmp_path / "loud.py"
    module.write_text("raise SystemExit('ran')\ndef L_model_forward(X, p): ...\ndef L_model_backward(AL, Y, c): ...\n")
    assert choose_adapter(str(module), AdapterRequest(), get_plugin_manager()).name == "dlai"


def test_a_module_no_adapter_recognises_says_what_each_looked_for(tmp_path: Path) -> None:
    module = tmp_path / "nothing.py"
    module.write_text("def train(X, y):\n    return 0\n")
    manager = get_plugin_manager()
    adapter = choose_adapter(str(module), AdapterRequest(), manager)
    [problem] = adapter.problems
    for wanted in ("dlai looked for L_model_forward", "cs231n looked for FullyConnectedNet.loss",
                   "nielsen looked for Network.backprop", "functional looked for forward, backward",
                   "declarative looked for a [tool.bpcheck.adapter] table"):
        assert wanted in problem
    assert InProcessStudent(str(module), manager, adapter).api.problems == (problem,)


def test_a_named_adapter_says_what_the_module_lacks(tmp_path: Path) -> None:
    module = tmp_path / "half.py"
    module.write_text("def L_model_forward(X, parameters):\n    return X, []\n")
    manager = get_plugin_manager()
    adapter = choose_adapter(str(module), AdapterRequest("dlai", None, "the test"), manager)
    assert adapter.reason == "asked for in the test"
    student = InProcessStudent(str(module), manager, adapter)
    assert student.api.problems == ("no L_model_backward(AL, Y, caches) (the dlai adapter needs it)",)


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (AdapterRequest("coursera", None, "the command line, --bpcheck-adapter"), "an adapter's name"),
        (AdapterRequest("declarative", None, "the command line, --bpcheck-adapter"), "a [tool.bpcheck.adapter] table"),
    ],
)
def test_an_unknown_or_unconfigured_adapter_is_a_configuration_error(
    reference_copy: Path, request_: AdapterRequest, expected: str
) -> None:
    with pytest.raises(ConfigError, match="adapter") as raised:
        choose_adapter(str(reference_copy), request_, get_plugin_manager())
    assert expected in str(raised.value) and "--bpcheck-adapter" in str(raised.value)


def test_the_flag_wins_over_the_file_and_a_table_means_declarative() -> None:
    table = {"adapter": RawOption({"forward": "f", "backward": "b"}, "pyproject.toml [tool.bpcheck]")}
    assert course_settings(None, table).request.name == "declarative"
    assert course_settings(RawOption("dlai", "the command line"), table).request.name == "dlai"
    assert course_settings(None, {}) == CourseSettings()


def test_the_pytest_header_names_the_adapter(pytester: pytest.Pytester) -> None:
    source = Path(__file__).parent / "courses" / "nielsen_network.py"
    target = pytester.path / "net.py"
    target.write_text(source.read_text())
    result = pytester.runpytest("--student=net.py", "--collect-only")
    result.stdout.fnmatch_lines(["bpcheck adapter: nielsen (auto: the module defines Network.backprop)",
                                 "bpcheck scope: sigmoid hidden layers, sigmoid output; mse*"])


def test_read_source_sees_classes_methods_and_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from x import softmax_loss as sl\nclass Net:\n    def loss(self): ...\nif True:\n    A = 1\n")
    source = read_source(str(module))
    assert source.defines("sl") and source.defines("Net.loss") and source.defines("A")
    assert not source.defines("Net.forward")


def test_pytest_with_a_named_adapter_grades_a_course_submission_in_full(pytester: pytest.Pytester) -> None:
    source = Path(__file__).parent / "courses" / "dlai_deep.py"
    (pytester.path / "dnn.py").write_text(source.read_text())
    result = pytester.runpytest("--student=dnn.py", "--bpcheck-adapter=dlai", "--bpcheck-examples=3")
    result.stdout.fnmatch_lines(["bpcheck adapter: dlai (the module defines L_model_forward, L_model_backward)",
                                 "*score *(passed)*"])
    assert result.ret == 0
    _assert_full_marks(result)


def test_pytest_reads_the_declarative_table_from_pyproject(pytester: pytest.Pytester) -> None:
    source = Path(__file__).parent / "courses" / "declarative_mlp.py"
    (pytester.path / "mlp_class.py").write_text(source.read_text())
    course = next(c for c in COURSES if c.path == source)
    assert course.table is not None
    table = "\n".join(f"{key} = {json.dumps(value)}" for key, value in course.table.items())
    pytester.makepyprojecttoml(f"[tool.bpcheck.adapter]\n{table}\n\n[tool.bpcheck.scope]\ndepth = [1, 2]\n")
    result = pytester.runpytest(
        "--student=mlp_class.py", "--bpcheck-activations=relu", "--bpcheck-losses=cce", "--bpcheck-examples=3"
    )
    result.stdout.fnmatch_lines(["bpcheck adapter: declarative (the table in *pyproject.toml *",
                                 "bpcheck scope: relu hidden layers, softmax output; cce; depth 1–2*",
                                 "*score *(passed)*"])
    _assert_full_marks(result)


def _assert_full_marks(result: pytest.RunResult) -> None:
    """The last screen's score line gives every point of a positive maximum."""
    [line] = [line for line in result.outlines if ": score " in line]
    score, maximum = line.split(": score ")[1].split()[0].split("/")
    assert float(score) == float(maximum) > 0


def test_a_bad_table_stops_pytest_with_a_configuration_error(pytester: pytest.Pytester, reference_copy: Path) -> None:
    pytester.makepyprojecttoml('[tool.bpcheck.adapter]\nforward = "forward"\nbackward = "backward"\nbias = "(out,)"\n')
    result = pytester.runpytest(f"--student={reference_copy}")
    result.stderr.fnmatch_lines(["*bpcheck: adapter.bias (from *pyproject.toml *): expected column or row or flat or augmented or absent; got *(out,)*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


@pytest.mark.parametrize(
    ("source", "error"),
    [("def f(:\n", "does not parse (SyntaxError"), ("x = " + "(" * 300_000 + ")" * 300_000, "does not parse")],
    ids=["syntax error", "too deeply nested"],
)
def test_a_source_that_does_not_parse_defines_nothing_and_says_why(tmp_path: Path, source: str, error: str) -> None:
    module = tmp_path / "broken.py"
    module.write_text(source)
    found = read_source(str(module))
    assert error in found.error and not found.names


@pytest.mark.parametrize(
    ("adapter", "source", "starter"),
    [
        ("functional", "def forward(params, X, activations):\n    return X, None\n", "the template (`bpcheck init`)"),
        ("dlai", "def L_model_forward(X, parameters):\n    return X, []\n",
         'the course\'s Week 4 notebook ("Building your Deep Neural Network'),
        ("dlai", "def forward_propagation(X, parameters):\n    return X, {}\nbackward_propagation = None\n",
         'the course\'s Week 3 notebook ("Planar data classification'),
        ("cs231n", "class FullyConnectedNet:\n    pass\n", "the assignment's starter code (assignment 2's `cs231n/classifiers/fc_net.py`)"),
        ("nielsen", "class Network:\n    def backprop(self, x, y):\n        pass\n", "the book's `network.py` (chapter 1"),
    ],
)
def test_the_api_checks_hint_names_the_courses_own_starter_code(
    tmp_path: Path, adapter: str, source: str, starter: str
) -> None:
    from bpcheck import RunOptions
    from bpcheck._running import collect_checks, plan, run_planned
    from bpcheck._options import with_adapter

    module = tmp_path / "hw.py"
    module.write_text(source)
    manager = get_plugin_manager()
    options = with_adapter(RunOptions(), str(module), CourseSettings(AdapterRequest(adapter, None, "the test")), manager)
    [api] = [planned for planned in plan(collect_checks(manager), options) if planned.check.id == "api"]
    result = run_planned(api, InProcessStudent(str(module), manager, options.adapter), options)
    assert result.status == "failed"
    assert result.message.endswith(" to see the expected signatures.")
    assert f"Start from {starter}" in result.message
    assert ("bpcheck init" in result.message) == (adapter == "functional")
