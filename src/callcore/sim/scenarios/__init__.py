"""Bundled benchmark scenarios (YAML files in this package)."""
