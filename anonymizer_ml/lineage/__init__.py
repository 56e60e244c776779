"""Run manifests: what was done to which files (signed and extended by the lineage issue)."""
