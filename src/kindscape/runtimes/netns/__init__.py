"""The netns runtime: every node, pod and host a network namespace; no Docker needed."""
