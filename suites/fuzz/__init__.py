"""The API fuzzing suite: schemathesis per tenant role, stateful sequences with cross-tenant replay.

Modules: ``budget`` (the ci and deep profiles), ``campaign`` (the run's figures), ``exchanges``
(what was sent and received, with a redacted curl reproduction), ``oracles`` (judging a
response), ``fuzzer`` (sending a case as an actor and attacking with another tenant's ids),
``shrinking`` (findings as exceptions Hypothesis can shrink, within a budget), ``stateless``
and ``stateful`` (the two drivers), ``aliases`` (schemathesis' generic types).
"""
