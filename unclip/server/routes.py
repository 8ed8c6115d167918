"""The HTTP endpoints: OpenAI's three image endpoints, models, image files, health and metrics."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import TYPE_CHECKING, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from PIL import Image
from starlette.datastructures import UploadFile

from unclip.provenance import Origin
from unclip.server import streaming
from unclip.server.auth import require_key
from unclip.server.batching import QueueClosed, QueueFull
from unclip.server.errors import (
    APIError,
    invalid,
    missing,
    rate_limited,
    server_error,
    shutting_down,
    storage_full,
)
from unclip.server.jobs import (
    EditWork,
    EngineFailure,
    GenerateWork,
    Refused,
    RunOptions,
    VaryWork,
    make_job,
)
from unclip.server.schemas import (
    EDIT_BODY,
    ERROR_RESPONSES,
    GENERATION_BODY,
    VARIATION_BODY,
    ImagesResponse,
    Model,
    ModelList,
)
from unclip.server.storage import StorageFull
from unclip.server.timing import recommended_size
from unclip.server.uploads import check_header, decode_png, encode_png, require_square, with_alpha
from unclip.server.validation import (
    Common,
    bounded_json_int,
    check_field_names,
    nulls_removed,
    parse_common,
    parse_outpaint,
    parse_prompt,
    parse_streaming,
)

if TYPE_CHECKING:
    from unclip.server.state import ServerState

router = APIRouter()
v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_key)], responses=ERROR_RESPONSES)
OPTIONAL_FORM_FIELDS = (
    "model",
    "n",
    "size",
    "response_format",
    "user",
    "quality",
    "outpaint",
    "stream",
    "partial_images",
    "seed",
)


def srv(request: Request) -> ServerState:
    return request.app.state.server  # type: ignore[no-any-return]


def rid(request: Request) -> str:
    return str(request.state.request_id)


def note(request: Request, **fields: Any) -> None:
    """Add fields to this request's log line."""
    request.scope.setdefault("state", {}).setdefault("log_fields", {}).update(fields)


# ---------------------------------------------------------------------- image endpoints
@v1.post(
    "/images/generations",
    response_model=ImagesResponse,
    openapi_extra=GENERATION_BODY,
    summary="Create images from a prompt",
)
async def create_image(request: Request) -> Response:
    s = srv(request)
    body = await _read_json(request)
    fields = nulls_removed(body)
    check_field_names(list(fields), "generations")
    prompt = parse_prompt(fields.get("prompt"))
    common = _common(s, fields, from_form=False)
    options = _options(request, parse_streaming(fields, common, from_form=False))
    note(request, kind="generate", n=common.n, size=common.size_label, response_format=common.response_format)
    await _refuse_if(request, await to_thread.run_sync(s.guard.check_prompt, prompt, rid(request)))
    await _check_room(s, common)
    await _admit(request, common.n)
    return await _answer(request, GenerateWork(prompt, common.size, options), common, _origin(s, "generate"))


@v1.post(
    "/images/edits",
    response_model=ImagesResponse,
    openapi_extra=EDIT_BODY,
    summary="Edit an image: regenerate its transparent (or masked) area from a prompt",
)
async def create_edit(request: Request) -> Response:
    s = srv(request)
    async with _form(request) as form:
        fields, files = await _form_fields(request, form, "edits")
    prompt = parse_prompt(fields.get("prompt"))
    common = _common(s, fields, from_form=True)
    outpaint = parse_outpaint(fields.get("outpaint"))
    options = _options(request, parse_streaming(fields, common, from_form=True))
    note(
        request,
        kind="edit",
        n=common.n,
        size=common.size_label,
        response_format=common.response_format,
        outpaint=outpaint,
    )
    if "image" not in files:
        raise missing("image")
    size = _header(s, files["image"], "image")
    require_square(size, "image")
    if "mask" in files:
        mask_size = _header(s, files["mask"], "mask")
        if mask_size != size:
            raise invalid(
                "mask",
                f"Invalid mask image - expected the size of the image "
                f"({size[0]}x{size[1]}), got {mask_size[0]}x{mask_size[1]} instead.",
            )
    image = await _decode(s, files["image"], "image", common.size)
    mask = await _decode(s, files["mask"], "mask", common.size) if "mask" in files else None
    if mask is None:
        image = with_alpha(image)
    await _refuse_if(request, await to_thread.run_sync(s.guard.check_prompt, prompt, rid(request)))
    await _refuse_if(request, await _check_upload(request, image))
    await _check_room(s, common)
    await _admit(request, common.n)
    work = EditWork(image, mask, prompt, common.size, outpaint, options)
    return await _answer(request, work, common, _origin(s, "outpaint" if outpaint else "edit", image))


@v1.post(
    "/images/variations",
    response_model=ImagesResponse,
    openapi_extra=VARIATION_BODY,
    summary="Create variations of an image",
)
async def create_variation(request: Request) -> Response:
    s = srv(request)
    async with _form(request) as form:
        fields, files = await _form_fields(request, form, "variations")
    common = _common(s, fields, from_form=True)
    options = _options(request, parse_streaming(fields, common, from_form=True))
    note(request, kind="vary", n=common.n, size=common.size_label, response_format=common.response_format)
    if "image" not in files:
        raise missing("image")
    require_square(_header(s, files["image"], "image"), "image")
    image = await _decode(s, files["image"], "image", common.size)
    await _refuse_if(request, await _check_upload(request, image))
    await _check_room(s, common)
    await _admit(request, common.n)
    return await _answer(request, VaryWork(image, common.size, options), common, _origin(s, "vary", image))


# ---------------------------------------------------------------------- models
def _model(s: ServerState) -> Model:
    return Model(id=s.settings.model_id, created=int(s.started_at), owned_by="unclip")


@v1.get("/models", response_model=ModelList, summary="List the served model")
async def list_models(request: Request) -> ModelList:
    return ModelList(data=[_model(srv(request))])


@v1.get("/models/{model_id}", response_model=Model, summary="Describe a model")
async def get_model(request: Request, model_id: str) -> Model:
    s = srv(request)
    if model_id != s.settings.model_id:
        raise APIError(404, f"The model '{model_id}' does not exist", param="model", code="model_not_found")
    return _model(s)


# ---------------------------------------------------------------------- files, health, metrics
@router.api_route("/images/{name}", methods=["GET", "HEAD"], include_in_schema=False)
async def image_file(request: Request, name: str) -> Response:
    s = srv(request)
    data = await to_thread.run_sync(s.store.read, name)
    if data is None:
        minutes = round(s.settings.url_ttl_s / 60)
        raise APIError(
            404,
            f"This image does not exist or has expired (image URLs are valid for {minutes} minutes).",
            code="image_not_found",
        ) from None
    max_age = int(s.store.expires_in(name))
    return Response(data, media_type="image/png", headers={"cache-control": f"private, max-age={max_age}"})


@router.get("/health", summary="Liveness and readiness (503 while shutting down)")
async def health(request: Request) -> JSONResponse:
    s = srv(request)
    device = getattr(s.engine, "device", None)
    body = {
        "status": "draining" if s.draining else "ok",
        "model": s.settings.model_id,
        "max_size": s.engine.max_size,
        "queue_depth": s.queue.depth,
        "busy": s.queue.busy,
        "safety": s.guard.health,  # "on" only when every check the policy enables runs; "degraded", "OFF"
        "safety_checks": s.guard.checks,  # per check: "on", "off (policy)", "WAIVED: <what is missing>"
        "safety_waived": s.guard.waived,
        "auth": s.keys.enabled,
        # for the editor: where to start, and what each size has cost here (null until a job of that size ran)
        "device": device,
        "recommended_size": recommended_size(device, s.engine.max_size),
        "sizes": s.metrics.size_times.report(s.engine.max_size),
    }
    return JSONResponse(body, status_code=503 if s.draining else 200)


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(request: Request) -> Response:
    s = srv(request)
    files, size = s.store.stats()
    s.metrics.stored_files.set(files)
    s.metrics.stored_bytes.set(size)
    s.metrics.queue_depth.set(s.queue.depth)
    data, content_type = s.metrics.render()
    return Response(data, media_type=content_type)


# ---------------------------------------------------------------------- helpers
def _common(s: ServerState, fields: dict[str, Any], from_form: bool) -> Common:
    return parse_common(
        fields,
        from_form=from_form,
        model_id=s.settings.model_id,
        default_size=s.settings.default_size,
        max_size=s.engine.max_size,
    )


async def _read_json(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise invalid(
            None, f"Invalid Content-Type header ({content_type or 'none'}), expected application/json."
        )
    raw = await request.body()
    try:
        body = json.loads(raw, parse_int=bounded_json_int)
    except (
        json.JSONDecodeError,
        UnicodeDecodeError,
        RecursionError,
    ):  # RecursionError: absurdly deep nesting
        body = None
    if not isinstance(body, dict):
        raise invalid(
            None,
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
            "using your HTTP library correctly. The API expects a JSON object as the payload.)",
        )
    return body


def _form(request: Request) -> Any:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "multipart/form-data":
        raise invalid(
            None,
            f"Invalid Content-Type header ({request.headers.get('content-type') or 'none'}), "
            "expected multipart/form-data.",
        )
    return request.form(max_files=4, max_fields=32)


async def _form_fields(request: Request, form: Any, endpoint: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Text fields (empty optional ones dropped) and uploaded files' bytes (read up to the size limit)."""
    limit = srv(request).settings.max_upload_bytes
    fields: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    items = list(form.multi_items())
    names = list(dict.fromkeys("image" if k == "image[]" else k for k, _ in items))
    check_field_names(names, endpoint)
    for key, value in items:
        name = "image" if key == "image[]" else key
        if name in ("image", "mask"):
            if name in files:
                raise invalid(name, f"Only one '{name}' can be given with dall-e-2.")
            if isinstance(value, UploadFile):
                files[name] = await value.read(limit)
            else:
                files[name] = str(value).encode()
        elif isinstance(value, UploadFile):
            raise invalid(name, f"'{name}' must be a text field, not a file.")
        elif value == "" and name in OPTIONAL_FORM_FIELDS:
            continue
        else:
            fields[name] = value
    return fields, files


def _header(s: ServerState, data: bytes, param: str) -> tuple[int, int]:
    return check_header(data, param, s.settings.max_upload_bytes, s.settings.max_upload_pixels)


async def _decode(s: ServerState, data: bytes, param: str, side: int) -> Image.Image:
    """Decode an upload and shrink it to the output size at once, in a worker thread; at most
    `upload_workers` uploads are decoded or checked at a time (each can be 64 MB while decoding)."""
    return await to_thread.run_sync(
        decode_png,
        data,
        param,
        s.settings.max_upload_bytes,
        s.settings.max_upload_pixels,
        side,
        limiter=s.upload_limiter,
    )


async def _check_upload(request: Request, image: Image.Image) -> APIError | None:
    s = srv(request)
    return await to_thread.run_sync(
        s.guard.check_image, image, "upload", rid(request), limiter=s.upload_limiter
    )


async def _refuse_if(request: Request, refusal: APIError | None) -> None:
    if refusal is not None:
        note(request, refusal=getattr(refusal, "refusal", None))
        raise refusal


async def _wait_disconnect(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


class ClientGone(Exception):
    pass


def _options(request: Request, parsed: Any) -> RunOptions | None:
    """The request's seed and streaming (None when it asks for neither: the engine is called as before)."""
    if parsed.seed is not None:
        note(request, seed=str(parsed.seed))
    if parsed.stream:
        note(request, stream=True, partial_images=parsed.partial_images)
    if parsed.seed is None and not parsed.stream:
        return None
    return RunOptions(parsed.seed, parsed.partial_images if parsed.stream else None)


async def _answer(
    request: Request, work: GenerateWork | EditWork | VaryWork, common: Common, origin: Origin
) -> Response:
    """Run the work and answer: one JSON body, or (`stream`) server-sent events (streaming.py)."""
    if work.options is None or work.options.partial_images is None:
        images = await _run(request, work, common.n)
        return await _respond(request, images, common, origin)
    s = srv(request)
    job = make_job(work, common.n, rid(request))
    reports = streaming.wire(job, s, common, origin)
    future = _submit(s, job)  # a full queue is a 429 before the stream starts
    return streaming.respond(request, s, job, future, reports, common, origin)


def _submit(s: ServerState, job: Any) -> Any:
    try:
        return s.queue.submit(job)
    except QueueFull as e:
        raise rate_limited(
            f"Rate limit reached: the server's queue is full ({e.depth} requests waiting). "
            f"Please try again in {e.retry_after_s}s.",
            e.retry_after_s,
        ) from None
    except QueueClosed:
        raise shutting_down() from None


async def _run(request: Request, work: GenerateWork | EditWork | VaryWork, n: int) -> list[Image.Image]:
    """Queue the work, wait for it (or for the client to leave, which cancels it)."""
    s = srv(request)
    job = make_job(work, n, rid(request))
    future = _submit(s, job)
    watcher = asyncio.ensure_future(_wait_disconnect(request))
    try:
        done, _ = await asyncio.wait({future, watcher}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        s.queue.cancel(job)
        raise
    finally:
        watcher.cancel()
    if future not in done:
        dropped = s.queue.cancel(job)
        request.state.outcome = "cancelled"
        note(request, cancelled="before start" if dropped else "while running")
        raise ClientGone()
    try:
        return future.result()  # type: ignore[no-any-return]
    except Refused as e:  # the pipeline's own content check
        err = s.guard.refusal(e.stage, e.category, e.score, rid(request))
        note(request, refusal=getattr(err, "refusal", None))
        raise err from None
    except EngineFailure:
        raise server_error(rid(request)) from None
    except QueueClosed:  # the shutdown deadline passed before the job finished
        raise shutting_down() from None


def _origin(s: ServerState, operation: str, *inputs: Image.Image) -> Origin:
    """What the C2PA manifests of this request's images say made them."""
    model = getattr(getattr(s.engine, "pipe", None), "model_name", None) or "unclip model"
    return Origin(operation, f"{model} (served as {s.settings.model_id})", inputs)


async def _respond(request: Request, images: list[Image.Image], common: Common, origin: Origin) -> Response:
    s = srv(request)
    await _refuse_if(request, await to_thread.run_sync(s.guard.check_outputs, images, rid(request)))
    base = s.settings.public_base_url or str(request.base_url)
    # only images the policy allowed are marked, signed and returned (a refused one is never encoded)
    try:
        data = await to_thread.run_sync(_encode_all, s, images, common, base.rstrip("/"), origin)
    except StorageFull as e:  # the live URLs (bytes) left no room after all: nothing was stored
        raise storage_full(e.retry_after_s, s.settings.url_ttl_s) from None
    note(request, images=len(data))
    await to_thread.run_sync(s.limits.record, getattr(request.state, "api_key", None), common.user, len(data))
    return JSONResponse({"created": int(time.time()), "data": data})


def _encode_all(
    s: ServerState, images: list[Image.Image], common: Common, base: str, origin: Origin
) -> list[dict[str, str]]:
    pngs = []
    for image in images:
        if image.size != (common.size, common.size):  # never return the wrong size
            image = image.resize((common.size, common.size), Image.Resampling.LANCZOS)
        pngs.append(s.provenance.png(image, origin) if s.provenance is not None else encode_png(image))
    if common.response_format == "b64_json":
        return [{"b64_json": base64.b64encode(png).decode("ascii")} for png in pngs]
    return [{"url": f"{base}/images/{name}"} for name in s.store.put_many(pngs)]  # all stored, or none


async def _admit(request: Request, images: int) -> None:
    """The key's rate limit and daily image quota (limits.py; shared by all processes with Redis)."""
    refusal = await to_thread.run_sync(
        srv(request).limits.admit, getattr(request.state, "api_key", None), images
    )
    if refusal is not None:
        raise rate_limited(refusal.message, refusal.retry_after_s)


async def _check_room(s: ServerState, common: Common) -> None:
    """Before any model work: `url` results need room for n more files among the unexpired ones."""
    if common.response_format == "url" and not await to_thread.run_sync(s.store.room_for, common.n):
        err = s.store.full_error(common.n)
        raise storage_full(err.retry_after_s, s.settings.url_ttl_s)
