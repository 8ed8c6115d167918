"""The settings schema (flags > env > config file > defaults, unknown keys rejected) and the image store."""

from __future__ import annotations

import json
import os
import threading

import pytest

from unclip.server.settings import ServerSettings, load_settings
from unclip.server.storage import ImageStore, StorageFull
from unclip.utils.config import ConfigError


def test_precedence_defaults_file_env_flags(tmp_path):
    config = tmp_path / "server.json"
    config.write_text(
        json.dumps(
            {
                "port": 9001,
                "max_queue": 5,
                "api_keys": ["sk-file-000001"],
                "stage_settings": {"decoder_steps": 3, "prior_steps": 2},
            }
        )
    )
    s = load_settings(
        config,
        env={
            "UNCLIP_PORT": "9002",
            "UNCLIP_BATCH_WAIT_MS": "5",
            "UNCLIP_STAGE_SETTINGS": '{"decoder_steps": 4}',
            "UNCLIP_CACHE": "/x",
        },
        flags={"port": 9003, "api_keys": ["sk-flag-000001"]},
    )
    assert (s.port, s.max_queue, s.batch_wait_ms) == (9003, 5, 5.0)
    assert s.stage_settings == {"decoder_steps": 4, "prior_steps": 2}
    assert s.api_keys == ["sk-file-000001", "sk-flag-000001"]  # keys from every source
    assert ServerSettings().port == 8000 and ServerSettings().host == "127.0.0.1"


def test_toml_config(tmp_path):
    config = tmp_path / "server.toml"
    config.write_text('host = "127.0.0.1"\nsteps_preset = "fast"\n[stage_settings]\ndecoder_steps = 12\n')
    s = load_settings(config, env={})
    assert s.effective_stage_settings()["decoder_steps"] == 12 and s.steps_preset == "fast"


@pytest.mark.parametrize(
    "data, match",
    [
        ({"prot": 1}, "unknown key"),
        ({"port": "8000"}, "expected an integer"),
        ({"max_queue": 0}, "max_queue"),
        ({"steps_preset": "turbo"}, "turbo"),
        ({"stage_settings": {"decoder_stepz": 1}}, "decoder_stepz"),
        ({"stage_settings": {"decoder_sampler": "euler"}}, "euler"),
        ({"public_base_url": "example.com"}, "public_base_url"),
    ],
)
def test_bad_config_files_are_rejected_naming_the_key(tmp_path, data, match):
    config = tmp_path / "server.json"
    config.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=match) as e:
        load_settings(config, env={})
    assert str(config) in str(e.value)


def test_env_vars_are_typed_and_unknown_ones_rejected():
    s = load_settings(
        env={
            "UNCLIP_UNSAFE_DISABLE_SAFETY": "yes",
            "UNCLIP_MAX_BATCH_IMAGES": "4",
            "UNCLIP_PUBLIC_BASE_URL": "https://img.example.com",
            "UNCLIP_MODEL": "",
        }
    )
    assert s.unsafe_disable_safety is True and s.max_batch_images == 4 and s.model is None
    with pytest.raises(ConfigError, match="UNCLIP_API_KEY"):
        load_settings(env={"UNCLIP_API_KEY": "typo-for-keys"})
    with pytest.raises(ConfigError, match="UNCLIP_PORT"):
        load_settings(env={"UNCLIP_PORT": "eighty"})


def test_api_keys_file(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("sk-one-0000001\n# comment\n  sk-two-0000002  # trailing comment\n")
    assert ServerSettings(api_keys_file=str(keys)).all_api_keys() == ["sk-one-0000001", "sk-two-0000002"]
    with pytest.raises(ConfigError, match="cannot read"):
        ServerSettings(api_keys_file=str(tmp_path / "missing")).all_api_keys()


def test_cli_print_config_hides_keys(monkeypatch, capsys):
    from unclip.cli.main import main

    monkeypatch.setenv("UNCLIP_API_KEYS", "sk-secret-value-123")
    assert (
        main(
            ["serve", "--print-config", "--port", "9100", "--decoder-steps", "3", "--steps-preset", "fastest"]
        )
        == 0
    )
    stdout = capsys.readouterr().out
    out = json.loads(stdout)
    assert (
        out["port"] == 9100
        and out["stage_settings"] == {"decoder_steps": 3}
        and out["steps_preset"] == "fastest"
    )
    assert "sk-secret-value-123" not in stdout and out["api_keys"] == [
        "sk-" + "*" * 16
    ]  # 19 characters: no tail shown


# ---------------------------------------------------------------------- image store
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_store_ttl_with_a_fake_clock(tmp_path):
    clock = Clock()
    store = ImageStore(tmp_path, ttl_s=60, max_bytes=10**6, max_files=10, clock=clock)
    name = store.put(b"\x89PNG fake")
    assert store.path_for(name).read_bytes() == b"\x89PNG fake"
    clock.now += 59
    assert store.path_for(name) is not None and 0 < store.expires_in(name) <= 1
    clock.now += 1
    assert store.path_for(name) is None and not (tmp_path / "images" / name).exists()
    store.put(b"a")
    clock.now += 61
    assert store.sweep() == 1 and store.stats() == (0, 0)


def test_store_bounds_never_cut_a_url_short(tmp_path):
    clock = Clock()
    store = ImageStore(tmp_path, ttl_s=60, max_bytes=25, max_files=100, clock=clock)
    names = [store.put(bytes(10)) for _ in range(2)]
    with pytest.raises(StorageFull):
        store.put(bytes(10))
    assert all(store.path_for(n) is not None for n in names) and store.stats() == (2, 20)
    clock.now += 60  # both expire: the room of the oldest is reused
    name = store.put(bytes(10))
    assert store.path_for(name) is not None and store.path_for(names[1]) is None and store.stats() == (1, 10)
    # a request's files are stored all or none
    store = ImageStore(tmp_path / "b", ttl_s=60, max_bytes=10**6, max_files=5, clock=clock)
    with pytest.raises(StorageFull):
        store.put_many([b"x"] * 7)
    assert store.stats() == (0, 0) and not any((tmp_path / "b").rglob("*.p*"))
    assert len(store.put_many([b"x"] * 5)) == 5 and not store.room_for(1)


def test_store_names_are_unguessable_and_checked(tmp_path):
    store = ImageStore(tmp_path, ttl_s=60, max_bytes=10**6, max_files=100)
    names = {store.put(b"x") for _ in range(50)}
    assert len(names) == 50 and all(len(n) == 36 for n in names)
    for bad in ("../images/x.png", "x.png", "", "/etc/passwd"):
        assert store.path_for(bad) is None


def test_store_writes_are_atomic_and_leftovers_cleaned(tmp_path):
    """Readers only ever see complete files: a file appears in images/ by rename, after being written."""
    store = ImageStore(tmp_path, ttl_s=60, max_bytes=10**9, max_files=1000)
    payload = b"\x89PNG" + os.urandom(512 * 1024)
    stop = threading.Event()
    seen_partial = []

    def reader() -> None:
        while not stop.is_set():
            for path in (tmp_path / "images").iterdir():
                try:
                    data = path.read_bytes()
                except FileNotFoundError:
                    continue
                if data != payload:
                    seen_partial.append(len(data))

    t = threading.Thread(target=reader)
    t.start()
    for _ in range(30):
        store.put(payload)
    stop.set()
    t.join()
    assert seen_partial == [] and not list((tmp_path / "tmp").iterdir())
    (tmp_path / "tmp" / "crashed.part").write_bytes(b"half")
    (tmp_path / "images" / "not-ours.txt").write_bytes(b"?")
    again = ImageStore(tmp_path, ttl_s=60, max_bytes=10**9, max_files=1000)  # a restart adopts live files
    assert again.stats()[0] == 30 and not list((tmp_path / "tmp").iterdir())
    assert not (tmp_path / "images" / "not-ours.txt").exists()
