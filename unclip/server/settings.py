"""The server's one typed settings schema, and loading it from a config file, UNCLIP_* env vars and flags.

Precedence, lowest to highest: defaults < config file (JSON or TOML) < environment < command-line flags.
Every source is strict: an unknown key in a config file, or an unknown `UNCLIP_*` environment variable
(other than those read by other unclip components), is an error naming it. API keys are the exception to
"highest wins": keys from every source (config, env, flags, keys file) are all accepted.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import math
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from unclip.utils.config import Config, ConfigError

ENV_PREFIX = "UNCLIP_"
# UNCLIP_* variables read by other parts of unclip: not server settings, but not typos either.
OTHER_COMPONENT_ENV = frozenset({"UNCLIP_CACHE", "UNCLIP_SOURCES_CACHE"})

SIZE_LABELS = ("256x256", "512x512", "1024x1024")

# Named sampler presets; `stage_settings` entries override them key by key.
STEP_PRESETS: dict[str, dict[str, Any]] = {
    "model": {},  # the model directory's own defaults
    "fast": {
        "prior_sampler": "dpm++2m",
        "prior_steps": 10,
        "decoder_sampler": "dpm++2m",
        "decoder_steps": 10,
        "upsampler_256_sampler": "dpm++2m",
        "upsampler_256_steps": 5,
        "upsampler_1024_sampler": "ddim",
        "upsampler_1024_steps": 7,
        "prior_candidates": 1,
    },
    # One step per stage, no guidance: for tests, smoke checks and load tests of the plumbing only.
    "fastest": {
        "prior_steps": 1,
        "decoder_steps": 1,
        "upsampler_256_steps": 1,
        "upsampler_1024_steps": 1,
        "prior_candidates": 1,
        "prior_guidance": 1.0,
        "decoder_guidance": 1.0,
    },
}


@dataclass
class ServerSettings(Config):
    """Everything `unclip serve` can be told. Field names are the config-file keys; env vars are
    `UNCLIP_<NAME>` (upper case); flags are `--<name-with-dashes>` (see `unclip serve --help`)."""

    # network
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str | None = None  # e.g. "https://images.example.com"; default: the request's base URL
    # Host names accepted without keys (besides loopback)
    allowed_hosts: list[str] = field(default_factory=list)
    # browser origins besides the server's own; "*": any
    allowed_origins: list[str] = field(default_factory=list)
    # model
    model: str | None = None  # model directory; None: the embedded default model
    model_id: str = "dall-e-2"  # the id listed by /v1/models and accepted in the `model` field
    device: str | None = None
    dtype: Literal["fp32", "fp16", "bf16"] | None = None
    threads: int | None = None
    steps_preset: Literal["model", "fast", "fastest"] = "model"
    stage_settings: dict[str, Any] = field(default_factory=dict)  # e.g. {"decoder_steps": 10}
    default_size: Literal["256x256", "512x512", "1024x1024"] = "1024x1024"
    policy: str | None = None  # content policy file (TOML/JSON) laid over the shipped default
    # auth
    api_keys: list[str] = field(default_factory=list)
    api_keys_file: str | None = None  # one key per line; blank lines and "#" comments ignored
    # url results
    data_dir: str = "~/.cache/unclip/server"
    url_ttl_s: float = 3600.0
    storage_max_bytes: int = 2 * 1024**3
    storage_max_files: int = 10_000
    # shared state (url images, limits, usage) for several processes: redis://HOST:6379/0
    redis_url: str | None = None
    # per-key limits (None: off); with redis_url they hold for all processes together
    rate_limit_rpm: int | None = None  # image requests per minute per API key
    quota_images_per_day: int | None = None  # images per UTC day per API key
    # batching and queueing
    max_batch_images: int = 8
    batch_wait_ms: float = 25.0
    max_queue: int = 32  # requests waiting (not counting the batch running); more get 429
    shutdown_timeout_s: float = 300.0  # SIGTERM: how long to wait for in-flight requests
    # slow and numerous clients (connections.py, middleware.py)
    header_timeout_s: float = 10.0  # a request's headers must arrive within this; then 408 and closed
    body_timeout_s: float = 60.0  # its body (up to 8 MB of uploads) within this, from the end of the headers
    max_connections: int = 256  # open connections; more are answered 503 at once
    # uploads
    max_upload_bytes: int = 4 * 1024 * 1024  # uploads must be smaller than this
    max_upload_pixels: int = 4096 * 4096  # checked from the PNG header, before decoding
    upload_workers: int = 2  # uploads decoded (and content-checked) at once; each may be 64 MB while decoding
    auth_max_failures: int = 10  # failed authentications per client address per window; then 429s
    auth_failure_window_s: float = 60.0
    # safety and operations
    unsafe_disable_safety: bool = False
    # start without these policy checks (classifier, nudity, faces)
    waive_checks: list[str] = field(default_factory=list)
    # provenance: every returned PNG carries an invisible watermark and a signed C2PA manifest
    signing_cert: str | None = None  # PEM certificate chain; None: a key generated in <data_dir>/provenance
    signing_key: str | None = None  # its PEM private key (None: in the signing_cert file)
    signature: bool = False  # also DALL-E 2's visible signature (five coloured squares, lower right)
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    def __post_init__(self) -> None:
        for name in (
            "url_ttl_s",
            "batch_wait_ms",
            "shutdown_timeout_s",
            "auth_failure_window_s",
            "header_timeout_s",
            "body_timeout_s",
        ):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number, got {getattr(self, name)!r}")
        positive = (
            "url_ttl_s",
            "storage_max_bytes",
            "storage_max_files",
            "max_batch_images",
            "max_queue",
            "max_upload_bytes",
            "max_upload_pixels",
            "upload_workers",
            "auth_max_failures",
            "auth_failure_window_s",
            "header_timeout_s",
            "body_timeout_s",
            "max_connections",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535, got {self.port}")
        if self.batch_wait_ms < 0 or self.shutdown_timeout_s < 0:
            raise ValueError("batch_wait_ms and shutdown_timeout_s must be >= 0")
        for name in ("rate_limit_rpm", "quota_images_per_day"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1 (or null: no limit), got {getattr(self, name)!r}")
        if self.redis_url is not None and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(
                f"redis_url must start with redis://, rediss:// or unix://, got {self.redis_url!r}"
            )
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")
        if self.public_base_url is not None and not self.public_base_url.startswith(("http://", "https://")):
            raise ValueError(
                f"public_base_url must start with http:// or https://, got {self.public_base_url!r}"
            )
        if any(not k or any(c.isspace() for c in k) for k in self.api_keys):
            raise ValueError("api_keys must be non-empty and contain no whitespace")
        self.effective_stage_settings()  # validates the keys and values

    # ------------------------------------------------------------------ derived values
    def effective_stage_settings(self) -> dict[str, Any]:
        """The preset overlaid with `stage_settings`, checked against the pipeline's setting names."""
        from unclip.cascade.settings import SamplingConfig, parse_stage_settings
        from unclip.errors import InputError

        merged = {**STEP_PRESETS[self.steps_preset], **self.stage_settings}
        try:
            parse_stage_settings(SamplingConfig(), merged)
        except (TypeError, InputError, ConfigError) as e:
            raise ValueError(f"stage_settings: {e}") from e
        return merged

    def all_api_keys(self) -> list[str]:
        """The configured keys plus those in `api_keys_file`."""
        keys = list(self.api_keys)
        if self.api_keys_file:
            path = Path(self.api_keys_file).expanduser()
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except OSError as e:
                raise ConfigError(f"api_keys_file {path}: cannot read ({e.strerror or e})") from e
            except UnicodeDecodeError as e:
                raise ConfigError(
                    f"api_keys_file {path}: not a UTF-8 text file ({e.reason} at byte {e.start})"
                ) from None
            for number, line in enumerate(lines, 1):
                key = line.split("#", 1)[0].strip()
                if key and any(c.isspace() for c in key):
                    raise ConfigError(f"api_keys_file {path}:{number}: a key must not contain whitespace")
                if key:
                    keys.append(key)
        return list(dict.fromkeys(keys))

    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser()

    def redacted(self) -> dict[str, Any]:
        """The settings as a dict with API keys hidden (for logs and --print-config)."""
        out = self.to_dict()
        out["api_keys"] = [redact_key(k) for k in self.api_keys]
        return out


MIN_PUBLIC_KEY_CHARS = (
    16  # keys of a server reachable from other machines (loopback servers may use short ones)
)
SHOWN_TAIL_MIN_CHARS = 20  # a key shows its last 4 characters only when at least 16 others stay hidden


def redact_key(key: str) -> str:
    """A key as logs and error messages show it: the conventional `sk-` prefix (not a secret), then
    `*`s, and the last 4 characters only for keys of 20 or more (so at least 16 stay unknown)."""
    prefix = "sk-" if key.startswith("sk-") else ""
    tail = key[-4:] if len(key) >= SHOWN_TAIL_MIN_CHARS else ""
    return prefix + "*" * max(3, len(key) - len(prefix) - len(tail)) + tail


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# ---------------------------------------------------------------------- loading
def _fields() -> dict[str, Any]:
    hints = typing.get_type_hints(ServerSettings)
    return {f.name: hints[f.name] for f in dataclasses.fields(ServerSettings)}


def _parse_env_value(name: str, raw: str, tp: Any) -> Any:
    """A string from the environment -> the JSON-ish value `Config.from_dict` expects for type `tp`."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    optional = type(None) in typing.get_args(tp)
    if optional and raw.strip() == "":
        return None
    base = args[0] if optional and len(args) == 1 else tp
    origin = typing.get_origin(base)
    if base is bool:
        value = raw.strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{name}: expected true/false (1/0), got {raw!r}")
    if base is int or base is float:
        try:
            return int(raw) if base is int else float(raw)
        except ValueError:
            raise ConfigError(
                f"{name}: expected {'an integer' if base is int else 'a number'}, got {raw!r}"
            ) from None
    if origin is list:
        return [part.strip() for part in raw.split(",") if part.strip()]
    if origin is dict:
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{name}: expected a JSON object ({e})") from None
        return value
    return raw


def settings_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """Settings named by UNCLIP_* variables. Unknown UNCLIP_* names are errors (a typo must not be ignored)."""
    fields = _fields()
    out: dict[str, Any] = {}
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or name in OTHER_COMPONENT_ENV:
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key not in fields:
            known = ", ".join(ENV_PREFIX + k.upper() for k in fields)
            raise ConfigError(f"unknown environment variable {name}; server settings are: {known}")
        out[key] = _parse_env_value(name, raw, fields[key])
    return out


def read_config_file(path: str | Path) -> dict[str, Any]:
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config file ({e.strerror or e})") from e
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{path}: not a UTF-8 text file ({e.reason} at byte {e.start}); is it the config file?"
        ) from None
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: not valid {'TOML' if path.suffix == '.toml' else 'JSON'} ({e})") from e
    ServerSettings.from_dict(data, where=str(path))  # unknown keys and bad values name the file
    return data


def load_settings(
    config_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> ServerSettings:
    """Merge the sources (defaults < file < env < flags; API keys from all of them)."""
    env = os.environ if env is None else env
    layers = [
        ("config file", read_config_file(config_file) if config_file else {}),
        ("environment", settings_from_env(env)),
        ("flags", {k: v for k, v in (flags or {}).items() if v is not None}),
    ]
    merged: dict[str, Any] = {}
    keys: list[str] = []
    for where, layer in layers:
        ServerSettings.from_dict(layer, where=where)  # each source is checked on its own, naming it
        keys.extend(layer.get("api_keys") or [])
        if "stage_settings" in layer and "stage_settings" in merged:
            layer = {**layer, "stage_settings": {**merged["stage_settings"], **layer["stage_settings"]}}
        merged.update(layer)
    merged["api_keys"] = list(dict.fromkeys(keys))
    return ServerSettings.from_dict(merged, where="settings")
