"""atc, the Apigee x Temporal copilot: the library (pure logic, no UI, no workers)."""

__version__ = "0.1.0"
