"""Runtimes: how a plan becomes real (netns: namespaces; kind: KIND clusters in Docker)."""
