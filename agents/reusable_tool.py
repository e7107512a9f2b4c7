"""AutoGen function tools whose pydantic models and JSON schemas are built once per process.

Every agent turn builds its team afresh: the tools are closures over that turn's ticket, ledger and
log. AutoGen's `FunctionTool` builds a pydantic model from the function's signature each time one is
constructed, and the JSON schema from that model each time an agent lists its tools (every model
call). For six agents with their handoffs that is dozens of models per turn, about a tenth of the
worker's CPU per ticket in `bench throughput`. The signatures never change, so both are cached here,
keyed by what they are derived from (tool name and signature; model, name, description, strictness).
Resolving the signature's string annotations (``typing.get_type_hints``) is cached the same way,
keyed by the function's code, module and annotations.
"""

from __future__ import annotations

import copy
import functools
import inspect
import threading
import typing
from collections.abc import Callable, Hashable
from typing import Any

from autogen_agentchat.base import Handoff
from autogen_core._function_utils import args_base_model_from_signature
from autogen_core.tools import BaseTool, FunctionTool, ToolSchema
from pydantic import BaseModel

_lock = threading.Lock()
_args_models: dict[tuple[str, str], type[BaseModel]] = {}
_schemas: dict[tuple[type[BaseModel], str, str, bool], ToolSchema] = {}
_type_hints: dict[Hashable, dict[str, Any]] = {}


def _resolved_hints(func: Callable[..., Any]) -> dict[str, Any]:
    """``typing.get_type_hints(func)``, computed once per function definition.

    A closure defined again for each turn has the same code, module and annotation strings each time,
    and those are all the hints depend on. Unhashable annotations skip the cache.
    """
    annotations = getattr(func, "__annotations__", {})
    try:
        key: Hashable = (func.__code__, id(func.__globals__), tuple(annotations.items()))
        hash(key)
    except (AttributeError, TypeError):
        return typing.get_type_hints(func, include_extras=True)
    with _lock:
        hints = _type_hints.get(key)
    if hints is None:
        hints = typing.get_type_hints(func, include_extras=True)
        with _lock:
            hints = _type_hints.setdefault(key, hints)
    return hints


def _typed_signature(call: Callable[..., Any]) -> inspect.Signature:
    """autogen_core's ``get_typed_signature`` (signature with resolved annotations), hints cached."""
    signature = inspect.signature(call)
    hints = _resolved_hints(call.func if isinstance(call, functools.partial) else call)
    params = [
        inspect.Parameter(name=p.name, kind=p.kind, default=p.default, annotation=hints[p.name])
        for p in signature.parameters.values()
    ]
    return inspect.Signature(params, return_annotation=hints.get("return", inspect.Signature.empty))


def _args_model(name: str, signature: inspect.Signature) -> type[BaseModel]:
    key = (name, str(signature))
    with _lock:
        model = _args_models.get(key)
    if model is None:
        model = args_base_model_from_signature(name + "args", signature)
        with _lock:
            model = _args_models.setdefault(key, model)
    return model


class ReusableFunctionTool(FunctionTool):
    """A `FunctionTool` that reuses the argument model and schema of earlier tools with the same
    name and signature. Behaves exactly like `FunctionTool` otherwise (tests compare the two)."""

    def __init__(self, func: Callable[..., Any], description: str, name: str | None = None, strict: bool = False):
        # FunctionTool.__init__ minus the per-instance model build (autogen-core 0.7).
        self._func = func
        self._global_imports = []
        self._signature = _typed_signature(func)
        func_name = name or (func.func.__name__ if isinstance(func, functools.partial) else func.__name__)
        self._has_cancellation_support = "cancellation_token" in self._signature.parameters
        BaseTool.__init__(
            self, _args_model(func_name, self._signature), self._signature.return_annotation, func_name,
            description, strict,
        )  # fmt: skip

    @property
    def schema(self) -> ToolSchema:
        key = (self._args_type, self._name, self._description, self._strict)
        with _lock:
            cached = _schemas.get(key)
        if cached is None:
            cached = super().schema
            with _lock:
                _schemas[key] = cached
        # Callers may adjust the schema they get (model clients do); never hand out the cached one.
        return copy.deepcopy(cached)


class ReusableHandoff(Handoff):
    """`Handoff` whose tool is a `ReusableFunctionTool` (AutoGen builds one per agent per turn)."""

    @property
    def handoff_tool(self) -> BaseTool[BaseModel, BaseModel]:
        message = self.message

        def _handoff_tool() -> str:
            return message

        return ReusableFunctionTool(_handoff_tool, name=self.name, description=self.description, strict=True)
