"""Load testing: per-tenant statistics, SLO verdicts and the locust users and listeners behind ``scenarios/``.

Laid out the way locust-plugins ships its users and listeners, so that a locustfile is a few
lines (``scenarios/steady.py``) and the machinery is importable, typed and tested here:

====================  ===================================================================
``stats``             per-tenant HdrHistograms, offered vs achieved, merged across workers;
                      the one percentile helper
``result``            the result document ``results/load-<name>.json`` (``result.schema.json``)
``slo``               thresholds from the catalogue, verdicts, result records, exit codes
``resources``         CPU and memory of the target's processes (psutil)
``plan``              the workload, the target opened and its tenants provisioned and seeded
``pacer``             Poisson arrivals on an intended timeline
``state``             what one locust process knows about the run
``users``             ``TenantUser``, ``BurstUser``, ``FloodingUser``, ``OnboardingUser``
``listeners``         the locust options and event listeners (registered on import of ``users``)
``bench``             ``tenantprobe bench scale``: the steady scenario at growing tenant counts
====================  ===================================================================

Only ``users``, ``listeners`` and ``state`` import locust (which patches the standard library
with gevent); the rest is plain Python that the CLI and the report may import.
"""
