"""Dependencies: Temporal client, Postgres pool and settings, built once at start-up (main.lifespan)."""

from __future__ import annotations

import secrets
from typing import Annotated

import asyncpg
from fastapi import Depends, Header, Request
from temporalio.client import Client

from api.errors import ApiError
from settings import Settings


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_temporal(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


def get_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]


def require_api_key(settings: SettingsDep, authorization: Annotated[str | None, Header()] = None) -> None:
    """When API_KEY is set, every call must carry `Authorization: Bearer <API_KEY>`."""
    if settings.API_KEY is None:
        return
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(token.strip(), settings.API_KEY):
        raise ApiError(401, "unauthorized", "missing or wrong API key (Authorization: Bearer <key>)")
