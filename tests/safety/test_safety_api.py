"""The public API: Decision, enforce_*, ContentPolicyViolation, Policy.disabled() and decision logging."""

from __future__ import annotations

import logging
import threading

import pytest
from PIL import Image

from unclip.errors import InputError, UnclipError
from unclip.safety import ContentPolicyViolation, Decision, Policy, audit

REFUSED = "a photo of a naked woman on a bed"


def test_check_prompt_returns_a_decision(policy: Policy) -> None:
    decision = policy.check_prompt(REFUSED)
    assert isinstance(decision, Decision)
    assert decision.allowed is False and decision.action == "refuse"
    assert decision.category == "sexual" and 0.5 <= decision.score <= 1.0
    assert decision.kind == "prompt" and decision.reason
    allowed = policy.check_prompt("a corgi wearing a tiny hat")
    assert allowed.allowed and allowed.category is None and allowed.score == 0.0 and allowed.action == "allow"


def test_enforce_prompt_raises_a_dalle_style_violation(policy: Policy) -> None:
    with pytest.raises(ContentPolicyViolation) as info:
        policy.enforce_prompt(REFUSED)
    error = info.value
    assert isinstance(error, UnclipError)
    assert error.category == "sexual" and error.score == error.decision.score
    assert error.code == "content_policy_violation"
    assert str(error).startswith("Your request was rejected as a result of our safety system.")
    assert "(category: sexual)" in str(error)
    assert policy.enforce_prompt("a bowl of ramen").allowed


def test_enforce_image_raises_for_refused_uploads(policy: Policy, photos) -> None:
    with pytest.raises(ContentPolicyViolation, match="Your image may contain") as info:
        policy.enforce_image(photos["astronaut"], kind="upload")
    assert info.value.category == "faces" and info.value.decision.kind == "upload"
    assert policy.enforce_image(photos["chelsea"], kind="upload").allowed


def test_bad_arguments_are_input_errors(policy: Policy) -> None:
    image = Image.new("RGB", (64, 64))
    with pytest.raises(InputError, match="kind"):
        policy.check_image(image, kind="thumbnail")
    with pytest.raises(InputError, match="PIL image"):
        policy.check_image("not an image")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="string"):
        policy.check_prompt(None)  # type: ignore[arg-type]


def test_image_modes_are_accepted(policy: Policy) -> None:
    for mode in ("RGB", "RGBA", "L", "P", "I;16", "CMYK", "LA", "1"):
        decision = policy.check_image(Image.new(mode, (40, 30)), kind="output")
        assert decision.allowed, mode


def test_disabled_policy_allows_everything_and_warns_once(caplog, photos) -> None:
    audit._warned.discard("disabled")
    with caplog.at_level(logging.WARNING, logger="unclip.safety"):
        first = Policy.disabled()
        second = Policy.disabled()
    warnings = [r for r in caplog.records if "CONTENT POLICY DISABLED" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    for policy in (first, second):
        assert policy.check_prompt(REFUSED).allowed
        assert policy.enforce_image(photos["astronaut"], kind="upload").allowed
        assert policy.check_prompt(REFUSED).reason == "safety checks disabled"


def test_logs_carry_category_score_and_hash_but_never_the_prompt(policy: Policy, caplog, photos) -> None:
    with caplog.at_level(logging.DEBUG, logger="unclip.safety"):
        policy.check_prompt(REFUSED)
        policy.check_prompt("a corgi wearing a tiny hat")
        policy.check_image(photos["astronaut"], kind="upload")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "category=sexual" in text and "score=1.000" in text
    assert f"prompt_sha256={audit.prompt_hash(REFUSED)}" in text
    assert "naked" not in text and "corgi" not in text
    assert "category=faces" in text and "kind=upload" in text
    refused = [r for r in caplog.records if "refuse" in r.getMessage()]
    assert refused and all(r.levelno == logging.WARNING for r in refused)


def test_concurrent_first_use_is_consistent() -> None:
    """Many threads hitting a fresh policy at once get the same answers (models load once)."""
    fresh = Policy.default()
    prompts = [REFUSED, "a corgi wearing a tiny hat", "my boss is a stupid idiot", "Joe Biden on a bike"] * 4
    results: list[tuple[str, bool]] = [("", False)] * len(prompts)

    def work(i: int) -> None:
        results[i] = (prompts[i], fresh.check_prompt(prompts[i]).allowed)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = {p: fresh.check_prompt(p).allowed for p in set(prompts)}
    assert all(allowed == expected[p] for p, allowed in results)
    assert expected[REFUSED] is False and expected["a corgi wearing a tiny hat"] is True


def test_status_reports_each_check(policy: Policy) -> None:
    status = policy.status()
    assert set(status) == {"enabled", "classifier", "faces", "nudity"}
    assert status["faces"] == "ok"
    assert status["nudity"] == "ok" or "nudenet" in status["nudity"]


def test_preload_and_command_line(capsys) -> None:
    from unclip.safety.__main__ import main

    status = Policy.default().preload()
    assert status["classifier"] == "ok" and status["faces"] == "ok"
    assert main(["a nude woman", "a corgi"]) == 0
    out = capsys.readouterr().out
    assert "prompt 'a nude woman': refuse category=sexual" in out
    assert "prompt 'a corgi': allow category=None" in out
    assert main(["--policy", "/nonexistent/policy.toml", "x"]) == 2
    assert "cannot read" in capsys.readouterr().err
