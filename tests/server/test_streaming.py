"""`stream: true` with `partial_images` and unclip's `seed`, through the official `openai` client."""

from __future__ import annotations

import base64
import json
import threading

import httpx
import openai
import pytest

from unclip.server.engine import UnclipEngine

from .live import FakePolicy, assert_error, decode, png_bytes

STEPS = {"prior_steps": 2, "decoder_steps": 4, "upsampler_256_steps": 4, "prior_candidates": 1}


@pytest.fixture(scope="module")
def stepped_engine(tiny_model_dir):
    """The tiny model with enough steps per stage to place three partial images."""
    from unclip.pipeline.unclip_pipeline import UnCLIP

    pipe = UnCLIP.from_pretrained(tiny_model_dir, device="cpu")
    pipe.policy = None  # the server applies the policy
    return UnclipEngine(pipe, STEPS, "tiny, stepped")


class OnGpu:
    """The engine as a server with its model on a GPU sees it: partial images are then checked and
    encoded in the event loop's worker threads, not in the model's thread (streaming.wire)."""

    device = "cuda:0"

    def __init__(self, inner: UnclipEngine) -> None:
        self.inner = inner

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)


@pytest.fixture(params=["cpu", "gpu"])
def server(request, make_server, stepped_engine):
    return make_server(stepped_engine if request.param == "cpu" else OnGpu(stepped_engine))


def _pixels(b64: str) -> bytes:
    return decode(base64.b64decode(b64)).convert("RGB").tobytes()


@pytest.mark.parametrize("partials", [0, 2, 3])
def test_streamed_generation_sends_partials_in_order_then_one_completed_per_image(server, partials):
    client = server.client()
    args = {"prompt": "a red apple", "n": 2, "size": "256x256", "extra_body": {"seed": 1234}}
    events = list(client.images.generate(**args, stream=True, partial_images=partials))
    known = [e for e in events if e.type != "unclip.progress"]
    partial = [e for e in known if e.type == "image_generation.partial_image"]
    completed = [e for e in known if e.type == "image_generation.completed"]
    assert [type(e).__name__ for e in partial] == ["ImageGenPartialImageEvent"] * (2 * partials)
    assert [(e.partial_image_index, e.image_index) for e in partial] == [
        (i, j) for i in range(partials) for j in range(2)
    ]
    assert known == partial + completed and len(completed) == 2  # every partial before the finals
    for e in partial + completed:
        assert e.size == "256x256" and e.output_format == "png" and isinstance(e.created_at, int)
        assert decode(base64.b64decode(e.b64_json)).size == (256, 256)
    assert all(type(e).__name__ == "ImageGenCompletedEvent" for e in completed)
    # the same request with the same seed, not streamed: the same images
    plain = client.images.generate(**args, response_format="b64_json")
    assert [_pixels(e.b64_json) for e in completed] == [_pixels(d.b64_json) for d in plain.data]
    # progress reports carry stage and step, in order, up to the last step of the last stage
    progress = [e for e in events if e.type == "unclip.progress"]
    assert [(p.stage, p.step) for p in progress][-1] == ("upsampler_256", 4)
    assert [p.done for p in progress] == list(range(1, 11))


def test_a_seed_gives_the_same_images_and_another_seed_others(server):
    client = server.client()

    def run(seed: int) -> list[bytes]:
        result = client.images.generate(
            prompt="a blue car", size="256x256", response_format="b64_json", extra_body={"seed": seed}
        )
        return [_pixels(d.b64_json) for d in result.data]

    assert run(7) == run(7) != run(8)


def test_streamed_edit_and_variation(server):
    client = server.client()
    events = list(
        client.images.edit(
            image=png_bytes((64, 64)), prompt="a boat", size="256x256", stream=True, partial_images=1
        )
    )
    types = [e.type for e in events if e.type != "unclip.progress"]
    assert types == ["image_edit.partial_image", "image_edit.completed"]
    # variations: an unclip extension, sent as form fields
    with httpx.stream(
        "POST",
        server.url + "/v1/images/variations",
        files={"image": ("upload", png_bytes((64, 64), mode="RGB"), "application/octet-stream")},
        data={"size": "256x256", "stream": "true", "partial_images": "2", "n": "2"},
        timeout=120,
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    kinds = [json.loads(line[6:])["type"] for line in lines]
    assert [k for k in kinds if k != "unclip.progress"] == ["image_variation.partial_image"] * 4 + [
        "image_variation.completed"
    ] * 2


@pytest.mark.parametrize("device", ["cpu", "gpu"])
def test_a_refused_stream_ends_with_the_error_event_and_no_image(make_server, stepped_engine, device):
    policy = FakePolicy(refuse_output=True)
    engine = stepped_engine if device == "cpu" else OnGpu(stepped_engine)
    client = make_server(engine, policy=policy).client()
    received: list = []
    with pytest.raises(openai.APIError) as e:
        received.extend(client.images.generate(prompt="a cat", size="256x256", stream=True, partial_images=2))
    assert e.value.body["code"] == "content_policy_violation"
    assert e.value.body["type"] == "invalid_request_error"
    assert all(ev.type == "unclip.progress" for ev in received)  # no partial, no final
    assert "output" in policy.checks  # the first partial was checked, and refused


def test_concurrent_streams_share_a_batch_and_each_gets_its_own_images(make_server, stepped_engine):
    server = make_server(stepped_engine, max_batch_images=8, batch_wait_ms=500)
    ns = [1, 2, 1]
    kinds: dict[int, list[str]] = {}

    def stream(i: int) -> None:
        events = server.client().images.generate(
            prompt=f"a cat {i}", size="256x256", n=ns[i], stream=True, partial_images=2
        )
        kinds[i] = [ev.type for ev in events if ev.type != "unclip.progress"]

    threads = [threading.Thread(target=stream, args=(i,)) for i in range(len(ns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, n in enumerate(ns):  # two partials per image of its own, then its own completed images
        assert kinds[i] == ["image_generation.partial_image"] * (2 * n) + ["image_generation.completed"] * n
    batches = server.metric("unclip_batch_requests_count", kind="generate")
    assert server.metric("unclip_batch_requests_sum", kind="generate") == 3 and batches < 3


def test_the_real_policy_refusing_a_partial_ends_the_stream_naming_the_category(make_server, stepped_engine):
    """The shipped Policy, from a policy mapping an operator could write: outputs need the nudity check,
    whose model is missing (a path that does not exist, so installed or not it cannot run), and images it
    cannot check are refused. The first partial image is refused: the stream ends with the error event,
    no image was sent, and the error names the category (the editor shows it)."""
    from unclip.safety import Policy

    policy = Policy.from_mapping(
        {
            "images": {"when_unavailable": "refuse", "nudity_model": "/nonexistent/nudenet.onnx"},
            "categories": {"sexual": {"images": ["output"]}},
        },
        source="test policy",
    )
    client = make_server(stepped_engine, policy=policy, waive_checks=["nudity"]).client()
    received: list = []
    with pytest.raises(openai.APIError) as e:
        received.extend(client.images.generate(prompt="a cat", size="256x256", stream=True, partial_images=2))
    assert e.value.body["code"] == "content_policy_violation"
    assert e.value.body["category"] == "sexual"
    assert received and all(ev.type == "unclip.progress" for ev in received)  # progress only: no image
    assert all(ev.stage in ("prior", "decoder") for ev in received)  # it ended at the first partial


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"partial_images": 7}, "partial_images"),
        ({"partial_images": -1}, "partial_images"),
        ({"partial_images": "2"}, "partial_images"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**64}, "seed"),
        ({"seed": "x"}, "seed"),
        ({"stream": "yes"}, "stream"),
    ],
)
def test_bad_stream_fields_are_400s_naming_the_field(server, extra, param):
    with pytest.raises(openai.BadRequestError) as e:
        server.client().images.generate(prompt="a cat", size="256x256", extra_body={"stream": True, **extra})
    assert_error(e.value, 400, param)


def test_partial_images_without_stream_and_url_streams_are_400s(server):
    client = server.client()
    with pytest.raises(openai.BadRequestError) as e:
        client.images.generate(prompt="a cat", size="256x256", partial_images=2)
    assert_error(e.value, 400, "partial_images")
    with pytest.raises(openai.BadRequestError) as e:
        client.images.generate(prompt="a cat", size="256x256", stream=True, response_format="url")
    assert_error(e.value, 400, "response_format")


def test_a_client_leaving_a_stream_stops_its_work(make_server, tiny_model_dir):
    from unclip.pipeline.unclip_pipeline import UnCLIP

    pipe = UnCLIP.from_pretrained(tiny_model_dir, device="cpu")
    pipe.policy = None
    slow = UnclipEngine(pipe, {**STEPS, "decoder_steps": 400, "upsampler_256_steps": 400}, "tiny, slow")
    server = make_server(slow)
    with httpx.stream(
        "POST",
        server.url + "/v1/images/generations",
        json={"prompt": "a cat", "size": "256x256", "stream": True, "partial_images": 1},
        timeout=60,
    ) as response:
        first = next(line for line in response.iter_lines() if line.startswith("data: "))
        assert json.loads(first[6:])["type"] == "unclip.progress"
    # the model stops at its next step: the worker is free long before 800 steps would have run
    server.wait_until(lambda: server.metric("unclip_jobs_cancelled_total", when="running") == 1, timeout=20)
    server.wait_until(lambda: httpx.get(server.url + "/health").json()["busy"] == 0, timeout=20)
    assert server.metric("unclip_images_generated_total", kind="generate") == 0
