"""The content policy at the API: prompt and upload checks before any model work, output checks after.

A refusal is a 400 `content_policy_violation` (param null), logged with its category and score and
counted in `unclip_refusals_total{stage,category}`. The server refuses to start without a policy
unless `unsafe_disable_safety` is set, which is logged loudly.

Fail closed: the server also refuses to start when a check the policy enables (the offensive-language
classifier, the nudity or the face detector) is not installed, naming what to install, unless the
operator waives that check by name (`waive_checks`); a waiver is logged at start and reported by
`/health` (and so shown by the editor). Start-up only asks whether each check is installed; the models
load on first use.
"""

from __future__ import annotations

import logging
from typing import Any

from PIL import Image

from unclip.errors import UnclipError
from unclip.server.errors import APIError, content_policy
from unclip.server.logs import event, log
from unclip.server.metrics import Metrics
from unclip.server.settings import ServerSettings

SAFETY_OFF_WARNING = (
    "CONTENT POLICY DISABLED (unsafe_disable_safety): prompts, uploads and generated images are NOT "
    "checked. Never expose this server to other people."
)


WAIVABLE = ("classifier", "nudity", "faces")


def check_states(policy: Any, waivers: list[str]) -> dict[str, str]:
    """Each optional check's state for `/health`: "on", "off (policy)" or "WAIVED: <what is missing>".

    Raises UnclipError when an enabled check is not installed and not waived, or a waiver names no check.
    """
    unknown = [w for w in waivers if w not in WAIVABLE]
    if unknown:
        raise UnclipError(
            f"waive_checks: unknown check {unknown[0]!r} (checks that can be waived: {', '.join(WAIVABLE)})"
        )
    needs = policy.requirements() if hasattr(policy, "requirements") else {}
    states: dict[str, str] = {}
    for name, need in needs.items():
        if not need.enabled:
            states[name] = "off (policy)"
        elif need.installed:
            states[name] = "on"
        elif name in waivers:
            states[name] = f"WAIVED: {need.missing}"
        else:
            raise UnclipError(
                f"the content policy enables the {name} check, but it cannot run here ({need.missing}). "
                f"Install it, switch it off in a policy file (--policy), or start anyway without it with "
                f"--waive-check {name} (logged, reported by /health and shown in the editor)"
            )
    return states


class ContentGuard:
    def __init__(self, policy: Any | None, metrics: Metrics, waivers: list[str] | None = None) -> None:
        self.policy = policy  # None: checks disabled
        self.metrics = metrics
        self.checks = check_states(policy, list(waivers or [])) if policy is not None else {}
        self.waived = [name for name, state in self.checks.items() if state.startswith("WAIVED")]
        for name in self.waived:
            event(
                log,
                logging.WARNING,
                f"SAFETY CHECK WAIVED: {name} does not run ({self.checks[name][8:]})",
                check=name,
                waived=True,
            )
        needless = [
            w for w in (waivers or []) if w in self.checks and not self.checks[w].startswith("WAIVED")
        ]
        if needless:
            event(log, logging.INFO, "waiver not needed: these checks are installed and run", checks=needless)

    @property
    def enabled(self) -> bool:
        return self.policy is not None

    @property
    def health(self) -> str:
        """`/health`'s one-word safety state: "on" only when every check the policy enables runs."""
        if self.policy is None:
            return "OFF"
        return "degraded" if self.waived else "on"

    @classmethod
    def from_settings(cls, settings: ServerSettings, metrics: Metrics) -> ContentGuard:
        if settings.unsafe_disable_safety:
            event(log, logging.WARNING, SAFETY_OFF_WARNING, safety="disabled")
            return cls(None, metrics)
        try:
            from unclip.safety import Policy
        except ImportError as e:
            raise UnclipError(
                f"the content policy (unclip.safety.Policy) cannot be loaded ({e}); the server does not run "
                "without it unless you pass --unsafe-disable-safety"
            ) from e
        policy = Policy.from_file(settings.policy) if settings.policy else Policy.default()
        guard = cls(
            policy, metrics, settings.waive_checks
        )  # fails closed on a missing check (no model loads)
        event(log, logging.INFO, "content policy loaded", policy=repr(policy), checks=guard.checks)
        return guard

    # These run in worker threads (anyio.to_thread), never on the event loop.
    def check_prompt(self, text: str, request_id: str) -> APIError | None:
        if self.policy is None:
            return None
        return self._judge(self.policy.check_prompt(text), "prompt", request_id)

    def check_image(self, image: Image.Image, kind: str, request_id: str) -> APIError | None:
        if self.policy is None:
            return None
        return self._judge(self.policy.check_image(image, kind=kind), kind, request_id)

    def check_outputs(self, images: list[Image.Image], request_id: str) -> APIError | None:
        for image in images:
            refusal = self.check_image(image, "output", request_id)
            if refusal is not None:
                return refusal
        return None

    def refusal(
        self, stage: str, category: str | None, score: float, request_id: str, reason: str = ""
    ) -> APIError:
        """Count and log a refusal; returns the 400 to send."""
        category = category or "unknown"
        self.metrics.refusals.labels(stage, category).inc()
        event(
            log,
            logging.WARNING,
            "content policy refusal",
            request_id=request_id,
            stage=stage,
            category=category,
            score=round(float(score), 4),
            reason=reason,
        )
        err = content_policy(stage)
        err.refusal = {"stage": stage, "category": category, "score": round(float(score), 4)}  # type: ignore[attr-defined]
        # the body is OpenAI's; this header lets the editor name what the check found
        err.headers["x-unclip-refusal-category"] = category
        return err

    def _judge(self, decision: Any, stage: str, request_id: str) -> APIError | None:
        if getattr(decision, "allowed", True):
            if getattr(decision, "action", None) == "flag":
                event(
                    log,
                    logging.INFO,
                    "content policy flag",
                    request_id=request_id,
                    stage=stage,
                    category=getattr(decision, "category", None),
                    score=getattr(decision, "score", None),
                )
            return None
        return self.refusal(
            stage,
            getattr(decision, "category", None),
            float(getattr(decision, "score", 0.0) or 0.0),
            request_id,
            str(getattr(decision, "reason", "")),
        )
