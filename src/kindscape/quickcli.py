"""The console script's entry point before it moved to cli.main: installs made then still
start through here until they are reinstalled."""

from .cli import main

__all__ = ["main"]
