"""`unclip serve --model DIR --api-key KEY --host 0.0.0.0 --port 8000`: the OpenAI-compatible Images API.

Settings come from flags, UNCLIP_* environment variables and a config file (`--config`), in that order
of precedence; see docs/SERVER.md for every setting.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from unclip.cli.common import (
    add_model_options,
    add_stage_options,
    check_device,
    require_extra,
    stage_settings,
)

SERVER_MODULES = ("fastapi", "uvicorn", "python_multipart", "prometheus_client")  # the `server` extra


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the OpenAI Images API (dall-e-2) over HTTP",
        description="Serve /v1/images/generations, /edits and /variations, wire-compatible with OpenAI's "
        "dall-e-2, so `OpenAI(base_url='http://HOST:PORT/v1')` works unchanged. Without API keys the "
        "server only listens on loopback.",
    )
    p.add_argument("--config", metavar="FILE", default=None, help="settings file (JSON, or TOML by suffix)")
    p.add_argument(
        "--print-config", action="store_true", help="print the effective settings (keys hidden) and exit"
    )
    net = p.add_argument_group("network")
    net.add_argument("--host", default=None, help="address to bind (default 127.0.0.1; others need API keys)")
    net.add_argument("--port", type=int, default=None, help="port (default 8000)")
    net.add_argument(
        "--public-base-url",
        default=None,
        metavar="URL",
        help="base of returned image URLs (default: the request's own base URL)",
    )
    net.add_argument(
        "--allowed-host",
        dest="allowed_hosts",
        action="append",
        default=None,
        metavar="NAME",
        help="without API keys, also answer requests whose Host is NAME (repeatable; loopback "
        "names are always allowed)",
    )
    net.add_argument(
        "--allowed-origin",
        dest="allowed_origins",
        action="append",
        default=None,
        metavar="ORIGIN",
        help="let web pages of ORIGIN (e.g. https://app.example.com; * for any) call the API "
        "(repeatable; the server's own pages always can)",
    )
    auth = p.add_argument_group("auth")
    auth.add_argument(
        "--api-key",
        dest="api_keys",
        action="append",
        default=None,
        metavar="KEY",
        help="accept this bearer key (repeatable; also UNCLIP_API_KEYS=k1,k2)",
    )
    auth.add_argument("--api-keys-file", default=None, metavar="FILE", help="file with one key per line")
    srv = p.add_argument_group("queue, batching and storage")
    srv.add_argument(
        "--max-batch-images", type=int, default=None, metavar="N", help="largest model batch (default 8)"
    )
    srv.add_argument(
        "--batch-wait-ms",
        type=float,
        default=None,
        metavar="MS",
        help="how long a batch waits to fill up (default 25; 0 disables waiting)",
    )
    srv.add_argument(
        "--max-queue", type=int, default=None, metavar="N", help="requests waiting before 429s (default 32)"
    )
    srv.add_argument("--data-dir", default=None, metavar="DIR", help="where url results are kept")
    srv.add_argument(
        "--url-ttl-s", type=float, default=None, metavar="S", help="lifetime of url results (default 3600)"
    )
    srv.add_argument("--storage-max-bytes", type=int, default=None, metavar="B")
    srv.add_argument("--storage-max-files", type=int, default=None, metavar="N")
    srv.add_argument(
        "--redis",
        dest="redis_url",
        default=None,
        metavar="URL",
        help="keep url images, per-key limits and usage in this Redis (redis://HOST:6379/0), shared "
        "by every server process using it; needed by more than one process (--ray)",
    )
    srv.add_argument(
        "--rate-limit-rpm",
        type=int,
        default=None,
        metavar="N",
        help="image requests per minute per API key (default: no limit)",
    )
    srv.add_argument(
        "--quota-images-per-day",
        type=int,
        default=None,
        metavar="N",
        help="images per UTC day per API key (default: no limit)",
    )
    srv.add_argument(
        "--shutdown-timeout-s",
        type=float,
        default=None,
        metavar="S",
        help="SIGTERM: how long to wait for in-flight requests (default 300)",
    )
    dist = p.add_argument_group("many GPUs and machines (Ray Serve; the 'ray' extra; docs/DEPLOY.md)")
    dist.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="run the model as a Ray Serve deployment on the cluster at ADDRESS (default: RAY_ADDRESS, "
        "or a new local cluster); the API app is the ingress deployment",
    )
    dist.add_argument(
        "--model-replicas",
        type=int,
        default=None,
        metavar="N",
        help="model replicas (default: one per GPU in the cluster, or 1)",
    )
    dist.add_argument(
        "--max-model-replicas",
        type=int,
        default=None,
        metavar="N",
        help="autoscale the model between --model-replicas and N replicas by load",
    )
    dist.add_argument(
        "--ingress-replicas",
        type=int,
        default=1,
        metavar="N",
        help="replicas of the API app (default 1; more need --redis)",
    )
    dist.add_argument(
        "--replica-cpus", type=float, default=1.0, metavar="N", help="CPUs per model replica (default 1)"
    )
    dist.add_argument(
        "--replica-gpus",
        type=float,
        default=None,
        metavar="N",
        help="GPUs per model replica (default: 1 when the cluster has GPUs, else 0)",
    )
    dist.add_argument(
        "--ray-proxy",
        choices=("EveryNode", "HeadOnly"),
        default="EveryNode",
        help="which nodes run Ray Serve's HTTP proxy on --host/--port (default: every node)",
    )
    gen = p.add_argument_group("generation")
    gen.add_argument("--model-id", default=None, help="model id served by /v1/models (default dall-e-2)")
    gen.add_argument(
        "--steps-preset",
        choices=("model", "fast", "fastest"),
        default=None,
        help="sampler steps: the model's defaults, fewer, or 1 per stage (tests only)",
    )
    gen.add_argument(
        "--default-size",
        choices=("256x256", "512x512", "1024x1024"),
        default=None,
        help="size when a request gives none (default 1024x1024, as OpenAI)",
    )
    ops = p.add_argument_group("safety and logging")
    ops.add_argument(
        "--policy",
        metavar="FILE",
        default=None,
        help="content policy file (TOML/JSON) laid over the shipped default",
    )
    ops.add_argument(
        "--unsafe-disable-safety",
        action="store_true",
        default=None,
        help="serve WITHOUT the content policy (logged loudly; never expose to others)",
    )
    ops.add_argument(
        "--waive-check",
        dest="waive_checks",
        action="append",
        default=None,
        choices=("classifier", "nudity", "faces"),
        metavar="CHECK",
        help="start even though this check of the content policy is not installed (classifier, "
        "nudity, faces; repeatable; logged and reported by /health). Without it the server "
        "refuses to start when a check the policy enables is missing",
    )
    prov = p.add_argument_group("provenance (every returned PNG: invisible watermark + signed C2PA manifest)")
    prov.add_argument(
        "--signing-cert",
        default=None,
        metavar="PEM",
        help="certificate chain to sign C2PA manifests with (default: a key generated on first "
        "start in DATA_DIR/provenance)",
    )
    prov.add_argument(
        "--signing-key", default=None, metavar="PEM", help="its private key (default: in --signing-cert)"
    )
    prov.add_argument(
        "--signature",
        action="store_true",
        default=None,
        help="also add DALL-E 2's visible signature (five coloured squares, lower right)",
    )
    ops.add_argument("--log-format", choices=("json", "text"), default=None)
    ops.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default=None)
    add_model_options(p, safety=False)  # serve's --policy and --unsafe-disable-safety are settings (above)
    add_stage_options(p)
    p.set_defaults(func=run)


FLAG_FIELDS = (
    "host",
    "port",
    "public_base_url",
    "allowed_hosts",
    "allowed_origins",
    "api_keys",
    "api_keys_file",
    "max_batch_images",
    "batch_wait_ms",
    "max_queue",
    "data_dir",
    "url_ttl_s",
    "redis_url",
    "rate_limit_rpm",
    "quota_images_per_day",
    "storage_max_bytes",
    "storage_max_files",
    "shutdown_timeout_s",
    "model_id",
    "steps_preset",
    "default_size",
    "policy",
    "unsafe_disable_safety",
    "waive_checks",
    "signing_cert",
    "signing_key",
    "signature",
    "log_format",
    "log_level",
    "model",
    "device",
    "dtype",
    "threads",
)


def flag_settings(args: argparse.Namespace) -> dict[str, Any]:
    out = {name: getattr(args, name) for name in FLAG_FIELDS if getattr(args, name, None) is not None}
    stages = stage_settings(args)
    if stages:
        out["stage_settings"] = stages
    return out


def run(args: argparse.Namespace) -> int:
    from unclip.server.settings import load_settings

    settings = load_settings(args.config, os.environ, flag_settings(args))
    if args.print_config:
        print(json.dumps(settings.redacted(), indent=2))
        return 0
    check_device(settings.device)
    require_extra("server", SERVER_MODULES, "unclip serve")
    if args.ray is not None:
        require_extra("ray", ("ray.serve", "redis"), "unclip serve --ray")
        from unclip.server.distributed.launch import RayOptions, serve_on_ray

        return serve_on_ray(
            settings,
            RayOptions(
                address=args.ray or None,
                model_replicas=args.model_replicas,
                max_model_replicas=args.max_model_replicas,
                ingress_replicas=args.ingress_replicas,
                replica_cpus=args.replica_cpus,
                replica_gpus=args.replica_gpus,
                proxy=args.ray_proxy,
            ),
        )
    from unclip.server.runner import serve

    return serve(settings)
