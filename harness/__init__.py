"""bgr's harness, one folder per job:

- `client/`: the library users import into production code (backoff, poller, resumer, token stores);
  it imports nothing else of the harness;
- `conformance/`: the engine that drives agents through scenarios and judges the contract;
- `fuzz/`: Hypothesis over whole scenarios, shrunk to replayable files;
- `commands/`: the `bgr` command line, thin over the others.
"""
