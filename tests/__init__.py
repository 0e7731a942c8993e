"""bgr's own tests, one folder per kind, so a new test knows where it goes:

- `unit/`: pure functions on in-memory data (checks on fixture histories, faults, timelines, the
  scenario decoder, reports, the layout of the house); no socket, no process;
- `wire/`: the mock and the client library over real sockets on 127.0.0.1, with the real `openai`
  SDK, `agent-framework` and programs over the `cmd:` protocol;
- `meta/`: the harness judged as a whole: the suites against the reference agent (must pass) and
  deliberately broken ones (must fail with the expected check ids), the CLI, the fuzzer, the
  pytest plugin, saved verdicts re-judged, and bgr installed as users install it.

Beside them: fixtures (`conftest.py`), fixture histories (`histories.py`), the broken agents
(`broken_agents.py`), raw HTTP (`raw_http.py`), a virtual clock and the project's root (`paths.py`).
"""
