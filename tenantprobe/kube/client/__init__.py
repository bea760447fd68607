"""The client side: what talks to any cluster named by a kubeconfig.

api.py           requests to the apiserver, kept as evidence; access reviews; pods/exec
cluster.py       the cluster of a run (the user's, or a local one) and one client per identity
template.py      the tenant template: manifests with ${placeholders}, rendered guards first
provision.py     provision/deprovision one tenant on all layers (server-side apply, rollback)
app.py           the application layer of a tenant: the target's tenant admin API
checks.py        KubeProbe: Kubernetes checks as result records
objects.py       the small manifests the checks create (a restricted pod, a service, ...)
commands.py      `tenantprobe provision` and `tenantprobe deprovision`
"""
