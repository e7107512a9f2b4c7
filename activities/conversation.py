"""One AutoGen agent turn. The agents are rebuilt on every call from the transcript the workflow owns.

Model failures are handled here, by kind, and every one that ends the agents' part ends with a person
and its cause in the ticket's events: the activity then *returns* a `TurnOutcome` with decision
"escalate", the standard hand-over acknowledgement and the cause as `escalation_reason` (and `failure`
its kind), which the workflow records as it records any hand-over (no workflow change, replay-safe).

- A rate limit, a 5xx, a dropped connection or a timeout is a retryable `ApplicationError`
  (`ModelUnavailableError`, honouring the provider's Retry-After): Temporal backs off and retries,
  until the model has been failing for MODEL_FAILURE_BUDGET_S; then a person.
- Empty, cut-off or malformed answers are repaired inside the turn (agents.model_client), at most a
  few times; still unusable: a person at once (`ModelOutputError`).
- A bad key, an unknown model, an exhausted quota, a request the provider rejects (a context-length
  400) or one the model cannot take: a person at once.

The worker's secrets never end up in an error message.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import openai
from autogen_core.models import ChatCompletionClient
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.actions import PgActionLedger
from agents.closing_reply import confirmed_fix_turn
from agents.context import TicketContext
from agents.handoff_reply import compose_handoff
from agents.model_client import model_name_of
from agents.model_failures import ModelOutputError, ModelRejectedRequest
from agents.model_settings import DEFAULT_FAILURE_BUDGET_S, ModelLimits
from agents.prompts import ESCALATION_MANAGER
from agents.sandbox import SandboxedPythonExecutor
from agents.team import run_turn
from db.drafts import DraftPublisher
from domain.article_search import ArticleSearch
from domain.models import KbHit
from domain.turns import TurnOutcome, TurnRequest
from kb.index import KnowledgeBase
from triage.resolution import ConfirmationDetector, shared_confirmation_detector

MODEL_CONFIG_ERROR = "ModelConfigError"  # listed as non-retryable in the workflow's LLM retry policy
MODEL_UNAVAILABLE_ERROR = "ModelUnavailableError"
# TurnOutcome.failure: why the model's part ended with a person.
FAILURE_CONFIG, FAILURE_UNAVAILABLE, FAILURE_OUTPUT = "model_config", "model_unavailable", "model_output"
MAX_RETRY_AFTER = timedelta(minutes=5)
LLM_MAX_BACKOFF_S = 60  # workflows.types.LLM_RETRY: 1 s doubling, at most a minute
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
        confirmations: ConfirmationDetector | None = None,
    ) -> None:
        """`pool` enables the refund, credit and bug-report tools (the ledger lives in Postgres);
        `code_execution` gives the TechnicalAgent a sandboxed Python (scratch under `scratch_dir`);
        `confirmations`: the trained "that fixed it" detector (default: this process's, trained on first use)."""
        self._confirmations = confirmations
        self._model_client = model_client
        self._model_name = model_name_of(model_client)
        limits = getattr(model_client, "limits", None)
        self._failure_budget_s = (
            limits.failure_budget_s if isinstance(limits, ModelLimits) else DEFAULT_FAILURE_BUDGET_S
        )
        # The reply's drafts are published (NOTIFY, db/drafts.py) while a streaming model writes it.
        self._drafts_pool = pool if isinstance(limits, ModelLimits) and limits.streaming else None
        self._kb = kb
        self._ledger = PgActionLedger(pool) if pool is not None else None
        root = scratch_dir or Path("data") / "scratch"
        self._executor = SandboxedPythonExecutor(root) if code_execution else None

    async def _search(self, query: str, limit: int, product: str | None) -> list[KbHit]:
        return await self._kb.search(query, limit=limit, product=product, include_shared=True)

    @activity.defn(name="conversation.search_articles")
    async def search_articles(self, req: ArticleSearch) -> list[KbHit]:
        """A person's search from the console's reply box (ArticleSearchWorkflow): read-only."""
        return await self._kb.search(req.query, limit=req.limit, product=req.product, include_shared=True)

    def _confirms(self, text: str) -> bool:
        if self._confirmations is None:
            self._confirmations = shared_confirmation_detector()
        return self._confirmations.confirms(text)

    @activity.defn(name="conversation.run_agent_turn")
    async def run_agent_turn(self, req: TurnRequest) -> TurnOutcome:
        # "That fixed it" closes the ticket the same way for every model, without a model call.
        closing = await asyncio.to_thread(confirmed_fix_turn, req, self._confirms)
        if closing is not None:
            return closing
        info = activity.info()
        # How long the model has been failing this turn: since the first attempt was scheduled (on the
        # first attempt nothing has failed yet, however long the turn waited for a worker).
        failing_for = datetime.now(UTC) - info.scheduled_time if info.attempt > 1 else timedelta(0)
        if info.attempt > 1 and failing_for.total_seconds() >= self._failure_budget_s:
            # The previous attempts timed out or failed without saying why here: stop trying.
            tries = info.attempt - 1
            why = f"the model did not complete a turn in {_seconds(failing_for)} ({tries} attempt{'s' * (tries > 1)})"
            return to_a_person(req, FAILURE_UNAVAILABLE, why)
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
                drafts=self._drafts_for(req),
            )
        except ModelOutputError as err:
            what = f"the model's answers were unusable ({err.kind}): {_clean(str(err))}"
            return to_a_person(req, FAILURE_OUTPUT, what, err.prompt_tokens, err.completion_tokens)
        except ModelRejectedRequest as err:
            return to_a_person(req, FAILURE_CONFIG, f"the model cannot take this request: {_clean(str(err))}")
        except Exception as err:
            mapped = model_error(err)
            if mapped is None:
                raise
            if mapped.non_retryable:
                return to_a_person(req, FAILURE_CONFIG, mapped.message)
            # The next attempt would start after the provider's Retry-After, or the retry policy's backoff.
            backoff = timedelta(seconds=min(2 ** (info.attempt - 1), LLM_MAX_BACKOFF_S))
            waited = failing_for + (mapped.next_retry_delay or backoff)
            if waited.total_seconds() >= self._failure_budget_s:
                why = f"{mapped.message} (still failing after {_seconds(failing_for)}, attempt {info.attempt})"
                return to_a_person(req, FAILURE_UNAVAILABLE, why)
            raise mapped from None  # the raw provider error may quote request details
        finally:
            beating.cancel()

    def _drafts_for(self, req: TurnRequest) -> DraftPublisher | None:
        """This attempt's draft publisher: a retried turn's drafts are a new `turn`, so a listener starts over."""
        if self._drafts_pool is None:
            return None
        info = activity.info()
        turn = f"{(info.workflow_run_id or '')[:12]}.{info.activity_id}.{info.attempt}"
        return DraftPublisher(self._drafts_pool, req.ticket_id, turn)


def _seconds(delta: timedelta) -> str:
    return f"{int(delta.total_seconds())} s"


def to_a_person(
    req: TurnRequest, failure: str, cause: str, prompt_tokens: int = 0, completion_tokens: int = 0
) -> TurnOutcome:
    """The turn's outcome when the model cannot do its part: the hand-over acknowledgement, written
    without a model, and the cause as the escalation reason (the workflow records it in the events).
    A ticket the workflow's rules were already handing over keeps their reason first."""
    reason = f"AI model failure ({failure}): {_clean(cause)}"
    return TurnOutcome(
        agent=ESCALATION_MANAGER,
        reply=compose_handoff(TicketContext.from_request(req)),
        decision="escalate",
        escalation_reason=(f"{req.handoff_reason}; {reason}" if req.handoff_reason else reason)[:500],
        failure=failure,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )


async def _heartbeat_until_cancelled(every: float = HEARTBEAT_EVERY_S) -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(every)
