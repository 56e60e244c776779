"""``python -m anonymizer`` runs the CLI."""

from anonymizer.cli import entrypoint

entrypoint()
