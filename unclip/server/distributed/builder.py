"""The application builder for Ray Serve config files (`serve deploy`, KubeRay's `RayService`):

    applications:
      - name: unclip
        route_prefix: /
        import_path: unclip.server.distributed.builder:build
        args:
          settings: {model: /models/unclip, redis_url: "redis://redis:6379/0", default_size: 256x256}
          model_replicas: 4
          replica_gpus: 1
          ingress_replicas: 2

`settings` takes the keys of a `unclip serve` config file; `UNCLIP_*` environment variables are read too
(API keys from a secret: `UNCLIP_API_KEYS`; keys from every source are accepted), `settings` wins over
them. The other keys are `RayOptions`. The Serve proxies' address and port are the config file's
`http_options` (not unclip's), listening beyond loopback: API keys are required, as for
`unclip serve --host 0.0.0.0`.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from unclip.server.distributed.launch import RayOptions, build_app, check_options
from unclip.server.runner import check_bind
from unclip.server.settings import load_settings

OPTION_KEYS = ("model_replicas", "max_model_replicas", "ingress_replicas", "replica_cpus", "replica_gpus")


def build(args: dict[str, Any]) -> Any:
    import ray

    unknown = set(args) - {"settings", *OPTION_KEYS}
    if unknown:
        raise ValueError(
            f"unknown unclip application args: {', '.join(sorted(unknown))} "
            f"(expected settings, {', '.join(OPTION_KEYS)})"
        )
    settings = load_settings(None, os.environ, dict(args.get("settings") or {}))
    opts = RayOptions(**{k: args[k] for k in OPTION_KEYS if k in args})
    check_bind(dataclasses.replace(settings, host="0.0.0.0"), settings.all_api_keys())
    check_options(settings, opts)
    return build_app(settings, opts, float(ray.cluster_resources().get("GPU", 0)))
