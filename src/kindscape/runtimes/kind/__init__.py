"""The kind runtime: the same scenario on real KIND clusters in Docker.

`planner` (pure) makes `ops`; `runtime` applies them through `docker_side` (the Docker
SDK), `kind_cli` (the kind binary) and `kubectl` (the cluster's API), with `facts`
resolving what only exists once the clusters do.
"""
