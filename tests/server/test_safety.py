"""Content policy at the API: refusals of prompts, uploads and outputs (400 content_policy_violation,
logged with category and score, counted, and free when the input is refused); no unsafe default."""

from __future__ import annotations

import logging
import sys

import openai
import pytest

from unclip.errors import UnclipError
from unclip.server.app import create_app
from unclip.server.guard import ContentGuard
from unclip.server.metrics import Metrics
from unclip.server.settings import ServerSettings

from .live import CountingEngine, FakeEngine, FakePolicy, assert_error, png_bytes

REJECTED = "Your request was rejected as a result of our safety system."


def refusal(exc: openai.BadRequestError) -> dict:
    body = assert_error(exc, 400, None, code="content_policy_violation")
    assert body["message"].startswith(REJECTED)
    return body


def refusal_lines(caplog) -> list[dict]:
    return [
        r.fields
        for r in caplog.records
        if getattr(r, "fields", None) and r.getMessage() == "content policy refusal"
    ]


def test_refused_prompt_costs_no_generation_and_is_logged(make_server, caplog):
    engine = CountingEngine(FakeEngine())
    policy = FakePolicy()
    server = make_server(engine, policy=policy)
    client = server.client()
    caplog.set_level(logging.INFO, logger="unclip.server")
    with pytest.raises(openai.BadRequestError) as e:
        client.images.generate(prompt="something forbidden", size="256x256")
    refusal(e.value)
    with pytest.raises(openai.BadRequestError) as e:
        client.images.edit(image=png_bytes(), prompt="forbidden edit", size="256x256")
    refusal(e.value)
    assert engine.calls == []
    assert server.metric("unclip_refusals_total", stage="prompt", category="test-category") == 2
    (line, _) = refusal_lines(caplog)
    assert line["stage"] == "prompt" and line["category"] == "test-category" and line["score"] == 0.93
    assert line["request_id"].startswith("req_")
    access = [
        r.fields for r in caplog.records if r.name == "unclip.server.access" and r.fields["status"] == 400
    ]
    assert access[0]["outcome"] == "refused" and access[0]["refusal"]["category"] == "test-category"


def test_refused_upload_costs_no_generation(make_server):
    engine = CountingEngine(FakeEngine())
    server = make_server(engine, policy=FakePolicy(refuse_upload=True))
    client = server.client()
    with pytest.raises(openai.BadRequestError) as e:
        client.images.create_variation(image=png_bytes(mode="RGB"), size="256x256")
    refusal(e.value)
    with pytest.raises(openai.BadRequestError) as e:
        client.images.edit(image=png_bytes(), prompt="a boat", size="256x256")
    refusal(e.value)
    assert engine.calls == []
    assert server.metric("unclip_refusals_total", stage="upload", category="test-upload") == 2


def test_refused_output_returns_no_images(make_server, tmp_path):
    engine = CountingEngine(FakeEngine())
    server = make_server(engine, policy=FakePolicy(refuse_output=True), data_dir=str(tmp_path))
    with pytest.raises(openai.BadRequestError) as e:
        server.client().images.generate(prompt="a cat", n=2, size="256x256")
    assert "retried" in refusal(e.value)["message"]
    assert len(engine.calls) == 1
    assert not list((tmp_path / "images").iterdir())  # nothing stored, no URL handed out
    assert server.metric("unclip_refusals_total", stage="output", category="test-output") == 1


def test_every_check_runs_on_the_allowed_path(make_server):
    policy = FakePolicy()
    server = make_server(FakeEngine(), policy=policy)
    client = server.client()
    client.images.generate(prompt="a cat", n=2, size="256x256")
    assert policy.checks == ["prompt", "output", "output"]
    policy.checks.clear()
    client.images.edit(image=png_bytes(), prompt="a boat", size="256x256")
    assert policy.checks == ["prompt", "upload", "output"]
    policy.checks.clear()
    client.images.create_variation(image=png_bytes(), size="256x256")
    assert policy.checks == ["upload", "output"]


def test_the_real_policy_refuses_at_the_api(client, live):
    """The default server runs unclip.safety's Policy.default()."""
    before = live.metric("unclip_images_generated_total", kind="generate")
    with pytest.raises(openai.BadRequestError) as e:
        client.images.generate(prompt="a nude woman posing on a bed", size="256x256")
    refusal(e.value)
    assert live.metric("unclip_refusals_total", stage="prompt", category="sexual") >= 1
    assert live.metric("unclip_images_generated_total", kind="generate") == before


def test_safety_cannot_be_off_by_accident(monkeypatch):
    with pytest.raises(ValueError, match="unsafe_disable_safety"):
        create_app(ServerSettings(), engine=FakeEngine(), policy=None)
    monkeypatch.setitem(sys.modules, "unclip.safety", None)  # the policy package cannot be imported
    with pytest.raises(UnclipError, match="--unsafe-disable-safety"):
        ContentGuard.from_settings(ServerSettings(), Metrics())


def test_disabling_safety_is_explicit_and_loud(caplog):
    caplog.set_level(logging.WARNING, logger="unclip.server")
    guard = ContentGuard.from_settings(ServerSettings(unsafe_disable_safety=True), Metrics())
    assert not guard.enabled
    assert any("CONTENT POLICY DISABLED" in r.getMessage() for r in caplog.records)


def test_a_refusal_raised_inside_the_pipeline_is_a_400(make_server):
    from unclip.safety import ContentPolicyViolation, Decision

    class RefusingEngine(FakeEngine):
        def vary(self, image, n, size):  # type: ignore[no-untyped-def]
            raise ContentPolicyViolation(Decision(False, "faces", 0.88, "refuse", "a face", kind="upload"))

    server = make_server(RefusingEngine(), policy=FakePolicy())
    with pytest.raises(openai.BadRequestError) as e:
        server.client().images.create_variation(image=png_bytes(), size="256x256")
    refusal(e.value)
    assert server.metric("unclip_refusals_total", stage="upload", category="faces") == 1
