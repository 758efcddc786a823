"""Temporal workflows shipped with atc, their activities and workers.

Each package follows temporalio/samples-python's split: ``shared`` (types and
the task queue), ``activities``, workflows, ``worker`` and a starter.
"""
