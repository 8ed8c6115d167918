"""Fixtures for the server tests: a live uvicorn server on a loopback port, driven over real HTTP.

The model is the tiny random cascade (tests/conftest.py) with one sampling step per stage
(`steps_preset="fastest"`), shared by every server in the session.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from unclip.server.app import FROM_SETTINGS
from unclip.server.engine import UnclipEngine
from unclip.server.settings import ServerSettings

from .live import FASTEST, WAIVE, LiveServer


@pytest.fixture(scope="session")
def tiny_engine(tiny_model_dir):
    from unclip.pipeline.unclip_pipeline import UnCLIP

    pipe = UnCLIP.from_pretrained(tiny_model_dir, device="cpu")
    return UnclipEngine(pipe, ServerSettings(steps_preset=FASTEST).effective_stage_settings(), "tiny")


@pytest.fixture
def make_server(tmp_path_factory):
    """make_server(engine, policy=FROM_SETTINGS, **settings) -> a started LiveServer, stopped after the test."""
    servers: list[LiveServer] = []

    def make(engine: Any, policy: Any = FROM_SETTINGS, **overrides: Any) -> LiveServer:
        overrides.setdefault("data_dir", str(tmp_path_factory.mktemp("data")))
        overrides.setdefault("steps_preset", FASTEST)
        overrides.setdefault("waive_checks", WAIVE)
        server = LiveServer(ServerSettings(**overrides), engine, policy).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def live(tiny_engine, tmp_path_factory):
    """The default server of a test module: real model, real content policy, no API keys."""
    data_dir = tmp_path_factory.mktemp("data")
    settings = ServerSettings(steps_preset=FASTEST, data_dir=str(data_dir), waive_checks=WAIVE)
    server = LiveServer(settings, tiny_engine, FROM_SETTINGS)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(live):
    return live.client()


@pytest.fixture(autouse=True)
def _no_variation_deprecation_noise():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield
