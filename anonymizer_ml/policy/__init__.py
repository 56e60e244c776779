"""Policies: the YAML a user writes, its typed model, and its compilation into a plan."""
