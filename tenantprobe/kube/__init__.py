"""Kubernetes: namespace-per-tenant provisioning, the cluster the checks use, and a local control plane.

    template.py      the tenant template: manifests with ${placeholders}, rendered guards first
    provision.py     provision/deprovision one tenant on all layers (server-side apply, rollback)
    app.py           the application layer of a tenant: the target's tenant admin API
    api.py           requests to the apiserver, kept as evidence; access reviews
    cluster.py       the cluster of a run and one client per identity
    controlplane.py  etcd + kube-apiserver + kube-controller-manager on loopback (build.sh builds them)
    checks.py        KubeProbe: Kubernetes checks as result records
    objects.py       the small manifests the checks create
    plugin.py        pytest options and fixtures of suites/quota, suites/rbac and suites/network
    netpol probing (suites/network, see its README):
    podnet.py        a bridge, and a network namespace with a veth per pod (iproute2)
    nodeagent.py     a Node for clusters without kubelets: pod namespaces, probe servers, pod status
    netprobe.py      the in-pod program: TCP/UDP servers and the batch probe client (stdlib only)
    enforcer.py      kube-router in firewall-only mode (build_kube_router.sh, install_netfilter_tools.sh)
    probenode.py     node agent + kube-router as one probe node, found again from other processes
    prober.py        PodExec, server pre-checks, parallel probes, expected vs observed
    netrun.py        one probing run: probe pods, expected and observed truth tables
    commands.py      `tenantprobe provision` and `tenantprobe deprovision`

Optional: needs the ``k8s`` extra (the ``kubernetes`` client), imported only when used. The
harness core never imports this package, and this package imports nothing from ``k8s/``.
"""
