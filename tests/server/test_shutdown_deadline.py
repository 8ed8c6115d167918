"""`shutdown_timeout_s` bounds the whole shutdown (issue 20, item 4): the drain, uvicorn's graceful
stop and the model worker share one deadline (they used to wait the full time each, up to 3x), and
the requests still waiting at the deadline get the documented 503 `server_shutting_down` (they got a
plain-text 500 when uvicorn cancelled them)."""

from __future__ import annotations

import threading
import time

import httpx

from .live import CountingEngine, FakeEngine

TIMEOUT_S = 2.0


def test_requests_cut_off_at_the_deadline_get_503_and_the_server_stops_in_time(make_server):
    engine = CountingEngine(FakeEngine(), delay=30.0)  # a model call far longer than the deadline
    server = make_server(
        engine, policy=None, unsafe_disable_safety=True, shutdown_timeout_s=TIMEOUT_S, max_batch_images=1
    )
    answers: dict[int, httpx.Response] = {}

    def request(i: int) -> None:
        answers[i] = httpx.post(
            server.url + "/v1/images/generations",
            timeout=60,
            json={"prompt": f"apple {i}", "size": "256x256", "response_format": "b64_json"},
        )

    threads = [threading.Thread(target=request, args=(i,)) for i in range(2)]  # one running, one queued
    for t in threads:
        t.start()
        time.sleep(0.2)
    server.wait_until(lambda: server.state.queue.busy == 2 and engine.calls, timeout=10)
    start = time.monotonic()
    server.server.begin_drain()
    server.thread.join(30)
    stopped_after = time.monotonic() - start
    for t in threads:
        t.join(30)
    assert not server.thread.is_alive()
    assert stopped_after < 2 * TIMEOUT_S, stopped_after  # one deadline (plus a second's grace), not three
    for i in range(2):
        r = answers[i]
        assert r.status_code == 503, (i, r.status_code, r.text)
        assert r.json()["error"]["code"] == "server_shutting_down"
