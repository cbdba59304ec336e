"""Renderings of results and state: JSON documents, tables, pictures."""
