"""A URL handed out lives its TTL (issue 20, item 3): the storage limits never evict unexpired images,
so a request whose images do not fit is refused up front with a clear 503 (`storage_full`, with
`retry-after`), and one client cannot flush everyone else's URLs."""

from __future__ import annotations

import httpx
import openai
import pytest

from .live import FakeEngine, assert_error


@pytest.fixture
def server(make_server, tmp_path):
    engine = FakeEngine()
    return make_server(
        engine,
        storage_max_files=5,
        data_dir=str(tmp_path),
        unsafe_disable_safety=True,
        policy=None,
        url_ttl_s=600,
    ), engine


def test_more_images_than_room_is_refused_before_any_model_work(server, tmp_path):
    live, engine = server
    client = live.client()
    with pytest.raises(openai.APIStatusError) as e:
        client.images.generate(prompt="a cat", n=7, size="256x256")
    body = assert_error(e.value, 503, None, type_="server_error", code="storage_full")
    assert "b64_json" in body["message"]
    assert int(e.value.response.headers["retry-after"]) >= 1
    assert engine.calls == [] and not list((tmp_path / "images").iterdir())


def test_urls_handed_out_stay_alive_when_someone_else_fills_the_storage(server, tmp_path):
    live, _ = server
    client = live.client()
    urls = [d.url for d in client.images.generate(prompt="a cat", n=5, size="256x256").data]
    assert [httpx.get(u).status_code for u in urls] == [200] * 5
    for n in (1, 3):  # another client wants more: refused, and the first five URLs still work
        with pytest.raises(openai.APIStatusError) as e:
            client.images.generate(prompt="a dog", n=n, size="256x256")
        assert e.value.status_code == 503
    assert [httpx.get(u).status_code for u in urls] == [200] * 5
    # b64_json stores nothing, so it still works
    assert (
        len(client.images.generate(prompt="a dog", n=2, size="256x256", response_format="b64_json").data) == 2
    )


def test_room_comes_back_as_urls_expire(make_server, tmp_path):
    live = make_server(
        FakeEngine(),
        storage_max_files=2,
        data_dir=str(tmp_path),
        unsafe_disable_safety=True,
        policy=None,
        url_ttl_s=1.0,
    )
    client = live.client()
    first = [d.url for d in client.images.generate(prompt="a cat", n=2, size="256x256").data]
    with pytest.raises(openai.APIStatusError):
        client.images.generate(prompt="a cat", size="256x256")
    live.wait_until(lambda: httpx.get(first[0]).status_code == 404, timeout=10)
    later = client.images.generate(prompt="a cat", n=2, size="256x256").data
    assert all(httpx.get(d.url).status_code == 200 for d in later)
