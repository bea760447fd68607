"""Network probing (suites/network, see its README): what NetworkPolicies should allow, and what they do.

policy.py        the policy engine: expected reachability and the rule that decides it (pure)
netprobe.py      the in-pod program: TCP/UDP servers and the batch probe client (stdlib only)
pods.py          the probe pod and the config map that carries netprobe.py into it
probenode.py     where probe pods run: the local probe node, or a cluster's own nodes
prober.py        pod exec, server pre-checks, parallel probes, expected vs observed
run.py           one probing run: probe pods, expected and observed truth tables
"""
