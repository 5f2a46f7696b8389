"""The HTTP API (FastAPI) over a :class:`~autoencoders.serving.service.ModelService`.

Each model endpoint takes its samples as JSON (``{"inputs": [...]}``), as one raw PNG
(``Content-Type: image/png``) or as PNG uploads (``multipart/form-data``, field
``images``), and answers JSON, or a PNG with ``?format=png``. A client's mistake is a
4xx with ``{"detail": "<one line>"}``: 400 a malformed upload or a model that cannot
do this, 413 a body over the size limit, 415 an unknown content type, 422 invalid
values or shapes, or more samples than the batch limit.
"""

from __future__ import annotations

import json
import math

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from autoencoders import __version__
from autoencoders.errors import AutoencodersError, DataError
from autoencoders.serving.schemas import (
    CodesRequest,
    CodesResponse,
    ErrorResponse,
    HealthResponse,
    InputsRequest,
    OutputFormat,
    OutputsResponse,
    SampleRequest,
    ScoreResponse,
)
from autoencoders.serving.service import (
    MAX_ABS,
    ModelService,
    NotVariationalError,
)

JSON, PNG, MULTIPART = "application/json", "image/png", "multipart/form-data"
ERRORS = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in (
        (400, "A malformed upload, or something this model cannot do."),
        (413, "The body is larger than the server takes."),
        (415, "A content type other than those documented."),
        (422, "Invalid values or shapes, or more samples than the server takes at once."),
    )
}
PNG_CONTENT = {PNG: {"schema": {"type": "string", "format": "binary"}}}


def create_app(service: ModelService, *, explorer_html: str) -> FastAPI:
    """The app for one loaded model; ``explorer_html`` is the page served at ``/``."""
    app = FastAPI(
        title="autoencoders model server",
        version=__version__,
        summary=f"A {service.describe()['model']} autoencoder: encode, decode, reconstruct, "
        "score (anomaly) and, for variational models, sample.",
        docs_url=None,  # Swagger UI loads its scripts from a CDN; the schema is /openapi.json
        redoc_url=None,
    )
    app.add_middleware(BodyLimit, max_bytes=service.limits.max_request_bytes)
    _add_error_handlers(app)
    bodies = _bodies(service)

    @app.get("/health", response_model=HealthResponse, summary="The model and the server's limits.")
    async def health() -> dict:
        return service.describe()

    @app.post(
        "/encode",
        response_model=CodesResponse,
        responses=ERRORS,
        openapi_extra=bodies["samples"],
        summary="Encode samples: one flat code per sample.",
    )
    async def encode(request: Request) -> Response:
        X = await _read_samples(request, service)
        codes = await run_in_threadpool(service.encode, X)
        return JSONResponse({"codes": codes.tolist()})

    @app.post(
        "/decode",
        response_model=OutputsResponse,
        responses=ERRORS | {200: {"content": PNG_CONTENT}},
        openapi_extra=bodies["codes"],
        summary="Decode codes back to the data's space.",
    )
    async def decode(request: Request, format: OutputFormat = "json") -> Response:
        codes = service.codes(_parse(CodesRequest, await _json(request)).codes)
        return _outputs(service, await run_in_threadpool(service.decode, codes), format)

    @app.post(
        "/reconstruct",
        response_model=OutputsResponse,
        responses=ERRORS | {200: {"content": PNG_CONTENT}},
        openapi_extra=bodies["samples"],
        summary="Reconstruct samples (a denoising model also cleans them up).",
    )
    async def reconstruct(request: Request, format: OutputFormat = "json") -> Response:
        X = await _read_samples(request, service)
        return _outputs(service, await run_in_threadpool(service.reconstruct, X), format)

    @app.post(
        "/score",
        response_model=ScoreResponse,
        responses=ERRORS,
        openapi_extra=bodies["samples"],
        summary="Anomaly scores (higher is more anomalous) and flags above the threshold.",
    )
    async def score(request: Request) -> Response:
        X = await _read_samples(request, service)
        return JSONResponse(await run_in_threadpool(service.score, X))

    @app.post(
        "/sample",
        response_model=OutputsResponse,
        responses=ERRORS | {200: {"content": PNG_CONTENT}},
        openapi_extra=bodies["sample"],
        summary="Draw new samples from a variational model's prior.",
        include_in_schema=service.variational,  # other models answer 400
    )
    async def sample(request: Request, format: OutputFormat = "json") -> Response:
        body = _parse(SampleRequest, await _json(request))
        n = service.sample_count(body.n)
        return _outputs(service, await run_in_threadpool(service.sample, n, body.seed), format)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def explorer() -> HTMLResponse:
        return HTMLResponse(explorer_html)

    return app


# ----------------------------------------------------------------------- requests
async def _read_samples(request: Request, service: ModelService):
    media = _media_type(request)
    if media == JSON:
        return service.samples(_parse(InputsRequest, await request.body()).inputs)
    if media == PNG:
        return service.images([await request.body()])
    if media == MULTIPART:
        limit = service.limits.max_batch
        async with request.form(max_files=limit, max_fields=limit) as form:
            uploads = form.getlist("images")
            if not uploads or not all(isinstance(u, UploadFile) for u in uploads):
                raise DataError("multipart body: attach the images as files in the field 'images'")
            return service.images([await upload.read() for upload in uploads])
    raise HTTPException(
        415, f"content type {media or '(none)'!r}: use {JSON}, {PNG} or {MULTIPART}"
    )


async def _json(request: Request) -> bytes:
    media = _media_type(request)
    if media != JSON:
        raise HTTPException(415, f"content type {media or '(none)'!r}: use {JSON}")
    return await request.body()


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _parse(model: type[BaseModel], body: bytes):
    """Validate a JSON body; the first problem as one line, e.g. ``inputs[0][3]: …``."""
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        raise DataError(_first_problem(error.errors())) from None


def _first_problem(errors: list[dict]) -> str:
    first = errors[0]
    # Union members appear in the location as their type names ("list[float]"); skip them.
    parts = [p for p in first["loc"] if not (isinstance(p, str) and "[" in p)]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")
    return f"{where or 'body'}: {first['msg']}"


def _outputs(service: ModelService, outputs, format: str) -> Response:
    if format == "png":
        return Response(service.to_png(outputs), media_type=PNG)
    return JSONResponse({"outputs": outputs.tolist()})


def _bodies(service: ModelService) -> dict[str, dict]:
    """The request bodies' OpenAPI entries, exact for this model: its shapes, its limits."""
    most = service.limits.max_batch
    shapes = [(math.prod(service.input_shape),), service.input_shape]
    if service.images_in and service.input_shape[0] == 1:
        shapes.append(service.input_shape[1:])  # (H, W) for a gray image
    samples = {"anyOf": [_nested(shape) for shape in dict.fromkeys(shapes)]}
    inputs = _schema(InputsRequest, "inputs", items=samples, maxItems=most)
    codes = _schema(CodesRequest, "codes", items=_nested((service.code_size,)), maxItems=most)
    sample = _schema(SampleRequest, "n", maximum=most)
    uploads = {
        "type": "object",
        "properties": {
            "images": {
                "type": "array",
                "items": {"type": "string", "format": "binary"},
                "minItems": 1,
                "maxItems": most,
            }
        },
        "required": ["images"],
    }
    samples_body = {
        "description": "JSON samples, one PNG image as the body, or PNG files in the multipart "
        "field 'images'. Images must have the model's size; their pixels (0-255) are read as "
        "the training images' range.",
        "required": True,
        "content": {JSON: {"schema": inputs}} | PNG_CONTENT | {MULTIPART: {"schema": uploads}},
    }
    return {
        "samples": {"requestBody": samples_body},
        "codes": {"requestBody": {"required": True, "content": {JSON: {"schema": codes}}}},
        "sample": {"requestBody": {"required": True, "content": {JSON: {"schema": sample}}}},
    }


def _schema(model: type[BaseModel], field: str, **constraints) -> dict:
    schema = model.model_json_schema()
    schema["properties"][field] |= constraints
    return schema


def _nested(shape: tuple[int, ...]) -> dict:
    """Nested arrays of exactly ``shape`` numbers."""
    schema: dict = {"type": "number", "minimum": -MAX_ABS, "maximum": MAX_ABS}
    for size in reversed(shape):
        schema = {"type": "array", "items": schema, "minItems": size, "maxItems": size}
    return schema


# ------------------------------------------------------------------------- errors
def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AutoencodersError)
    async def user_error(request: Request, error: AutoencodersError) -> JSONResponse:
        status = 400 if isinstance(error, NotVariationalError) else 422
        return JSONResponse({"detail": str(error)}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _first_problem(error.errors())}, status_code=422)


class BodyLimit:
    """ASGI middleware: a body over ``max_bytes`` is refused with 413 before it is all read.

    A declared Content-Length over the limit is refused at once; a chunked body is
    counted as it arrives and cut off when it passes the limit.
    """

    def __init__(self, app, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _send_json(send, 413, self._message())
            return
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self._message())
            return message

        await self.app(scope, limited_receive, send)

    def _message(self) -> str:
        return f"request body over {self.max_bytes} bytes; send fewer samples per request"


async def _send_json(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
