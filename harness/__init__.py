"""bgr's harness: drives agent implementations through scenario suites and judges the contract."""
