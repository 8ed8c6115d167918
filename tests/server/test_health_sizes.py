"""`/health` tells the editor where to start (a recommended size from the model's device) and what each
size has cost on this server (model seconds per image, measured from the jobs it ran)."""

from __future__ import annotations

import httpx

from unclip.server.timing import SizeTimes, recommended_size


def test_recommended_size_follows_the_device():
    assert recommended_size("cpu", 1024) == 256
    assert recommended_size(None, 1024) == 256
    assert recommended_size("cuda:0", 1024) == 1024
    assert recommended_size("cuda", 512) == 512
    assert recommended_size("mps", 256) == 256


def test_size_times_average_per_image():
    times = SizeTimes()
    assert times.report(512) == {
        "256": {"seconds_per_image": None, "jobs": 0},
        "512": {"seconds_per_image": None, "jobs": 0},
    }
    times.record(256, 4, 8.0)  # 2 s per image
    assert times.report(1024)["256"] == {"seconds_per_image": 2.0, "jobs": 1}
    times.record(256, 1, 4.0)  # a running average, moved towards the newest job
    assert 2.0 < times.report(1024)["256"]["seconds_per_image"] < 4.0
    times.record(256, 0, 1.0)  # nothing made: nothing learned
    assert times.report(1024)["256"]["jobs"] == 2


def test_health_reports_device_recommended_size_and_measured_sizes(live):
    before = httpx.get(live.url + "/health").json()
    assert before["device"] == "cpu" and before["recommended_size"] == 256
    assert set(before["sizes"]) == {"256", "512", "1024"}
    jobs = before["sizes"]["256"]["jobs"]
    r = httpx.post(
        live.url + "/v1/images/generations",
        json={"prompt": "a red apple", "n": 2, "size": "256x256"},
        timeout=120,
    )
    assert r.status_code == 200
    after = httpx.get(live.url + "/health").json()["sizes"]["256"]
    assert after["jobs"] == jobs + 1 and after["seconds_per_image"] > 0
