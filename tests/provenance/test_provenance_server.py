"""The server's PNGs (b64_json and url results, generations, edits, variations) carry the watermark and a
C2PA manifest signed with the key in <data_dir>/provenance (kept across restarts) or the operator's."""

from __future__ import annotations

import base64
import io

import c2pa
import httpx
import numpy as np
import pytest
from PIL import Image
from server.live import FASTEST, WAIVE, LiveServer  # tests/server/live.py: the servers' own test helpers

from unclip.provenance import verify_bytes
from unclip.server.app import FROM_SETTINGS
from unclip.server.settings import ServerSettings

from .keys import operator_key


@pytest.fixture(scope="module")
def tiny_engine(tiny_model_dir):
    from unclip.pipeline.unclip_pipeline import UnCLIP
    from unclip.server.engine import UnclipEngine

    pipe = UnCLIP.from_pretrained(tiny_model_dir, device="cpu")
    pipe.policy = None  # as the server's own engine: the API layer applies the policy
    return UnclipEngine(pipe, ServerSettings(steps_preset=FASTEST).effective_stage_settings(), "tiny")


def start(engine, data_dir, **settings) -> LiveServer:
    return LiveServer(
        ServerSettings(steps_preset=FASTEST, data_dir=str(data_dir), waive_checks=WAIVE, **settings),
        engine,
        FROM_SETTINGS,
    ).start()


@pytest.fixture(scope="module")
def server(tiny_engine, tmp_path_factory):
    s = start(tiny_engine, tmp_path_factory.mktemp("data"))
    yield s
    s.stop()


def manifest_of(data: bytes) -> dict:
    with c2pa.Reader("image/png", io.BytesIO(data)) as reader:
        assert reader.get_validation_state() == "Valid"
        return reader.get_active_manifest()


def upload_with_hole() -> tuple[bytes, np.ndarray]:
    """A 256 px picture (smooth colours) with a transparent square to repaint."""
    y, x = np.mgrid[0:256, 0:256]
    rgb = np.stack([x, y, (x + y) // 2], -1).astype(np.uint8)
    alpha = np.full((256, 256), 255, np.uint8)
    alpha[64:128, 64:128] = 0
    buf = io.BytesIO()
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(buf, format="PNG")
    return buf.getvalue(), alpha > 0


def test_generations_b64_and_url_are_marked_and_signed(server):
    client = server.client()
    result = client.images.generate(prompt="a red apple", n=2, size="256x256", response_format="b64_json")
    url = client.images.generate(prompt="a red apple", size="256x256", response_format="url").data[0].url
    files = [base64.b64decode(d.b64_json) for d in result.data] + [httpx.get(url).content]
    for data in files:
        report = verify_bytes(data)
        assert report.manifest.state == "valid" and report.manifest.operation == "generate"
        assert report.manifest.model == "unclip model tiny (served as dall-e-2)"
        assert report.watermark is not None and report.watermark.present and not report.signature


def test_an_edit_names_its_input_and_keeps_its_pixels_exactly(server):
    upload, kept = upload_with_hole()
    result = server.client().images.edit(
        image=upload, prompt="a boat", size="256x256", response_format="b64_json"
    )
    data = base64.b64decode(result.data[0].b64_json)
    manifest = manifest_of(data)
    (actions,) = [
        a["data"]["actions"] for a in manifest["assertions"] if a["label"].startswith("c2pa.actions")
    ]
    assert [a["action"] for a in actions] == ["c2pa.opened", "c2pa.edited"]
    assert [i["relationship"] for i in manifest["ingredients"]] == ["parentOf"]
    out = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    src = np.asarray(Image.open(io.BytesIO(upload)).convert("RGB"))
    assert np.array_equal(out[kept], src[kept])  # the user's pixels: not watermarked
    assert not np.array_equal(out[~kept], src[~kept])


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")  # the openai client's note on dall-e-2
def test_a_variation_names_its_input(server):
    upload, _ = upload_with_hole()
    result = server.client().images.create_variation(image=upload, size="256x256", response_format="b64_json")
    report = verify_bytes(base64.b64decode(result.data[0].b64_json))
    assert (
        report.manifest.state == "valid"
        and report.manifest.operation == "vary"
        and report.manifest.inputs == 1
    )
    manifest = manifest_of(base64.b64decode(result.data[0].b64_json))
    assert [i["relationship"] for i in manifest["ingredients"]] == ["inputTo"]


def test_the_generated_key_is_kept_in_the_data_folder_across_restarts(tiny_engine, tmp_path):
    serials = []
    for _ in range(2):
        s = start(tiny_engine, tmp_path / "data")
        try:
            data = base64.b64decode(
                s.client()
                .images.generate(prompt="a cat", size="256x256", response_format="b64_json")
                .data[0]
                .b64_json
            )
        finally:
            s.stop()
        serials.append(manifest_of(data)["signature_info"]["cert_serial_number"])
    assert serials[0] == serials[1]
    key_file = tmp_path / "data" / "provenance" / "signing.pem"
    assert key_file.stat().st_mode & 0o077 == 0  # the private key is readable by its owner only


def test_operator_key_and_visible_signature(tiny_engine, tmp_path):
    cert, key = operator_key(tmp_path)
    s = start(tiny_engine, tmp_path / "data", signing_cert=str(cert), signing_key=str(key), signature=True)
    try:
        data = base64.b64decode(
            s.client()
            .images.generate(prompt="a cat", size="256x256", response_format="b64_json")
            .data[0]
            .b64_json
        )
    finally:
        s.stop()
    report = verify_bytes(data)
    assert report.manifest.signer == "Example Studio signer" and report.signature and report.watermark.present
    assert not (tmp_path / "data" / "provenance").exists()  # no key generated when the operator gives one


def test_a_bad_key_stops_the_server_at_start(tiny_engine, tmp_path):
    from unclip.errors import UnclipError

    bad = tmp_path / "chain.pem"
    bad.write_text("nope")
    with pytest.raises(UnclipError, match=f"{bad}: no PEM certificate found"):
        start(tiny_engine, tmp_path / "data", signing_cert=str(bad))
