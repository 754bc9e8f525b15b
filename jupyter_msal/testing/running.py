"""What the stand-ins that run in the background share: ``with`` starts and stops them."""

from __future__ import annotations

from types import TracebackType
from typing import Any, TypeVar

__all__ = ["StartsAndStops"]

_Self = TypeVar("_Self", bound="StartsAndStops")


class StartsAndStops:
    """A stand-in with ``start()`` (returning itself) and ``stop()``: ``with X() as x:`` starts
    it and stops it however the block ends."""

    def start(self: _Self, *args: Any, **kwargs: Any) -> _Self:  # pragma: no cover - overridden
        """Start serving; returns ``self``."""
        raise NotImplementedError

    def stop(self) -> None:  # pragma: no cover - overridden
        """Stop serving; safe to call twice."""
        raise NotImplementedError

    def __enter__(self: _Self) -> _Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
