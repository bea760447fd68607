#!/usr/bin/env bash
# The control plane build script ships inside the tenantprobe package, so an installed
# tenantprobe can build the binaries without this checkout. This is a shortcut to it.
exec bash "$(dirname "$0")/../../tenantprobe/kube/local/build.sh" "$@"
