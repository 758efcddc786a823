"""Running approved drafts on Temporal: which versions may run, their inputs, views of runs."""
