"""``python -m unclip.safety [--policy FILE] [--image PATH --kind upload|output] [PROMPT ...]``.

Prints which checks are available, then the decision for each prompt and image given.
"""

from __future__ import annotations

import argparse
import sys

from PIL import Image

from unclip.errors import UnclipError
from unclip.safety.policy import Policy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m unclip.safety", description=__doc__)
    parser.add_argument("prompts", nargs="*", help="prompts to check")
    parser.add_argument("--policy", help="policy file (TOML or JSON); default: the shipped policy")
    parser.add_argument("--image", action="append", default=[], help="image file to check (repeatable)")
    parser.add_argument("--kind", choices=("upload", "output"), default="upload")
    args = parser.parse_args(argv)
    try:
        policy = Policy.from_file(args.policy) if args.policy else Policy.default()
        for name, state in policy.preload().items():
            print(f"{name}: {state}")
        for prompt in args.prompts:
            d = policy.check_prompt(prompt)
            print(f"prompt {prompt!r}: {d.action} category={d.category} score={d.score:.2f} ({d.reason})")
        for path in args.image:
            with Image.open(path) as image:
                d = policy.check_image(image, args.kind)
            extra = f" unavailable: {'; '.join(d.unavailable)}" if d.unavailable else ""
            print(
                f"image {path} ({args.kind}): {d.action} category={d.category} score={d.score:.2f} "
                f"({d.reason}){extra}"
            )
    except (UnclipError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
