"""Reading scenario files: schema, KIND configs, validation, resolution into a topology."""

from .load import Scenario, load, load_kind_config, loads

__all__ = ["Scenario", "load", "loads", "load_kind_config"]
