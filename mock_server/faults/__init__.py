"""Behaviours of a backend that misbehaves: one small class per file, registered by name.

A fault has one of three abilities, each a small interface (see `base.py`): it shapes a
response's timeline when the response is created, it intercepts a request before it is
answered, or it filters the bytes of a stream. Which faults apply to a request is decided
by rules (see `mock_server/rules.py`), never by the faults themselves.
"""

from mock_server.faults import (
    background,
    cancel_midway,
    drop_after_bytes,
    drop_after_events,
    drop_after_seconds,
    expire_cursors,
    fail,
    hang,
    http_error,
    incomplete,
    malformed_event,
    reset,
    sequence_gap,
    sequence_repeat,
    slice_writes,
    slow,
    slow_answer,
    stall,
)
from mock_server.faults.base import FAULT_TYPES, Fault, FaultSpecError, decode_fault

__all__ = ["FAULT_TYPES", "Fault", "FaultSpecError", "decode_fault"]

# Imported for their registration side effect; listed so the linter sees them used.
_REGISTERED = (
    background,
    cancel_midway,
    drop_after_bytes,
    drop_after_events,
    drop_after_seconds,
    expire_cursors,
    fail,
    hang,
    http_error,
    incomplete,
    malformed_event,
    reset,
    sequence_gap,
    sequence_repeat,
    slice_writes,
    slow,
    slow_answer,
    stall,
)
