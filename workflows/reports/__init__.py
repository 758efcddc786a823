"""Scheduled log-analysis reports on Temporal: ``LogAnalysisWorkflow``, its activities,
worker (``python -m workflows.reports.worker``) and schedule starter."""
