"""Probes and the workload server they talk to."""
