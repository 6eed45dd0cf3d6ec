"""The Hypothesis profiles bpcheck runs checks under.

``bpcheck-student`` is quick, for a laptop, and remembers failing cases in the
example database so that a rerun tries them first. ``bpcheck-grade`` is for
grading: derandomized (with the same seed a submission always gets the same
result), no example database, more examples.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, Verbosity, settings

PROFILES = ("student", "grade")

_COMMON = dict(
    deadline=None,
    verbosity=Verbosity.quiet,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)

settings.register_profile("bpcheck-student", max_examples=20, **_COMMON)  # type: ignore[arg-type]
settings.register_profile(
    "bpcheck-grade", max_examples=100, derandomize=True, database=None, **_COMMON  # type: ignore[arg-type]
)


def profile_settings(profile: str, max_examples: int | None = None) -> settings:
    """The settings of ``profile`` ("student" or "grade"), with ``max_examples`` overridden."""
    base = settings.get_profile(f"bpcheck-{profile}")
    return settings(base, max_examples=max_examples) if max_examples else base
