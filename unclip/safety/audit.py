"""Decision logging on ``logging.getLogger("unclip.safety")``.

Log lines carry the kind, action, category, score and a short SHA-256 of the prompt; never the image
and never the prompt text (so a refused prompt's text is never written to logs).
"""

from __future__ import annotations

import hashlib
import logging
import threading

from unclip.safety.decision import Decision

logger = logging.getLogger("unclip.safety")
_warned: set[str] = set()
_warned_lock = threading.Lock()


def prompt_hash(text: str) -> str:
    """First 12 hex digits of the SHA-256 of the prompt, to correlate log lines without storing text."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def log_decision(decision: Decision, prompt: str | None = None) -> None:
    level = {"refuse": logging.WARNING, "flag": logging.INFO}.get(decision.action, logging.DEBUG)
    if not logger.isEnabledFor(level):
        return
    subject = f"prompt_sha256={prompt_hash(prompt)}" if prompt is not None else f"image kind={decision.kind}"
    logger.log(
        level,
        "safety %s: %s category=%s score=%.3f %s",
        decision.kind,
        decision.action,
        decision.category,
        decision.score,
        subject,
    )


def warn_once(key: str, message: str) -> None:
    """Log ``message`` as a warning the first time ``key`` is seen in this process."""
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    logger.warning(message)
