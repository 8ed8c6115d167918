"""`unclip serve --ray` on a real two-node Ray cluster (issue 22): two model replicas, two ingress replicas,
a real redis-server, eight official `openai` clients with mixed generations, edits and variations
(`url` and `b64_json`); then a model replica killed under load; and a per-key rate limit that holds
across both ingress replicas.

Load lasts LOAD_S = 30 s (the issue asks 60 s; shortened to keep the suite within CI's time on 2 cores;
`benchmarks/ray_serve.py --seconds 60` runs the long version). Model: the embedded default model with one
sampling step per stage at 256x256; the content policy is off to keep 2 cores for the model and Ray.
"""

from __future__ import annotations

import base64
import collections
import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Self

import httpx
import numpy as np
import openai
import pytest
from PIL import Image

from .ray_cluster import RayServe, TwoNodeCluster, model_replica_pids
from .redis_server import RedisServer

pytestmark = pytest.mark.slow

LOAD_S = 30
CLIENTS = 8
KEY = "sk-ray-test-0123456789abcdef"
REPLICA = "x-unclip-replica"
COMMON = [
    "--api-key",
    KEY,
    "--steps-preset",
    "fastest",
    "--default-size",
    "256x256",
    "--threads",
    "1",
    "--unsafe-disable-safety",
    "--batch-wait-ms",
    "50",
]


@pytest.fixture(scope="module")
def cluster():
    c = TwoNodeCluster()
    yield c
    c.shutdown()


@pytest.fixture(scope="module")
def redis_server():
    r = RedisServer()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def served(cluster, redis_server, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    s = RayServe(
        cluster.address,
        [
            *COMMON,
            "--redis",
            redis_server.url,
            "--model-replicas",
            "2",
            "--ingress-replicas",
            "2",
            "--replica-cpus",
            "2",
            "--data-dir",
            str(tmp / "data"),
        ],
        tmp / "serve.log",
    )
    yield s
    s.stop()


def client_image(k: int) -> tuple[bytes, tuple[int, int, int]]:
    """Client k's own upload: a colour no other client uses, with a transparent hole to edit."""
    colour = (30 * k + 10, 255 - 25 * k, (70 * k) % 256)
    image = Image.new("RGBA", (256, 256), (*colour, 255))
    image.paste(Image.new("RGBA", (128, 128), (0, 0, 0, 0)), (64, 64))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue(), colour


def decode_png(data: bytes) -> Image.Image:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(data)).convert("RGB")


def kept_border(image: Image.Image) -> set[tuple[int, int, int]]:
    """The colours of an edit's kept area (outside the hole, away from the edge of the hole)."""
    arr = np.asarray(image)
    return {
        tuple(int(v) for v in px)
        for px in np.concatenate([arr[:48].reshape(-1, 3), arr[-48:].reshape(-1, 3)])
    }


class Load:
    """CLIENTS threads, each with its own openai client, until `stop` is set; every outcome recorded."""

    def __init__(self, url: str, urls_out: list[tuple[str, str]]) -> None:
        self.url = url
        self.outcomes: list[tuple[int, str, float, float]] = []  # (status, code, started, ended)
        self.problems: list[str] = []
        self.urls = urls_out  # (url, replica that made it)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._client, args=(k,), daemon=True) for k in range(CLIENTS)]

    def __enter__(self) -> Self:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(180)
        assert not any(t.is_alive() for t in self.threads), "a request hung"

    def _client(self, k: int) -> None:
        client = openai.OpenAI(base_url=self.url + "/v1", api_key=KEY, max_retries=0, timeout=120)
        upload, colour = client_image(k)
        i = 0
        while not self.stop.is_set():
            op, fmt = (
                ("generate", "edit", "generate", "vary")[(i + k) % 4],
                ("url", "b64_json")[(i // 2 + k) % 2],
            )
            n = 1 + (i + k) % 3
            i += 1
            start = time.monotonic()
            try:
                if op == "generate":
                    raw = client.images.with_raw_response.generate(
                        prompt=f"client {k} picture {i}", n=n, size="256x256", response_format=fmt
                    )
                elif op == "edit":
                    raw = client.images.with_raw_response.edit(
                        image=upload, prompt=f"client {k} edit {i}", n=n, size="256x256", response_format=fmt
                    )
                else:
                    raw = client.images.with_raw_response.create_variation(
                        image=upload, n=n, size="256x256", response_format=fmt
                    )
                result = raw.parse()
                self._check(k, op, fmt, n, colour, result, raw.headers.get(REPLICA, ""))
                status, code = 200, ""
            except openai.APIStatusError as e:
                status = e.status_code
                code = e.body.get("code", "") if isinstance(e.body, dict) else ""
            except openai.APIError as e:
                status, code = -1, type(e).__name__
            with self.lock:
                self.outcomes.append((status, code or "", start, time.monotonic()))

    def _check(
        self, k: int, op: str, fmt: str, n: int, colour: tuple[int, int, int], result, replica: str
    ) -> None:  # type: ignore[no-untyped-def]
        problems = []
        if len(result.data) != n:
            problems.append(f"client {k} {op}: {len(result.data)} images, asked {n}")
        for d in result.data:
            if fmt == "url":
                assert d.url and d.b64_json is None
                with self.lock:
                    self.urls.append((d.url, replica))
                continue
            image = decode_png(base64.b64decode(d.b64_json))
            if image.size != (256, 256):
                problems.append(f"client {k} {op}: size {image.size}")
            if op == "edit" and kept_border(image) != {colour}:
                problems.append(f"client {k} edit: kept pixels are not its own upload's")
        if problems:
            with self.lock:
                self.problems += problems


def test_eight_openai_clients_two_model_and_two_ingress_replicas_on_two_nodes(served):
    urls: list[tuple[str, str]] = []
    with Load(served.url, urls) as load:
        time.sleep(LOAD_S)
    statuses = collections.Counter(s for s, _, _, _ in load.outcomes)
    assert statuses[200] >= 2 * CLIENTS and set(statuses) == {200}, statuses
    assert not load.problems, load.problems[:5]
    # every URL is fetchable through the proxy from either ingress replica
    makers = {replica for _, replica in urls}
    fetched_across = 0
    with httpx.Client() as http:
        for url, made_by in urls:
            served_by = set()
            for _ in range(8):
                r = http.get(url)
                assert r.status_code == 200 and r.content[:8] == b"\x89PNG\r\n\x1a\n", (url, r.status_code)
                served_by.add(r.headers[REPLICA])
                if served_by - {made_by}:
                    break
            fetched_across += bool(served_by - {made_by})
    assert len(makers) == 2, "both ingress replicas answered image requests"
    assert fetched_across >= 0.9 * len(urls), (fetched_across, len(urls))


def test_a_stream_carries_the_replicas_progress_and_partial_images(served):
    """Progress reports and partial images cross from the model replica to the ingress as they happen."""
    client = openai.OpenAI(api_key=KEY, base_url=served.url + "/v1", max_retries=0, timeout=300)
    events = list(
        client.images.generate(prompt="a red apple", n=2, size="256x256", stream=True, partial_images=2)
    )
    kinds = [e.type for e in events]
    progress = [e for e in events if e.type == "unclip.progress"]
    partial = [e for e in events if e.type == "image_generation.partial_image"]
    completed = [e for e in events if e.type == "image_generation.completed"]
    assert progress and progress[0].stage == "prior" and progress[-1].done == progress[-1].overall
    assert partial and [e.image_index for e in partial] == [0, 1] * (len(partial) // 2)
    assert len(completed) == 2 and kinds.index(partial[-1].type) < kinds.index(completed[0].type)
    for e in partial + completed:
        assert decode_png(base64.b64decode(e.b64_json)).size == (256, 256)
    upload, colour = client_image(3)
    edit = list(
        client.images.edit(
            image=upload, prompt="a hole filled", size="256x256", stream=True, partial_images=1
        )
    )
    assert [e.type for e in edit if e.type != "unclip.progress"] == [
        "image_edit.partial_image",
        "image_edit.completed",
    ]
    assert kept_border(decode_png(base64.b64decode(edit[-1].b64_json))) == {colour}


def test_a_killed_model_replica_fails_only_its_requests_and_comes_back(served):
    before = model_replica_pids()
    assert len(before) == 2, before
    with Load(served.url, []) as load:
        time.sleep(6)
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        time.sleep(10)
    failed = [(s, c) for s, c, _, _ in load.outcomes if s != 200]
    assert all((s, c) == (503, "model_unavailable") for s, c in failed), failed
    # the failed ones were in flight on the killed replica: started before it died, answered soon after
    for s, _, started, ended in load.outcomes:
        if s == 503:
            assert started < killed_at + 1 and ended < killed_at + 15
    assert 1 <= len(failed) <= CLIENTS, failed
    assert sum(1 for s, _, started, _ in load.outcomes if s == 200 and started > killed_at) >= CLIENTS
    deadline = time.monotonic() + 120  # Ray starts a new replica
    while not (len(model_replica_pids()) == 2 and victim not in model_replica_pids()):
        assert time.monotonic() < deadline, "the killed replica was not replaced"
        time.sleep(1)
    client = openai.OpenAI(base_url=served.url + "/v1", api_key=KEY, max_retries=0, timeout=120)
    for _ in range(4):
        assert (
            len(client.images.generate(prompt="after", size="256x256", response_format="b64_json").data) == 1
        )


def test_a_per_key_rate_limit_holds_across_both_ingress_replicas(cluster, redis_server, served, tmp_path):
    served.stop()  # one Serve application per cluster: this one has a rate limit
    deadline = time.monotonic() + 60  # stopping the driver deletes the application and its replicas
    while model_replica_pids():
        assert time.monotonic() < deadline, "the stopped application's model replicas are still running"
        time.sleep(0.5)
    redis_server.client().flushdb()
    s = RayServe(
        cluster.address,
        [
            *COMMON,
            "--redis",
            redis_server.url,
            "--model-replicas",
            "1",
            "--ingress-replicas",
            "2",
            "--replica-cpus",
            "1",
            "--rate-limit-rpm",
            "6",
            "--data-dir",
            str(tmp_path / "data"),
        ],
        tmp_path / "serve.log",
        port=served.port,
    )
    try:
        answers = []
        with httpx.Client(base_url=s.url, headers={"authorization": f"Bearer {KEY}"}, timeout=120) as http:
            for i in range(16):
                r = http.post(
                    "/v1/images/generations",
                    json={"prompt": f"limit {i}", "size": "256x256", "response_format": "b64_json"},
                )
                answers.append((r.status_code, r.headers.get(REPLICA), r.headers.get("retry-after")))
    finally:
        s.stop()
    assert [a[0] for a in answers] == [200] * 6 + [429] * 10, answers
    assert len({replica for _, replica, _ in answers}) == 2, "requests went through both ingress replicas"
    assert all(1 <= int(wait) <= 60 for status, _, wait in answers if status == 429)


def test_the_kuberay_manifests_application_deploys_with_serve_run(cluster, redis_server, served, tmp_path):
    """deploy/kuberay/rayservice.yaml's serveConfigV2, as written except for what only exists in a cluster
    (the model volume, the Redis service, the C2PA secret, the URL), run by Ray's own `serve run`."""
    import yaml

    manifest = yaml.safe_load((Path(__file__).parents[2] / "deploy/kuberay/rayservice.yaml").read_text())
    config = yaml.safe_load(manifest["spec"]["serveConfigV2"])
    (app,) = config["applications"]
    app["args"]["settings"].update(
        redis_url=redis_server.url,
        public_base_url=None,
        signing_cert=None,
        signing_key=None,
        steps_preset="fastest",
        default_size="256x256",
        unsafe_disable_safety=True,
        data_dir=str(tmp_path / "data"),
        threads=1,
    )
    del app["args"]["settings"]["model"]  # the embedded default model
    app["args"].update(model_replicas=1, max_model_replicas=2, replica_gpus=0, replica_cpus=1)
    # KubeRay sets the key secret's variables in every pod; this cluster's processes get them from here
    app["runtime_env"] = {"env_vars": {"UNCLIP_API_KEYS": KEY}}
    path = tmp_path / "serve.yaml"
    path.write_text(yaml.safe_dump(config))
    served.stop()  # Serve keeps the HTTP port of its first start (served's), whatever the config file says
    env = {**os.environ, "RAY_ADDRESS": cluster.address}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ray.serve.scripts", "run", str(path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "run.log", "w"),  # noqa: SIM115 (closed with the process)
    )
    try:
        url = served.url
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "run.log").read_text()[
                -3000:
            ]
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        client = openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0, timeout=120)
        with pytest.raises(openai.AuthenticationError):  # the key from the environment (a secret in KubeRay)
            openai.OpenAI(
                base_url=url + "/v1", api_key="sk-wrong-0123456789abcdef", max_retries=0
            ).models.list()
        image = client.images.generate(prompt="from the manifest", size="256x256").data[0]
        assert httpx.get(image.url).content[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
