"""PII detection: vectorised pattern detectors, validators on candidates only, column classes."""
