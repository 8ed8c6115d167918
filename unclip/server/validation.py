"""Request fields -> typed parameters, with OpenAI's rules and error bodies (see /work/shared/API.md).

JSON bodies (generations) and multipart forms (edits, variations) share one set of field rules; the
only differences are that multipart values arrive as strings and that uploads are files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from unclip.server.errors import APIError, invalid, missing
from unclip.utils.checks import unpaired_surrogate

MAX_PROMPT_CHARS = 1000
MAX_N = 10
SIZES = {"256x256": 256, "512x512": 512, "1024x1024": 1024}
RESPONSE_FORMATS = ("url", "b64_json")
# Parameters of newer image models: valid OpenAI fields, but not for dall-e-2.
NEWER_MODEL_PARAMS = frozenset(
    {
        "background",
        "moderation",
        "output_compression",
        "output_format",
        "style",
        "input_fidelity",
        "input_fidelity_level",
    }
)
COMMON_FIELDS = frozenset({"model", "n", "size", "response_format", "user"})
# streaming (OpenAI's `stream`, `partial_images`; on variations an unclip extension) and unclip's `seed`
STREAM_FIELDS = frozenset({"stream", "partial_images", "seed"})
FIELDS = {
    "generations": COMMON_FIELDS | STREAM_FIELDS | {"prompt", "quality"},
    "edits": COMMON_FIELDS | STREAM_FIELDS | {"prompt", "image", "mask", "quality", "outpaint"},
    "variations": COMMON_FIELDS | STREAM_FIELDS | {"image"},
}
MAX_PARTIAL_IMAGES = 3
MAX_SEED = 2**64 - 1
_INT_RE = re.compile(r"^[+-]?\d+$")


@dataclass
class Common:
    n: int
    size: int
    size_label: str
    response_format: str
    user: str | None


def check_field_names(names: list[str], endpoint: str) -> None:
    """Newer-model params and unknown params are 400s naming the param."""
    allowed = FIELDS[endpoint]
    for name in names:
        if name in allowed:
            continue
        if name in NEWER_MODEL_PARAMS:
            raise invalid(name, f"The '{name}' parameter is not supported with dall-e-2.")
        raise invalid(name, f"Unrecognized request argument supplied: {name}")


def _type_error(value: Any, kind: str, param: str) -> APIError:
    return invalid(param, f"{value!r} is not of type '{kind}' - '{param}'")


class LongNumber:
    """A JSON integer with more digits than any valid field value has (`bounded_json_int`). Not an
    int nor a str, so every field's type check refuses it."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"{self.text[:12]}... ({len(self.text)} characters)"


MAX_NUMBER_DIGITS = 30


def bounded_json_int(text: str) -> int | LongNumber:
    """`json.loads(parse_int=...)`: Python refuses to convert integers of more than 4,300 digits (a
    ValueError that would be a 500), and huge ones cost time; such numbers stay text, and every
    field rejects them by name."""
    return int(text) if len(text) <= MAX_NUMBER_DIGITS else LongNumber(text)


def _too_long(text: str, param: str) -> APIError:
    digits = sum(c.isdigit() for c in text)
    return invalid(
        param, f"{text.strip()[:12]}... ({digits} digits) is not a valid {param!r}: too many digits."
    )


def parse_int(value: Any, param: str, from_form: bool) -> int:
    if isinstance(value, LongNumber):
        raise _too_long(value.text, param)
    if from_form:
        if not isinstance(value, str) or not _INT_RE.match(value.strip()):
            raise _type_error(value, "integer", param)
        if len(value.strip()) > MAX_NUMBER_DIGITS:
            raise _too_long(value, param)
        return int(value.strip())
    if isinstance(value, bool):
        raise _type_error(value, "integer", param)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, int):
        raise _type_error(value, "integer", param)
    return value


@dataclass
class Streaming:
    stream: bool  # answer with server-sent events (streaming.py)
    partial_images: int  # 0..3
    seed: int | None  # unclip's extension: the same request with the same seed gives the same images


def parse_bool(value: Any, param: str, from_form: bool) -> bool:
    if not from_form and isinstance(value, bool):
        return value
    if from_form and isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise _type_error(value, "boolean", param)


def parse_streaming(fields: dict[str, Any], common: Common, from_form: bool) -> Streaming:
    """`stream`, `partial_images` (0..3, with `stream` only) and `seed` (0..2**64-1). A stream's images
    arrive as b64_json in its events, so `response_format` "url" cannot be streamed."""
    stream = False if fields.get("stream") is None else parse_bool(fields["stream"], "stream", from_form)
    partial_raw = fields.get("partial_images")
    partial_images = 0 if partial_raw is None else parse_int(partial_raw, "partial_images", from_form)
    if not 0 <= partial_images <= MAX_PARTIAL_IMAGES:
        raise invalid(
            "partial_images",
            f"{partial_images} is not a valid 'partial_images': it must be from 0 to {MAX_PARTIAL_IMAGES}.",
        )
    if partial_raw is not None and not stream:
        raise invalid("partial_images", "'partial_images' can only be given with 'stream': true.")
    if stream and fields.get("response_format") == "url":
        raise invalid(
            "response_format",
            "A stream returns its images as b64_json: 'response_format' 'url' cannot stream.",
        )
    seed_raw = fields.get("seed")
    seed = None if seed_raw is None else parse_int(seed_raw, "seed", from_form)
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise invalid("seed", f"{seed} is not a valid 'seed': it must be a whole number from 0 to 2**64 - 1.")
    return Streaming(stream, partial_images, seed)


def parse_outpaint(value: Any) -> bool:
    """unclip's own `outpaint` form field of edits (not in OpenAI's API; the web editor sends it):
    "true" when the transparent area extends the picture past its borders, so the model's outpainting
    method fills it. Absent: false."""
    if value is None:
        return False
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise _type_error(value, "boolean", "outpaint")


def parse_prompt(value: Any) -> str:
    if value is None:
        raise missing("prompt")
    if not isinstance(value, str):
        raise _type_error(value, "string", "prompt")
    if not value.strip():
        raise invalid("prompt", "'prompt' must not be empty.")
    if unpaired_surrogate(value) is not None:
        raise invalid(
            "prompt",
            "'prompt' is not valid Unicode text: it contains an unpaired surrogate "
            "(a \\ud800-\\udfff escape that is not half of a pair).",
        )
    if len(value) > MAX_PROMPT_CHARS:
        raise invalid(
            "prompt", f"'prompt' is too long: {len(value)} characters; the maximum is {MAX_PROMPT_CHARS}."
        )
    return value


def parse_model(value: Any, model_id: str) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise _type_error(value, "string", "model")
    if value not in (model_id, "dall-e-2"):
        raise invalid("model", f"Invalid model '{value}': this server serves '{model_id}'.")


def parse_common(
    fields: dict[str, Any], *, from_form: bool, model_id: str, default_size: str, max_size: int
) -> Common:
    """model, n, size, response_format, user, quality. `None` (JSON null, or an empty form field) is the default."""
    parse_model(fields.get("model"), model_id)

    n_raw = fields.get("n")
    n = 1 if n_raw is None else parse_int(n_raw, "n", from_form)
    if n < 1:
        raise invalid("n", f"{n} is less than the minimum of 1 - 'n'")
    if n > MAX_N:
        raise invalid("n", f"{n} is greater than the maximum of {MAX_N} - 'n'")

    size_label = fields.get("size")
    if size_label is None:
        size_label = default_size
    if not isinstance(size_label, str) or size_label not in SIZES:
        raise invalid("size", f"{size_label!r} is not one of {list(SIZES)} - 'size'")
    size = SIZES[size_label]
    if size > max_size:
        raise invalid(
            "size",
            f"size '{size_label}' is not supported by this server's model: the largest it makes is "
            f"{max_size}x{max_size}.",
        )

    response_format = fields.get("response_format")
    if response_format is None:
        response_format = "url"
    if not isinstance(response_format, str) or response_format not in RESPONSE_FORMATS:
        raise invalid(
            "response_format",
            f"{response_format!r} is not one of {list(RESPONSE_FORMATS)} - 'response_format'",
        )

    user = fields.get("user")
    if user is not None and not isinstance(user, str):
        raise _type_error(user, "string", "user")

    quality = fields.get("quality")
    if quality is not None and quality != "standard":
        if not isinstance(quality, str):
            raise _type_error(quality, "string", "quality")
        raise invalid(
            "quality", f"quality {quality!r} is not supported with dall-e-2; the only quality is 'standard'."
        )
    return Common(n, size, size_label, response_format, user)


def nulls_removed(fields: dict[str, Any]) -> dict[str, Any]:
    """JSON nulls of newer-model params are as good as absent (clients may serialize every field)."""
    return {k: v for k, v in fields.items() if not (v is None and k in NEWER_MODEL_PARAMS)}
