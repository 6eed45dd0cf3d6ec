"""Course adapters: one module per course style, each a pluggy plugin.

An adapter translates a course's API (deeplearning.ai's ``L_model_forward``,
CS231n's ``FullyConnectedNet``, Nielsen's ``Network.backprop``, a
declarative table, or bpcheck's own functional contract) to the harness's
contract, and carries that course's standard scope and vocabulary. It is
chosen through the ``bpcheck_adapter`` hook from the module's source; its
translation (``bpcheck/_sandbox/adapters``) runs where the student's code runs.
The checks never learn which adapter ran.
"""

from __future__ import annotations

from bpcheck.adapters._adapter import AUTO, Adapter, AdapterRequest, StudentSource, Vocabulary
from bpcheck.adapters._select import adapter_names, choose_adapter
from bpcheck.adapters._source import read_source

__all__ = [
    "AUTO",
    "Adapter",
    "AdapterRequest",
    "StudentSource",
    "Vocabulary",
    "adapter_names",
    "choose_adapter",
    "read_source",
]
