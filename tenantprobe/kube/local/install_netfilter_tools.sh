#!/usr/bin/env bash
# Install what kube-router's firewall needs on this machine: ipset and iptables (Debian packages),
# idempotently. Needs root (apt-get); exits 0 at once when both are already there.
# The network suite's fixture runs it, so a new CI machine needs no manual step.
set -euo pipefail
missing=()
for tool in ipset iptables; do command -v "${tool}" >/dev/null || missing+=("${tool}"); done
[[ ${#missing[@]} -eq 0 ]] && exit 0
[[ $(id -u) -eq 0 ]] || { echo "install_netfilter_tools: ${missing[*]} missing and not root; install them with apt-get" >&2; exit 1; }
echo "install_netfilter_tools: installing ${missing[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
# Serialise with other apt users (parallel test runs); -o DPkg::Lock::Timeout waits for dpkg's own lock.
exec 9>/var/lock/tenantprobe-apt.lock
flock 9
apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >&2
