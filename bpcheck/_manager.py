"""The one function that builds bpcheck's plugin manager."""

from __future__ import annotations

import importlib
from collections.abc import Iterable

import pluggy

from bpcheck import hookspecs

PROJECT_NAME = "bpcheck"

#: Modules holding bpcheck's own hook implementations, registered like any plugin.
BUILTIN_PLUGINS = (
    "bpcheck._adapters",
    "bpcheck.checks",
    "bpcheck.diagnosis",
    "bpcheck._report",
)


def get_plugin_manager(extra_plugins: Iterable[object] = ()) -> pluggy.PluginManager:
    """Hookspecs, then third-party entry points, then the built-ins, then ``extra_plugins``."""
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.load_setuptools_entrypoints(PROJECT_NAME)
    for name in BUILTIN_PLUGINS:
        manager.register(importlib.import_module(name), name=name)
    for plugin in extra_plugins:
        if not manager.is_registered(plugin):
            manager.register(plugin)
    return manager
