"""Apigee access logs: formats -> canonical records (see :mod:`copilot.logs.schema`)."""
