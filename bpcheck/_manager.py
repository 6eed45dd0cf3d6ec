"""The one function that builds bpcheck's plugin manager."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

import pluggy

from bpcheck import hookspecs
from bpcheck._errors import PluginError

PROJECT_NAME = "bpcheck"

#: Modules holding bpcheck's own hook implementations, registered like any plugin.
BUILTIN_PLUGINS = (
    "bpcheck.adapters.declarative",
    "bpcheck.adapters.dlai",
    "bpcheck.adapters.cs231n",
    "bpcheck.adapters.nielsen",
    "bpcheck.adapters.functional",
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


def collect_declared(manager: pluggy.PluginManager, hook: str, kind: str) -> list[Any]:
    """Every plugin's contributions to ``hook`` (checks, mistakes), in
    registration order; their ids must be unique.

    Each implementation is called on its own so that a clash names both plugins.
    """
    declared: list[Any] = []
    seen: dict[str, str] = {}
    for implementation in getattr(manager.hook, hook).get_hookimpls():
        for item in implementation.function() or []:
            if item.id in seen:
                raise PluginError(
                    implementation.plugin_name, hook, f"{kind} id {item.id!r} is already declared by {seen[item.id]}"
                )
            seen[item.id] = implementation.plugin_name
            declared.append(item)
    return declared
