"""Thread-safe lazy values: a model or table is built once, on first use, by whichever thread gets there."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
_UNSET = object()


class Lazy(Generic[T]):
    """Calls ``factory`` once, on the first :meth:`get`; concurrent callers wait for that one call.

    If the factory raises, the exception is remembered and re-raised on every later call, so a missing
    optional dependency is probed once, not on every request.
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._value: object = _UNSET
        self._error: BaseException | None = None

    def get(self) -> T:
        if self._value is _UNSET and self._error is None:
            with self._lock:
                if self._value is _UNSET and self._error is None:
                    try:
                        self._value = self._factory()
                    except Exception as exc:  # noqa: BLE001 - remembered, see the docstring
                        self._error = exc
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    @property
    def loaded(self) -> bool:
        return self._value is not _UNSET
