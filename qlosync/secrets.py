"""A wrapper that keeps secret strings out of reprs, logs and tracebacks."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


class Secret:
    """A secret string whose repr and str are masked; call :meth:`reveal` where the value is needed."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling a secret (e.g. into a message) is always a mistake.
        raise TypeError("Secret values cannot be pickled")


def mask(value: str, visible: int = 4) -> str:
    """Show only the last *visible* characters of a secret, for operators comparing keys."""
    if len(value) <= visible * 2:
        return "*" * len(value)
    return "*" * (len(value) - visible) + value[-visible:]


def without_credentials(url: str) -> str:
    """*url* for display: a ``user:password@`` part (an older qlosync stored the API key that way) becomes
    ``***@``, so no view prints it."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))
