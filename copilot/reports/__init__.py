"""Scheduled log-analysis reports: one resumable pass over new log files, the same
numbers as ``atc analyze`` and ``atc suggest``, rendered as HTML, Markdown and CSV.

``passes`` runs the analysis in chunks with checkpoints a retried activity resumes
from; ``content`` turns its documents into the report's sections; ``html``,
``markdown`` and ``csvs`` render them (every log-derived string escaped);
``narrative`` writes the summary paragraph; ``deliver`` writes the files and
posts the webhook; ``discover`` finds the files new since the last run.
"""
