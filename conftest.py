"""Registers the tenantprobe pytest plugin for runs from a source checkout."""

pytest_plugins = ["tenantprobe.plugin"]
