"""Drafting and reviewing drafts as Temporal workflows (authoring; running is ``workflows.runs``).

``workflows`` holds ``DraftRequestWorkflow`` and ``ReviewWorkflow``,
``activities`` their I/O (planner, validation, store), ``shared`` their names
and payloads, ``starter`` the client side, ``worker`` the ``atc worker`` process.
"""
