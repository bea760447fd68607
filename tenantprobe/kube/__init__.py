"""Kubernetes: namespace-per-tenant provisioning and checks, a local cluster, and network probing.

    client/          the client side, for any cluster: api, cluster, template, provision, checks
    local/           the local cluster: control plane and its certificates, node agent, pod network, enforcer
    network/         network probing: the policy engine, the probe program and pods, the prober, one run
    plugin.py        pytest options and fixtures of suites/quota, suites/rbac and suites/network

``client`` uses ``local`` only to start a cluster when none is named; ``local`` uses ``client.api`` (the
node agent) and ``network.netprobe`` (the program it serves in pods); ``network`` uses both.

Optional: needs the ``k8s`` extra (the ``kubernetes`` client), imported only when used. The
harness core never imports this package, and this package imports nothing from ``k8s/``.
"""
