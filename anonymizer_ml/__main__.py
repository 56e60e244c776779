"""``python -m anonymizer_ml`` runs the CLI."""

from anonymizer_ml.cli import entrypoint

entrypoint()
