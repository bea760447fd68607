"""The local cluster: a real control plane and a probe node on this machine, for a run that names no cluster.

    controlplane.py  etcd + kube-apiserver + kube-controller-manager on loopback; kubeconfigs
    pki.py           the throw-away certificate authorities and the certificates they issue
    build.sh         builds the pinned control plane from the Go module proxy (cached)
    nodeagent.py     a Node for clusters without kubelets: pod namespaces, probe servers, pod status
    execserver.py    the kubelet's exec endpoint of the node agent's pods
    podnet.py        a bridge, and a network namespace with a veth per pod (iproute2)
    enforcer.py      kube-router in firewall-only mode (build_kube_router.sh, install_netfilter_tools.sh)

Every process here runs through :mod:`tenantprobe.child`.
"""
