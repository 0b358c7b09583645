"""`ErrorTranslation`: a client library's errors raised inside `with` become ours, naming the server."""

from __future__ import annotations

from types import TracebackType

from key_value.shared.errors import KeyValueStoreError, StoreConnectionError


class ErrorTranslation:
    """`with translation:` raises `errors` as `KeyValueStoreError`, and `unreachable` as `StoreConnectionError`.

    One instance per store module serves every operation: it keeps no state between uses.
    """

    __slots__ = ("errors", "server", "unreachable")

    def __init__(
        self,
        server: str,
        errors: tuple[type[BaseException], ...],
        unreachable: tuple[type[BaseException], ...],
    ) -> None:
        self.server = server
        self.errors = errors
        self.unreachable = unreachable

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc is not None and isinstance(exc, self.errors):
            raise self.error(exc) from exc

    def error(self, exc: BaseException) -> KeyValueStoreError:
        """Our error for the client library's `exc`."""
        if isinstance(exc, self.unreachable):
            return StoreConnectionError(f"{self.server} is unreachable: {exc}")
        return KeyValueStoreError(f"{self.server} failed: {exc}")


__all__ = ["ErrorTranslation"]
