"""Running drafted workflows: the scoped gateway activity, the worker and the dry run.

A drafted workflow module (rendered from a WorkflowSpec, or edited by a human
and re-validated) imports only :mod:`workflows.drafts.shared`; every API call
goes through the one activity in :mod:`workflows.drafts.activities`, which
re-checks scopes and signs each request with a short-lived scoped JWT.
"""
