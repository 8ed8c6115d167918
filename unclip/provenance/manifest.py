"""C2PA manifests with ``c2pa-python``: sign a PNG saying unclip and which model made it (and, for edits
and variations, that an input image was used), and read one back with c2pa's own validation."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from unclip.provenance.errors import ProvenanceError
from unclip.provenance.keys import SigningKey
from unclip.provenance.origin import OPERATIONS, Origin
from unclip.version import __version__

INSTALL_HINT = "pip install 'c2pa-python>=0.38,<0.39'"
ASSERTION = "org.unclip.generation"
NO_THUMBNAILS = {"builder": {"thumbnail": {"enabled": False}}}  # a thumbnail would double a PNG's size
UNTRUSTED = "signingCredential.untrusted"  # a local key: valid, but on no reader's trust list
UNPARSABLE = "unparsable: "


def _c2pa():  # type: ignore[no-untyped-def]
    try:
        import c2pa
    except ImportError as e:
        raise ProvenanceError(f"C2PA manifests need c2pa-python ({e}); {INSTALL_HINT}") from None
    return c2pa


def manifest_definition(origin: Origin | None, watermark: bool, signature: bool) -> dict[str, Any]:
    """The manifest's JSON: claim generator, one action (created / edited), unclip's own assertion."""
    origin = origin or Origin("generate", "unknown model")
    action, source_type, description = OPERATIONS[origin.operation]
    version = __version__
    actions: list[dict[str, Any]] = []
    if origin.inputs and action == "c2pa.edited":
        actions.append({"action": "c2pa.opened", "parameters": {"ingredientIds": ["input-0"]}})
    actions.append(
        {
            "action": action,
            "digitalSourceType": source_type,
            "softwareAgent": {"name": "unclip", "version": version},
            "description": description,
            "parameters": {
                "org.unclip.model": origin.model,
                "org.unclip.operation": origin.operation,
                "org.unclip.inputs": len(origin.inputs),
            },
        }
    )
    return {
        "claim_generator_info": [{"name": "unclip", "version": version}],
        "title": f"unclip {origin.operation}",
        "format": "image/png",
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": actions}},
            {
                "label": ASSERTION,
                "data": {
                    "model": origin.model,
                    "operation": origin.operation,
                    "inputs": len(origin.inputs),
                    "invisible_watermark": "invisible-watermark dwtDctSvd, payload 'unclip'"
                    if watermark
                    else "none",
                    "visible_signature": signature,
                },
            },
        ],
    }


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def sign_png(
    png: bytes,
    key: SigningKey,
    origin: Origin | None = None,
    *,
    watermark: bool = True,
    signature: bool = False,
    mime: str = "image/png",
) -> bytes:
    """``png`` (or another format c2pa embeds into: ``mime``, e.g. "image/gif") with a signed C2PA manifest
    embedded (a ``caBX`` chunk in a PNG); inputs become ingredients."""
    c2pa = _c2pa()
    definition = manifest_definition(origin, watermark, signature)
    definition["format"] = mime
    try:
        context = c2pa.Context(settings=c2pa.Settings.from_dict(NO_THUMBNAILS))
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(key.alg, key.chain_pem, key.key_pem, None))
        with c2pa.Builder(definition, context=context) as builder:
            for i, image in enumerate(origin.inputs if origin else ()):
                edited = (
                    i == 0 and definition["assertions"][0]["data"]["actions"][0]["action"] == "c2pa.opened"
                )
                builder.add_ingredient(
                    {
                        "title": f"input {i}",
                        "relationship": "parentOf" if edited else "inputTo",
                        "label": f"input-{i}",
                    },
                    "image/png",
                    io.BytesIO(_png(image)),
                )
            out = io.BytesIO()
            builder.sign(signer, mime, io.BytesIO(png), out)
    except c2pa.C2paError as e:
        raise ProvenanceError(f"cannot sign a C2PA manifest with the key from {key.source}: {e}") from None
    return out.getvalue()


@dataclass(frozen=True)
class ManifestReport:
    state: str  # "valid", "tampered" or "absent"
    signer: str = ""  # the signing certificate's common name
    trusted: bool = False  # on c2pa's trust list (a generated local key never is)
    generator: str = ""
    operation: str = ""
    model: str = ""
    inputs: int = 0
    problems: tuple[str, ...] = field(default=())  # c2pa failure codes (tampered)

    def describe(self) -> str:
        if self.state == "absent":
            return "absent (no C2PA manifest in the file)"
        if self.state == "tampered":
            if self.problems and self.problems[0].startswith(UNPARSABLE):
                return (
                    f"TAMPERED or damaged: c2pa cannot parse the file ({self.problems[0][len(UNPARSABLE) :]})"
                )
            return "TAMPERED: the manifest does not match the file (" + ", ".join(self.problems) + ")"
        trust = "on a trust list" if self.trusted else "its certificate is on no trust list (a local key)"
        what = f"{self.operation} by {self.generator} with model {self.model!r}"
        inputs = f", from {self.inputs} input image{'s' if self.inputs != 1 else ''}" if self.inputs else ""
        return f"valid: {what}{inputs}; signed by {self.signer!r}, {trust}"


def read_manifest(png: bytes) -> ManifestReport:
    """Validate the manifest in ``png`` with c2pa's reader: valid, tampered (a failed check) or absent."""
    c2pa = _c2pa()
    try:
        with c2pa.Reader("image/png", io.BytesIO(png)) as reader:
            results = reader.get_validation_results() or {}
            manifest = reader.get_active_manifest() or {}
    except c2pa.C2paError.ManifestNotFound:
        return ManifestReport("absent")
    except c2pa.C2paError as e:
        return ManifestReport("tampered", problems=(f"{UNPARSABLE}{e}",))
    failures = [f.get("code", "?") for f in (results.get("activeManifest") or {}).get("failure", [])]
    problems = tuple(code for code in failures if code != UNTRUSTED)
    ours: dict[str, Any] = next(
        (a["data"] for a in manifest.get("assertions", []) if a.get("label") == ASSERTION), {}
    )
    generator = ", ".join(g.get("name", "?") for g in manifest.get("claim_generator_info", [])[:1]) or "?"
    return ManifestReport(
        state="tampered" if problems else "valid",
        signer=str((manifest.get("signature_info") or {}).get("common_name", "")),
        trusted=not failures,
        generator=generator,
        operation=str(ours.get("operation", "")),
        model=str(ours.get("model", "")),
        inputs=int(ours.get("inputs", 0) or 0),
        problems=problems,
    )


def manifest_json(png: bytes) -> str:
    """The full manifest store as c2pa reports it (for ``unclip verify --json``)."""
    c2pa = _c2pa()
    with c2pa.Reader("image/png", io.BytesIO(png)) as reader:
        return json.dumps(json.loads(reader.json()), indent=2)
