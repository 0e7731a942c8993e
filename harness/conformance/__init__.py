"""The conformance engine: adapters drive an agent through scenarios, a history is recorded, checks judge it.

Adapters are the only modules that know an agent's API; the caller plays a scenario's script; the
runner records a `History` (plain data) and the checks, pure functions of it, give the verdicts that
reports render. It imports the client library (the reference agent polls with it) and the mock.
"""
