"""`unclip verify IMAGE ...`: the provenance an image carries (C2PA manifest, watermark, visible signature)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="report an image's provenance: C2PA manifest, invisible watermark, visible signature",
        description="Read back what unclip puts in every PNG it writes: the C2PA manifest (validated by c2pa's "
        "own reader: valid, tampered or absent) and the invisible watermark (present or not, also after "
        "re-encoding or resizing), and DALL-E 2's visible signature if it was added.",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="PNG files")
    p.add_argument("--json", action="store_true", help="also print the full C2PA manifest store as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Exit status 0 when every file has a valid manifest or the watermark, 1 when one has neither or a
    tampered manifest; a file that is not a PNG is an error (status 2) naming it."""
    from unclip.provenance import verify_file
    from unclip.provenance.manifest import manifest_json

    worst = 0
    for i, path in enumerate(args.images):
        report = verify_file(path)
        if len(args.images) > 1:
            print(("\n" if i else "") + f"{path}:")
        print(report.describe())
        if args.json and report.manifest.state != "absent":
            with open(path, "rb") as f:
                print(manifest_json(f.read()))
        marked = report.manifest.state == "valid" or (
            report.watermark is not None and report.watermark.present
        )
        if report.manifest.state == "tampered" or not marked:
            worst = 1
    return worst
