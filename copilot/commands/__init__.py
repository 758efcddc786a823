"""Sub-commands of ``atc``: one module each, discovered by :mod:`copilot.cli`."""
