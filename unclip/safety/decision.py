"""The result of one content-policy check."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from unclip.safety.categories import ALLOW


@dataclass(frozen=True)
class Decision:
    """What the policy decided about one prompt or image.

    ``allowed`` is False only for ``action == "refuse"``; a flagged request is allowed but logged.
    ``category`` and ``score`` name the decisive category (None / 0.0 when nothing fired).
    ``scores`` holds every category's score; ``unavailable`` lists checks that could not run
    (for example the nudity check without the ``nudenet`` package), each as ``"name: why"``.
    """

    allowed: bool
    category: str | None
    score: float
    action: str
    reason: str
    kind: str = "prompt"
    scores: Mapping[str, float] = field(default_factory=dict)
    unavailable: tuple[str, ...] = ()

    @property
    def flagged(self) -> bool:
        return self.action == "flag"

    @classmethod
    def allow(
        cls,
        kind: str,
        reason: str = "no policy category matched",
        scores: Mapping[str, float] | None = None,
        unavailable: tuple[str, ...] = (),
    ) -> Decision:
        return cls(True, None, 0.0, ALLOW, reason, kind, dict(scores or {}), unavailable)
