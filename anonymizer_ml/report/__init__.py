"""Terminal reports (rich): plan tables, run summaries, progress."""
