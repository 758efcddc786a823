"""What drafted workflows run on: the one module they import and everything that loads them.

A drafted workflow module (rendered from a WorkflowSpec) imports only
:mod:`workflows.runtime.shared`; every API call goes through the one activity
in :mod:`workflows.runtime.gateway_activity`, which re-checks scopes and signs
each request with a short-lived scoped JWT. :mod:`~workflows.runtime.loader`
imports a drafted module (only in a process that exists to run drafts), and
the ``*_child`` modules are the isolated child processes that do so:
``sandbox_child`` (rule WF105) and ``dryrun_child`` (the dry run). Their
parents, which spawn and bound them, live in ``copilot.drafting``
(``sandbox.py``, ``dryrun.py``).
"""
