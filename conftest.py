"""Registers the tenantprobe pytest plugins for runs from a source checkout."""

pytest_plugins = ["tenantprobe.plugin", "tenantprobe.kube.plugin"]
