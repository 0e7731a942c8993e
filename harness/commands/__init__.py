"""The `bgr` commands, thin over the mock, the client library, the conformance engine and the fuzzer."""
