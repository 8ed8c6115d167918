"""`unclip keys usage --redis URL`: requests and images per API key, and per request `user`, as counted
by every server process sharing that Redis (`unclip serve --redis URL`)."""

from __future__ import annotations

import argparse
import json
import os

from unclip.errors import UnclipError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keys", help="API keys of `unclip serve`: usage per key and per user")
    keys_sub = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    usage = keys_sub.add_parser(
        "usage", help="requests and images per key and per `user` field (shared state in Redis)"
    )
    usage.add_argument(
        "--redis",
        dest="redis_url",
        default=None,
        metavar="URL",
        help="the servers' Redis (default: UNCLIP_REDIS_URL)",
    )
    usage.add_argument("--json", action="store_true", help="print JSON instead of a table")
    usage.set_defaults(func=run_usage)


def run_usage(args: argparse.Namespace) -> int:
    url = args.redis_url or os.environ.get("UNCLIP_REDIS_URL")
    if not url:
        raise UnclipError(
            "unclip keys usage reads the usage that servers record in Redis: pass --redis URL "
            "(the --redis of unclip serve) or set UNCLIP_REDIS_URL. A server without Redis keeps "
            "its usage in memory only."
        )
    from unclip.server.redis_state import RedisLimits, connect

    rows = RedisLimits(connect(url), None, None).usage()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "key": r.label,
                        "requests": r.requests,
                        "images": r.images,
                        "users": {u: {"requests": q, "images": i} for u, (q, i) in r.users.items()},
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
        return 0
    if not rows:
        print("no usage recorded yet")
        return 0
    print(f"{'key':<32} {'user':<24} {'requests':>9} {'images':>9}")
    for r in rows:
        print(f"{r.label:<32} {'(all)':<24} {r.requests:>9} {r.images:>9}")
        for user, (q, i) in r.users.items():
            print(f"{'':<32} {user[:24]:<24} {q:>9} {i:>9}")
    return 0
