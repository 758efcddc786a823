"""Apigee semantics shared by atc's readers: the condition language of bundles (see docs/conditions.md)."""
