"""The codec endpoint: Temporal's remote codec protocol, so an authorised operator reads (and the UI
can write) encrypted payloads: `POST /codec/decode` and `POST /codec/encode`, each a JSON
`{"payloads": [{"metadata": {"encoding": "<base64>", ...}, "data": "<base64>"}, ...]}` answered in kind.

Point the Temporal UI at `http://<api>/codec` (the local stack does: `--ui-codec-endpoint`), or the CLI:
`temporal workflow show -w ticket-… --codec-endpoint http://<api>/codec --codec-auth "Bearer $CODEC_KEY"`.

Its own auth, not the API's: `Authorization: Bearer <CODEC_KEY>` (a key that decrypts every payload is
no integration's or agent's business). CODEC_KEY unset: open only while the whole API is (the local
stack), refused otherwise. CORS for CODEC_CORS_ORIGINS (the UI's origin), with the OPTIONS preflight.

A payload that cannot be decrypted (its customer was erased: the data key is gone) is answered as it
came, still encrypted: the UI shows the rest of the history. Decoding reads data keys from the database
every time (no cache): an erasure anywhere takes effect here at once.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from clients import codec_of
from codec.keys import CodecKeyError
from codec.payload import EncryptionCodec
from settings import Settings

router = APIRouter(prefix="/codec", tags=["codec"])
log = logging.getLogger("api.codec")
_ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"


def _cors(request: Request, settings: Settings) -> dict[str, str]:
    origin = request.headers.get("origin")
    if origin is None or origin not in settings.CODEC_CORS_ORIGINS:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": _ALLOWED_HEADERS,
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


def _error(status: int, code: str, message: str, headers: dict[str, str]) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}}, headers=headers)


def _same(a: str, b: str) -> bool:
    return secrets.compare_digest(hashlib.sha256(a.encode()).digest(), hashlib.sha256(b.encode()).digest())


def _refusal(request: Request, settings: Settings, headers: dict[str, str]) -> JSONResponse | None:
    if settings.CODEC_KEY is None:
        if settings.API_KEY is None and not settings.AGENT_KEYS:
            return None  # the local stack: the API is open, so is this
        return _error(403, "codec_disabled", "the codec endpoint needs CODEC_KEY to be set", headers)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not _same(token.strip(), settings.CODEC_KEY.get_secret_value()):
        return _error(401, "unauthorized", "Authorization: Bearer <CODEC_KEY> required", headers)
    return None


async def _payloads(request: Request) -> list[Payload] | None:
    try:
        message = json_format.Parse(await request.body(), Payloads())
    except (json_format.ParseError, UnicodeDecodeError, ValueError):
        return None
    return list(message.payloads)


def _answer(payloads: list[Payload], headers: dict[str, str]) -> JSONResponse:
    content: dict[str, Any] = json_format.MessageToDict(Payloads(payloads=payloads))
    content.setdefault("payloads", [])
    return JSONResponse(content=content, headers=headers)


async def _handle(request: Request, decode: bool) -> Response:
    settings: Settings = request.app.state.settings
    headers = _cors(request, settings)
    refused = _refusal(request, settings, headers)
    if refused is not None:
        return refused
    codec = codec_of(request.app.state.temporal)
    if codec is None:
        return _error(409, "codec_off", "PAYLOAD_ENCRYPTION is off: payloads are not encrypted", headers)
    payloads = await _payloads(request)
    if payloads is None:
        return _error(400, "malformed_payloads", 'expected {"payloads": [{"metadata": {…}, "data": "…"}]}', headers)
    if not decode:
        return _answer(await codec.encode(payloads), headers)
    return _answer(await _decode_each(codec.fresh_reads(), payloads), headers)


async def _decode_each(codec: EncryptionCodec, payloads: list[Payload]) -> list[Payload]:
    out = []
    for p in payloads:
        try:
            [decoded] = await codec.decode([p])
        except CodecKeyError as e:  # destroyed (erased customer), or a key this deployment never had
            log.info("codec endpoint: payload left encrypted: %s", e)
            decoded = p
        out.append(decoded)
    return out


@router.post("/decode", summary="Decrypt payloads (Temporal remote codec)")
async def decode(request: Request) -> Response:
    return await _handle(request, decode=True)


@router.post("/encode", summary="Encrypt payloads (Temporal remote codec)")
async def encode(request: Request) -> Response:
    return await _handle(request, decode=False)


@router.options("/decode", include_in_schema=False)
@router.options("/encode", include_in_schema=False)
async def preflight(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    headers = _cors(request, settings)
    return Response(status_code=204 if headers else 403, headers=headers)
