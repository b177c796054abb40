"""Errors the policy package raises. Each names what is wrong so a person can fix it."""

from __future__ import annotations


class PolicyError(Exception):
    """A policy document is invalid.

    ``path`` is the file (or ``<string>``), ``line`` the 1-based line of the offending key when it
    could be located, ``field`` the dotted path of the key (``rules[2].when.plan_period``).
    """

    def __init__(self, message: str, *, path: str = "<string>", line: int | None = None,
                 field: str | None = None) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.field = field
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        field = f" [{self.field}]" if self.field else ""
        return f"{where}{field}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "field": self.field, "message": self.message}


class PolicyErrors(Exception):
    """Several problems found in one document; ``errors`` keeps each one."""

    def __init__(self, errors: list[PolicyError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class FactsError(Exception):
    """The facts given for a decision are invalid. ``field`` names the fact."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class ExpressionError(Exception):
    """An amount or condition expression does not parse or does not type-check.

    ``column`` is the 1-based position in the expression text.
    """

    def __init__(self, message: str, column: int | None = None) -> None:
        self.message = message
        self.column = column
        super().__init__(message if column is None else f"{message} (at character {column})")
