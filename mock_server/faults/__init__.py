"""Behaviours of a backend that misbehaves: one small class per file, registered by name.

A fault has one of three abilities, each a small interface (see `base.py`): it shapes a
response's timeline when the response is created, it intercepts a request before it is
answered, or it filters the bytes of a stream. Which faults apply to a request is decided
by rules (see `mock_server/rules.py`), never by the faults themselves.
"""

import importlib
import pkgutil

from mock_server.faults.base import FAULT_TYPES, Fault, FaultSpecError, decode_fault

# Every module beside base.py is one fault that registers itself on import: adding a file adds a fault.
for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["FAULT_TYPES", "Fault", "FaultSpecError", "decode_fault"]
