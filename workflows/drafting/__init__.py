"""Drafting and review as Temporal workflows (shared, activities, workflows, worker, starter)."""
