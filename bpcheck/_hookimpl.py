"""The marker for bpcheck hook implementations (re-exported as ``bpcheck.hookimpl``)."""

import pluggy

hookimpl = pluggy.HookimplMarker("bpcheck")
