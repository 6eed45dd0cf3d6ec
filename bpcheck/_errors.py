"""The two kinds of error bpcheck reports, kept apart on purpose.

:class:`ConfigError` is a problem with how bpcheck itself was set up (an
option, a config file, a plugin). It names the setting, where it came from,
what was expected and what arrived. Student mistakes are never exceptions of
the harness: they are check results.
"""

from __future__ import annotations

from typing import Any


class ConfigError(Exception):
    """bpcheck was configured wrongly: a bad option, config key or plugin.

    ``source`` says where the value came from ("the command line",
    "pyproject.toml [tool.bpcheck]", "plugin 'mycourse'").
    """

    def __init__(self, setting: str, source: str, expected: str, got: Any) -> None:
        self.setting, self.source, self.expected, self.got = setting, source, expected, got
        super().__init__(
            f"{setting} (from {source}): expected {expected}; got {got!r}"
            + (f" (type={type(got).__name__})" if not isinstance(got, str) else "")
        )


class PluginError(Exception):
    """A bpcheck plugin broke its hook's contract.

    Carries the offending ``plugin`` and ``hook``; the message gives one fact a line.
    """

    def __init__(self, plugin: str, hook: str, problem: str) -> None:
        self.plugin, self.hook = plugin, hook
        super().__init__(f"plugin: {plugin}\nhook: {hook}\nproblem: {problem}")
