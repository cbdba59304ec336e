"""`kindscape trace`: the path a new connection takes, hop by hop, as the kernel decides
it (route lookups in each namespace) and as the tool's own rulesets decide it (NAT,
isolation, ...), forward and back."""

from .model import DELIVERED, DROPPED, LOOP, Hop, Path, Step, TraceReport
from .tracer import trace

__all__ = ["trace", "TraceReport", "Path", "Hop", "Step", "DELIVERED", "DROPPED", "LOOP"]
