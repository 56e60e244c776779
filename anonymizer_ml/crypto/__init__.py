"""Key management (keysets) and, later, field encryption."""
