"""One check per rule of CONTRACT.md section 1, each a pure function of a History."""

import importlib
import pkgutil

from harness.conformance.checks.base import CHECKS, Check, NotApplicable, Verdict

# Every module beside base.py and evidence.py is one check that registers itself.
for _module in pkgutil.iter_modules(__path__):
    if _module.name not in ("base", "evidence"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["CHECKS", "Check", "NotApplicable", "Verdict"]
