"""`unclip serve --ray [ADDRESS]`: deploy the model and ingress deployments on a Ray cluster (a local one
when no address is given and RAY_ADDRESS is unset) and keep them running until SIGTERM / Ctrl-C."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Any

from unclip.errors import UnclipError
from unclip.server.logs import configure_logging, event, log
from unclip.server.runner import check_bind
from unclip.server.settings import ServerSettings

APP_NAME = "unclip"


@dataclass
class RayOptions:
    address: str | None = None  # None: RAY_ADDRESS, or a new local cluster
    model_replicas: int | None = None  # None: one per GPU in the cluster (at least 1)
    max_model_replicas: int | None = None  # above model_replicas: autoscale between them
    ingress_replicas: int = 1
    replica_cpus: float = 1.0
    replica_gpus: float | None = None  # None: 1 when the cluster has GPUs, else 0
    proxy: str = "EveryNode"  # Ray Serve HTTP proxies: "EveryNode" or "HeadOnly"


def check_options(settings: ServerSettings, opts: RayOptions) -> None:
    if opts.ingress_replicas > 1 and not settings.redis_url:
        raise UnclipError(
            f"--ingress-replicas {opts.ingress_replicas} needs --redis URL: several ingress processes "
            "must share url images and limits (a local data_dir serves one process)"
        )
    if opts.ingress_replicas < 1 or (opts.model_replicas is not None and opts.model_replicas < 1):
        raise UnclipError("--model-replicas and --ingress-replicas must be >= 1")
    if opts.max_model_replicas is not None and opts.max_model_replicas < (opts.model_replicas or 1):
        raise UnclipError("--max-model-replicas must be >= --model-replicas")


def build_app(settings: ServerSettings, opts: RayOptions, cluster_gpus: float) -> Any:
    from unclip.server.distributed.deployments import UnclipIngress, UnclipModel

    gpus = opts.replica_gpus if opts.replica_gpus is not None else (1.0 if cluster_gpus >= 1 else 0.0)
    replicas = opts.model_replicas or (max(1, int(cluster_gpus // gpus)) if gpus else 1)
    scale: dict[str, Any] = {"num_replicas": replicas}
    if opts.max_model_replicas and opts.max_model_replicas > replicas:
        scale = {
            "autoscaling_config": {
                "min_replicas": replicas,
                "max_replicas": opts.max_model_replicas,
                "target_ongoing_requests": max(1, settings.max_batch_images),
            }
        }
    model = UnclipModel.options(  # type: ignore[attr-defined]  # added by @serve.deployment
        ray_actor_options={"num_cpus": opts.replica_cpus, "num_gpus": gpus},
        max_ongoing_requests=settings.max_queue + settings.max_batch_images,
        graceful_shutdown_timeout_s=settings.shutdown_timeout_s,
        **scale,
    ).bind(settings)
    ingress = UnclipIngress.options(  # type: ignore[attr-defined]
        num_replicas=opts.ingress_replicas,
        ray_actor_options={"num_cpus": 0},
        max_ongoing_requests=settings.max_connections,
        graceful_shutdown_timeout_s=settings.shutdown_timeout_s,
    ).bind(settings, model)
    event(
        log,
        logging.INFO,
        "ray serve: deploying",
        model_replicas=replicas,
        max_model_replicas=opts.max_model_replicas,
        gpus_per_replica=gpus,
        cpus_per_replica=opts.replica_cpus,
        ingress_replicas=opts.ingress_replicas,
    )
    return ingress


def serve_on_ray(settings: ServerSettings, opts: RayOptions) -> int:
    check_bind(settings, settings.all_api_keys())
    check_options(settings, opts)
    configure_logging(settings.log_format, settings.log_level)
    import ray
    from ray import serve

    env = {k: os.environ[k] for k in ("PYTHONPATH", "UNCLIP_CACHE") if k in os.environ}
    try:
        ray.init(
            address=opts.address,
            namespace=APP_NAME,
            runtime_env={"env_vars": env} if env else None,
            log_to_driver=False,
        )
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise UnclipError(
            f"--ray {opts.address or ''}: cannot reach a Ray cluster ({str(e).splitlines()[0]})"
        ) from None
    # (after ray.init, which installs its own handlers) a signal during deployment counts
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    serve.start(http_options={"host": settings.host, "port": settings.port}, proxy_location=opts.proxy)
    app = build_app(settings, opts, float(ray.cluster_resources().get("GPU", 0)))
    serve.run(app, name=APP_NAME, route_prefix="/", blocking=False)
    msg = f"serving on Ray: http://{settings.host}:{settings.port}"
    event(log, logging.INFO, msg)
    print(f"unclip serve: {msg} (Ctrl-C or SIGTERM stops it)", file=sys.stderr, flush=True)
    stop.wait()
    event(log, logging.INFO, "stopping: deleting the Ray Serve application", app=APP_NAME)
    serve.delete(APP_NAME)
    return 0
