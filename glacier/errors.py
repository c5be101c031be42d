"""Exceptions raised by icebench: each names the field, cell or setting at fault."""


class InputError(ValueError):
    """Invalid input data or settings, detected before any work starts."""


class SolverError(RuntimeError):
    """A velocity solve that did not converge; ``report`` holds the solver's diagnostics."""

    def __init__(self, message: str, report: dict | None = None):
        super().__init__(message)
        self.report = report or {}
