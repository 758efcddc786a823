"""Scheduled log-analysis reports: the new log files read through the fan-out, the same
numbers as ``atc analyze`` and ``atc suggest``, rendered as HTML, Markdown and CSV.

``documents`` makes the three documents a report is rendered from (analysis,
advice, hourly series) out of one merged run; ``content`` turns them into the
report's sections; ``html``,
``markdown`` and ``csvs`` render them (every log-derived string escaped);
``narrative`` writes the summary paragraph; ``deliver`` writes the files and
posts the webhook; ``discover`` finds the files new since the last run.
"""
