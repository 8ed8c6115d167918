"""Turn per-category scores into one :class:`Decision` under a policy's actions and thresholds."""

from __future__ import annotations

from collections.abc import Mapping

from unclip.safety.categories import ALLOW, FLAG, REFUSE, severity
from unclip.safety.config import CategoryRule
from unclip.safety.decision import Decision


def decide(
    kind: str,
    scores: Mapping[str, float],
    rules: Mapping[str, CategoryRule],
    thresholds: Mapping[str, float],
    reasons: Mapping[str, str],
    unavailable: tuple[str, ...] = (),
) -> Decision:
    """The most severe refused category wins; else the most severe flagged one; else allow.

    ``thresholds`` gives the threshold that applies to each scored category (prompt or image threshold).
    """
    fired: dict[str, list[str]] = {REFUSE: [], FLAG: []}
    for category, score in scores.items():
        rule = rules.get(category)
        if rule is None or rule.action == ALLOW:
            continue
        if score > 0.0 and score >= thresholds[category]:
            fired[rule.action].append(category)
    rounded = {c: round(s, 4) for c, s in scores.items() if s > 0.0}
    for action in (REFUSE, FLAG):
        if fired[action]:
            category = min(fired[action], key=severity)
            score = scores[category]
            reason = reasons.get(category) or f"{category} score {score:.2f} >= {thresholds[category]:.2f}"
            return Decision(
                action != REFUSE, category, float(score), action, reason, kind, rounded, unavailable
            )
    return Decision.allow(kind, scores=rounded, unavailable=unavailable)
