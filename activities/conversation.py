"""One AutoGen agent turn. The agents are rebuilt on every call from the transcript the workflow owns.

Provider failures are translated for Temporal here: a rate limit, a 5xx or a dropped connection is a
retryable `ApplicationError` (honouring the provider's Retry-After), so the activity is retried with
the workflow's backoff; a bad key, an unknown model, an exhausted quota or a request the provider
rejects is `ModelConfigError`, non-retryable, so the ticket fails visibly instead of retrying for
half an hour. The worker's secrets never end up in an error message.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

import asyncpg
import openai
from autogen_core.models import ChatCompletionClient
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.actions import PgActionLedger
from agents.model_client import model_name_of
from agents.sandbox import SandboxedPythonExecutor
from agents.team import run_turn
from domain.models import KbHit
from domain.turns import TurnOutcome, TurnRequest
from kb.index import KnowledgeBase

MODEL_CONFIG_ERROR = "ModelConfigError"  # listed as non-retryable in the workflow's LLM retry policy
MODEL_UNAVAILABLE_ERROR = "ModelUnavailableError"
MAX_RETRY_AFTER = timedelta(minutes=5)
_SECRET = re.compile(r"(sk-|lsk_)[A-Za-z0-9_*.-]{4,}|(?i:bearer\s+)[A-Za-z0-9_.-]{8,}")


def _clean(text: str) -> str:
    return _SECRET.sub("[redacted]", text)[:500]


def _retry_after(err: openai.APIStatusError) -> timedelta | None:
    raw = err.response.headers.get("retry-after") if err.response is not None else None
    try:
        seconds = float(raw) if raw is not None else None
    except ValueError:
        return None
    return None if seconds is None or seconds < 0 else min(timedelta(seconds=seconds), MAX_RETRY_AFTER)


def model_error(err: BaseException) -> ApplicationError | None:
    """The `ApplicationError` Temporal should see for a provider exception; None if it isn't one."""
    if isinstance(err, openai.APIStatusError):
        status = err.status_code
        code = str(getattr(err, "code", "") or "")
        what = f"model provider answered HTTP {status}{f' ({code})' if code else ''}: {_clean(err.message)}"
        if status == 429 and code == "insufficient_quota":
            return ApplicationError(
                f"{what}; add credit or change the key", type=MODEL_CONFIG_ERROR, non_retryable=True
            )
        if status in (408, 409, 429) or status >= 500:
            return ApplicationError(what, type=MODEL_UNAVAILABLE_ERROR, next_retry_delay=_retry_after(err))
        hint = {
            401: "check the API key",
            403: "the key may not use this model",
            404: "check MODEL_NAME (or the Azure deployment) and the base URL",
        }.get(status, "the provider rejected the request")
        return ApplicationError(f"{what}; {hint}", type=MODEL_CONFIG_ERROR, non_retryable=True)
    if isinstance(err, openai.APIConnectionError):  # includes timeouts
        return ApplicationError(
            f"model provider unreachable: {_clean(str(err))}", type=MODEL_UNAVAILABLE_ERROR, non_retryable=False
        )
    if isinstance(err, openai.OpenAIError):  # e.g. a missing key detected by the SDK itself
        return ApplicationError(
            f"model client misconfigured: {_clean(str(err))}", type=MODEL_CONFIG_ERROR, non_retryable=True
        )
    return None


HEARTBEAT_EVERY_S = 2.0


class ConversationActivities:
    def __init__(
        self,
        model_client: ChatCompletionClient,
        kb: KnowledgeBase,
        pool: asyncpg.Pool | None = None,
        *,
        code_execution: bool = False,
        scratch_dir: Path | None = None,
    ) -> None:
        """`pool` enables the refund, credit and bug-report tools (the ledger lives in Postgres);
        `code_execution` gives the TechnicalAgent a sandboxed Python (scratch under `scratch_dir`)."""
        self._model_client = model_client
        self._model_name = model_name_of(model_client)
        self._kb = kb
        self._ledger = PgActionLedger(pool) if pool is not None else None
        root = scratch_dir or Path("data") / "scratch"
        self._executor = SandboxedPythonExecutor(root) if code_execution else None

    async def _search(self, query: str, limit: int, product: str | None) -> list[KbHit]:
        return await self._kb.search(query, limit=limit, product=product, include_shared=True)

    @activity.defn(name="conversation.run_agent_turn")
    async def run_agent_turn(self, req: TurnRequest) -> TurnOutcome:
        # Heartbeat while the model works, so a worker killed mid-turn is noticed within the workflow's
        # heartbeat timeout instead of the whole start-to-close budget.
        beating = asyncio.create_task(_heartbeat_until_cancelled())
        try:
            return await run_turn(
                req,
                model_client=self._model_client,
                kb_search=self._search,
                ledger=self._ledger,
                code_executor=self._executor,
                model_name=self._model_name,
            )
        except Exception as err:
            mapped = model_error(err)
            if mapped is None:
                raise
            raise mapped from None  # the raw provider error may quote request details
        finally:
            beating.cancel()


async def _heartbeat_until_cancelled(every: float = HEARTBEAT_EVERY_S) -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(every)
