"""Choose a student's adapter through the ``bpcheck_adapter`` hook, and apply
a configuration's scope to it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pluggy

from bpcheck._errors import ConfigError
from bpcheck._scope import scope_from_settings
from bpcheck.adapters._adapter import AUTO, Adapter, AdapterRequest, StudentSource
from bpcheck.adapters._source import read_source

#: The translation used when no adapter recognises the module (its api check fails).
FALLBACK = "functional"


def choose_adapter(
    spec: str | StudentSource,
    request: AdapterRequest,
    manager: pluggy.PluginManager,
    scope: Mapping[str, Any] | None = None,
    scope_source: str = "",
) -> Adapter:
    """The adapter for the student ``spec``, chosen from its source (read
    here, or already read: a :class:`StudentSource`), with ``scope`` (a
    configuration's ``[scope]`` table, from ``scope_source``) overriding the
    adapter's standard scope.

    A name no plugin answers to is a :class:`ConfigError`, and so is a bad
    declarative table. When "auto" recognises nothing, the result is the
    functional translation with a problem saying what every adapter looked
    for, which the ``api`` check reports. Choosing for ``StudentSource("")``,
    a module that defines nothing, raises whatever a configuration would make
    every student's choice raise.
    """
    source = spec if isinstance(spec, StudentSource) else read_source(spec)
    declined: list[str] = []
    adapter: Adapter | None = manager.hook.bpcheck_adapter(
        student=source, request=request, declined=declined
    )
    if adapter is None and request.name != AUTO:
        raise ConfigError(
            "adapter", request.source, f"an adapter's name ({', '.join(adapter_names(manager))}) or auto", request.name
        )
    if adapter is None:
        why = f" ({source.error})" if source.error else ""
        adapter = Adapter(
            "none",
            FALLBACK,
            reason="auto: no adapter recognised the module",
            biases=(True, False),  # the functional translation, which runs either
            problems=(
                f"bpcheck could not tell which course's API {source.path} follows{why}: "
                + "; ".join(declined)
                + ". Define those functions, or name the adapter (--bpcheck-adapter under pytest, "
                "--adapter for bpcheck check and grade, or adapter = \"NAME\" in [tool.bpcheck]).",
            ),
        )
    if scope:
        adapter = replace(adapter, scope=scope_from_settings(adapter.scope, scope, scope_source))
    if adapter.scope.biases not in adapter.biases:
        kind = "with" if adapter.biases[0] else "without"
        raise ConfigError(
            "scope.biases",
            scope_source,
            f"{str(adapter.biases[0]).lower()}: the {adapter.name} adapter runs only networks {kind} biases"
            + ("" if adapter.biases[0] else ' (its table says bias = "absent")'),
            adapter.scope.biases,
        )
    return adapter


def adapter_names(manager: pluggy.PluginManager) -> list[str]:
    """The names of the adapters the plugins define (their modules' ``NAME``)."""
    return sorted(
        str(implementation.plugin.NAME)
        for implementation in manager.hook.bpcheck_adapter.get_hookimpls()
        if hasattr(implementation.plugin, "NAME")
    )
