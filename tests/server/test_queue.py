"""Dynamic batching, the bounded queue (429 + retry-after), cancellation on disconnect, URL expiry."""

from __future__ import annotations

import threading
import time

import httpx
import openai
import pytest

from .live import CountingEngine, FakeEngine, assert_error, png_bytes


def _post(server, results, i, **body):
    r = httpx.post(
        server.url + "/v1/images/generations",
        timeout=120,
        json={"prompt": f"a red apple {i}", "size": "256x256", "response_format": "b64_json", **body},
    )
    results[i] = r


def test_concurrent_compatible_requests_share_a_batch(make_server, tiny_engine):
    engine = CountingEngine(tiny_engine)
    server = make_server(engine, max_batch_images=8, batch_wait_ms=400)
    results: dict[int, httpx.Response] = {}
    threads = [
        threading.Thread(target=_post, args=(server, results, i), kwargs={"n": 1 + i % 2}) for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.status_code == 200 for r in results.values()), [r.text for r in results.values()]
    assert [len(results[i].json()["data"]) for i in range(4)] == [1, 2, 1, 2]  # each gets its own share
    assert max(n for _, n in engine.calls) > 1 and len(engine.calls) < 4  # fewer model calls than requests
    count = server.metric("unclip_batch_requests_count", kind="generate")
    total = server.metric("unclip_batch_requests_sum", kind="generate")
    assert (
        count == len(engine.calls)
        and total == 4
        and server.metric("unclip_batch_requests_bucket", kind="generate", le="1.0") < count
    )


def test_batches_respect_max_batch_images_and_the_size_key(make_server):
    engine = CountingEngine(FakeEngine())
    server = make_server(
        engine, max_batch_images=3, batch_wait_ms=300, unsafe_disable_safety=True, policy=None
    )
    results: dict[int, httpx.Response] = {}
    sizes = ["256x256", "512x512"] * 3
    threads = [
        threading.Thread(target=_post, args=(server, results, i), kwargs={"size": s})
        for i, s in enumerate(sizes)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.status_code == 200 for r in results.values())
    assert all(n <= 3 for _, n in engine.calls)
    generate_calls = [c for c in engine.inner.calls if c[0] == "generate"]
    assert sum(len(p) for _, p in generate_calls) == 6


def test_full_queue_answers_429_with_retry_after(make_server):
    engine = CountingEngine(FakeEngine(), delay=1.5)
    server = make_server(
        engine, max_queue=1, max_batch_images=1, batch_wait_ms=0, unsafe_disable_safety=True, policy=None
    )
    results: dict[int, httpx.Response] = {}
    first = threading.Thread(target=_post, args=(server, results, 0))
    first.start()
    server.wait_until(lambda: len(engine.calls) == 1)  # running
    second = threading.Thread(target=_post, args=(server, results, 1))
    second.start()
    server.wait_until(lambda: server.state.queue.depth == 1)  # waiting
    client = server.client(max_retries=0)
    with pytest.raises(openai.RateLimitError) as e:
        client.images.generate(prompt="one too many", size="256x256")
    assert_error(e.value, 429, None, type_="requests", code="rate_limit_exceeded")
    assert int(e.value.response.headers["retry-after"]) >= 1
    first.join()
    second.join()
    assert results[0].status_code == 200 and results[1].status_code == 200
    assert server.metric("unclip_queue_rejections_total") == 1


def test_a_client_that_disconnects_while_queued_costs_no_generation(make_server):
    engine = CountingEngine(FakeEngine(), delay=1.0)
    server = make_server(engine, max_batch_images=1, batch_wait_ms=0, unsafe_disable_safety=True, policy=None)
    results: dict[int, httpx.Response] = {}
    first = threading.Thread(target=_post, args=(server, results, 0))
    first.start()
    server.wait_until(lambda: len(engine.calls) == 1)
    with pytest.raises(httpx.ReadTimeout):  # the client gives up and closes its connection
        httpx.post(
            server.url + "/v1/images/generations",
            json={"prompt": "impatient", "size": "256x256"},
            timeout=0.3,
        )
    server.wait_until(lambda: server.metric("unclip_jobs_cancelled_total", when="queued") == 1)
    first.join()
    time.sleep(0.3)
    assert results[0].status_code == 200
    assert len(engine.calls) == 1  # the abandoned request never reached the model
    assert server.state.queue.depth == 0


def test_url_results_expire_and_are_removed(make_server, tmp_path):
    server = make_server(
        FakeEngine(), url_ttl_s=1.0, data_dir=str(tmp_path), unsafe_disable_safety=True, policy=None
    )
    url = server.client().images.generate(prompt="a cat", size="256x256").data[0].url
    assert httpx.get(url).status_code == 200
    assert len(list((tmp_path / "images").iterdir())) == 1
    time.sleep(1.2)
    r = httpx.get(url)
    assert r.status_code == 404 and r.json()["error"]["code"] == "image_not_found"
    server.wait_until(lambda: not list((tmp_path / "images").iterdir()), timeout=5)


def test_public_base_url_builds_the_links(make_server):
    server = make_server(
        FakeEngine(),
        public_base_url="https://images.example.com/unclip/",
        unsafe_disable_safety=True,
        policy=None,
    )
    url = server.client().images.generate(prompt="a cat", size="256x256").data[0].url
    assert url.startswith("https://images.example.com/unclip/images/") and url.endswith(".png")
    local = server.url + url.removeprefix("https://images.example.com/unclip")
    assert httpx.get(local).status_code == 200 and httpx.head(local).status_code == 200


def test_engine_errors_input_errors_are_400s_crashes_500s_and_batchmates_survive(make_server):
    from unclip.errors import InputError

    class Flaky(FakeEngine):
        def generate(self, prompts, size):  # type: ignore[no-untyped-def]
            if any("crash" in p for p in prompts):
                raise RuntimeError("boom")
            return super().generate(prompts, size)

        def edit(self, image, mask, prompt, n, size, outpaint=False):  # type: ignore[no-untyped-def]
            raise InputError("mask: the mask has no transparent pixels")

    server = make_server(
        Flaky(), max_batch_images=8, batch_wait_ms=300, unsafe_disable_safety=True, policy=None
    )
    results: dict[int, httpx.Response] = {}
    prompts = {0: "fine", 1: "crash please", 2: "also fine"}
    threads = [
        threading.Thread(target=_post, args=(server, results, i), kwargs={"prompt": p})
        for i, p in prompts.items()
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results[0].status_code == 200 and results[2].status_code == 200
    assert results[1].status_code == 500
    body = results[1].json()["error"]
    assert body["type"] == "server_error" and results[1].headers["x-request-id"] in body["message"]
    with pytest.raises(openai.BadRequestError) as e:
        server.client().images.edit(image=png_bytes(), prompt="x", size="256x256")
    assert_error(e.value, 400, "mask", message="mask: the mask has no transparent pixels")
