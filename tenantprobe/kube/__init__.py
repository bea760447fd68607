"""Kubernetes: namespace-per-tenant provisioning, the cluster the checks use, and a local control plane.

    template.py      the tenant template: manifests with ${placeholders}, rendered guards first
    provision.py     provision/deprovision one tenant on all layers (server-side apply, rollback)
    app.py           the application layer of a tenant: the target's tenant admin API
    api.py           requests to the apiserver, kept as evidence; access reviews
    cluster.py       the cluster of a run and one client per identity
    controlplane.py  etcd + kube-apiserver + kube-controller-manager on loopback (build.sh builds them)
    checks.py        KubeProbe: Kubernetes checks as result records
    objects.py       the small manifests the checks create
    plugin.py        pytest options and fixtures of suites/quota and suites/rbac
    commands.py      `tenantprobe provision` and `tenantprobe deprovision`

Optional: needs the ``k8s`` extra (the ``kubernetes`` client), imported only when used. The
harness core never imports this package, and this package imports nothing from ``k8s/``.
"""
