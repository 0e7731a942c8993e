"""The fuzzer: Hypothesis draws whole scenarios about resumption, runs them through the conformance
engine and shrinks any failure to a scenario file that `bgr run --scenario FILE` replays."""

from harness.fuzz.session import FuzzResult, fuzz, resumption_property

__all__ = ["FuzzResult", "fuzz", "resumption_property"]
