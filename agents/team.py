"""One agent turn: the support team as an AutoGen `Swarm`, rebuilt around the transcript, run once.

Routing. The triage classifier picks the specialist for the ticket's category, and that specialist
speaks first. From there, routing is by handoffs, decided by the acting agent itself through AutoGen
function calling: a specialist can hand the turn to another specialist (a billing request inside a
technical ticket goes to the BillingAgent), or to a human through the EscalationManager
(`transfer_to_human(reason)`), who writes the acknowledgement; the turn then ends and the workflow
waits for the human. The run stops at the first text reply, so a turn always ends with exactly one
reply, written by the agent reported as `TurnOutcome.agent`.

Why a Swarm: handoffs are ordinary tool calls, so they cost no extra model call and run the same way
offline and online; a SelectorGroupChat spends a model call per step on choosing the next speaker
and a round-robin would make every specialist speak.

Nothing survives between calls (STYLE.md convention 15): the workflow owns the transcript and passes
it whole, so an activity retry or a worker crash simply rebuilds the same team from the same input.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.base import ChatAgent, Handoff, TaskResult
from autogen_agentchat.conditions import FunctionalTermination, MaxMessageTermination
from autogen_agentchat.messages import (
    BaseAgentEvent,
    BaseChatMessage,
    HandoffMessage,
    TextMessage,
    ToolCallRequestEvent,
)
from autogen_agentchat.teams import Swarm
from autogen_core.code_executor import CodeExecutor
from autogen_core.model_context import ChatCompletionContext, UnboundedChatCompletionContext
from autogen_core.models import AssistantMessage, ChatCompletionClient, LLMMessage, UserMessage
from autogen_core.tools import BaseTool
from pydantic import BaseModel

from agents.actions import ActionLedger
from agents.citations import cite
from agents.context import (
    CUSTOMER_SOURCE,
    ESCALATE_HANDOFF,
    HUMAN_AGENT_SOURCE,
    SYSTEM_NOTE,
    SYSTEM_SOURCE,
    TicketContext,
    neutralize,
    render_ticket_context,
)
from agents.drafts import DraftPreview, DraftSink, run_streamed
from agents.guardrails import guard_reply
from agents.handoff_reply import compose_handoff
from agents.model_client import TurnModelClient, model_name_of
from agents.model_failures import REPAIR_INSTRUCTIONS, ModelOutputError
from agents.prompts import (
    BILLING_AGENT,
    DESCRIPTIONS,
    ESCALATION_MANAGER,
    HANDOFF_MARKER,
    KNOWLEDGE_AGENT,
    PRODUCT_AGENT,
    SYSTEM_PROMPTS,
    TECHNICAL_AGENT,
)
from agents.reusable_tool import ReusableFunctionTool, ReusableHandoff
from agents.sandbox import code_tool
from agents.tools import KbSearch, ToolLog, build_tools, latest_customer_text
from agents.tracing import provider_of, traced, turn_span
from domain.customer_text import prepared_text
from domain.models import Category, Sender, TranscriptEntry
from domain.resolution import leaves_something_open
from domain.turns import Decision, TurnOutcome, TurnRequest

# Account problems (sign-in, SSO, API keys, users) are closest to the TechnicalAgent's tools and KB.
SPECIALIST_FOR: dict[Category, str] = {
    Category.TECHNICAL: TECHNICAL_AGENT,
    Category.BILLING: BILLING_AGENT,
    Category.PRODUCT: PRODUCT_AGENT,
    Category.ACCOUNT: TECHNICAL_AGENT,
    Category.GENERAL: KNOWLEDGE_AGENT,
}
SPECIALISTS = (TECHNICAL_AGENT, BILLING_AGENT, PRODUCT_AGENT, KNOWLEDGE_AGENT)

NO_NEW_MESSAGE = "There is no new customer message since the last reply. Write the next message to the customer."
MAX_TOOL_ITERATIONS = 3  # search, act, (search again): then the agent must write
MAX_TEAM_MESSAGES = 10  # task + a few handoffs: a team that hasn't replied by then is looping
LOOPING_REASON = "the agents could not settle who handles this ticket"
# AutoGen's runtime logs every message of a team at INFO, customer text included: keep that out of the
# worker's logs unless an operator configured these loggers on purpose.
for _name in ("autogen_core", "autogen_agentchat"):
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.WARNING)
_REASON = re.compile(r"Reason:\s*(.+)$", re.S)


class ReasonedHandoff(ReusableHandoff):
    """A handoff whose tool takes a `reason`, which travels in the HandoffMessage to the target."""

    @property
    def handoff_tool(self) -> BaseTool[BaseModel, BaseModel]:
        message = self.message

        def handoff_with_reason(reason: str) -> str:
            return f"{message} Reason: {reason.strip()[:300] or 'not given'}"

        return ReusableFunctionTool(handoff_with_reason, name=self.name, description=self.description, strict=True)


def _handoffs(name: str) -> list[Handoff | str]:
    if name == ESCALATION_MANAGER:
        return []
    peers: list[Handoff | str] = [
        ReusableHandoff(target=other, description=f"Hand this turn to the {other}: {DESCRIPTIONS[other]}")
        for other in SPECIALISTS
        if other != name
    ]
    human = ReasonedHandoff(
        target=ESCALATION_MANAGER,
        name=ESCALATE_HANDOFF,
        description=(
            "Hand the ticket to a human specialist (the EscalationManager tells the customer). Use it for "
            "legal, security or privacy matters, an explicit request for a person or a call, or when you "
            "cannot help after trying. Give a short internal reason."
        ),
    )
    return [*peers, human]


def build_specialist(
    name: str,
    model_client: ChatCompletionClient,
    tools: Sequence[BaseTool[Any, Any]],
    *,
    model_context: ChatCompletionContext | None = None,
    handoffs: list[Handoff | str] | None = None,
) -> AssistantAgent:
    """An AutoGen `AssistantAgent` for one of the six roles, reflecting on its tool results."""
    if name not in SYSTEM_PROMPTS:
        raise ValueError(f"unknown agent role {name!r}; expected one of {sorted(SYSTEM_PROMPTS)}")
    return AssistantAgent(
        name=name,
        model_client=model_client,
        tools=list(tools) or None,
        handoffs=handoffs or None,
        model_context=model_context,
        description=DESCRIPTIONS[name],
        system_message=SYSTEM_PROMPTS[name],
        reflect_on_tool_use=True,
        max_tool_iterations=MAX_TOOL_ITERATIONS,
        # Streamed where the model was declared to stream (MODEL_STREAMING): AutoGen then emits the
        # reply's chunks as events for a channel that can show them; the final reply is the same.
        model_client_stream=isinstance(model_client, TurnModelClient) and model_client.streams,
    )


def _history_message(entry: TranscriptEntry) -> LLMMessage:
    if entry.sender == Sender.CUSTOMER:
        return UserMessage(content=neutralize(entry.body), source=CUSTOMER_SOURCE)
    if entry.sender == Sender.AGENT:
        return AssistantMessage(content=entry.body, source=re.sub(r"[^A-Za-z0-9_-]", "_", entry.author)[:64])
    if entry.sender == Sender.HUMAN:
        return AssistantMessage(content=entry.body, source=HUMAN_AGENT_SOURCE)
    return UserMessage(content=f"{SYSTEM_NOTE} {entry.body}", source=SYSTEM_SOURCE)


def build_conversation(request: TurnRequest) -> tuple[list[LLMMessage], list[BaseChatMessage]]:
    """Split the transcript into the agents' prior context and this turn's task.

    Everything up to our side's latest reply becomes model context, with our replies as assistant
    messages; the task is the ticket-context line followed by what the customer (or the system)
    wrote since. Customer text is neutralized so it cannot pass for a context line or system note.
    """
    entries = sorted(request.transcript, key=lambda e: e.seq)
    replied = [i for i, e in enumerate(entries) if e.sender in (Sender.AGENT, Sender.HUMAN)]
    cut = replied[-1] + 1 if replied else 0
    history = [_history_message(e) for e in entries[:cut]]
    task: list[BaseChatMessage] = [
        TextMessage(content=render_ticket_context(TicketContext.from_request(request)), source=SYSTEM_SOURCE)
    ]
    for entry in entries[cut:]:
        if entry.sender == Sender.CUSTOMER:
            task.append(TextMessage(content=neutralize(entry.body), source=CUSTOMER_SOURCE))
        else:
            task.append(TextMessage(content=f"{SYSTEM_NOTE} {entry.body}", source=SYSTEM_SOURCE))
    if len(task) == 1:
        task.append(TextMessage(content=NO_NEW_MESSAGE, source=SYSTEM_SOURCE))
    return history, task


def build_team(
    request: TurnRequest,
    model_client: ChatCompletionClient,
    kb_search: KbSearch,
    log: ToolLog,
    *,
    ledger: ActionLedger | None = None,
    code_executor: CodeExecutor | None = None,
) -> Swarm:
    """The Swarm for this turn, its first speaker first: the EscalationManager alone when the
    workflow's rules already handed the ticket to a human, else the category's specialist."""
    history, _ = build_conversation(request)
    if request.handoff_reason:
        names = [ESCALATION_MANAGER]
    else:
        first = SPECIALIST_FOR[request.category]
        names = [first, *(n for n in SPECIALISTS if n != first), ESCALATION_MANAGER]
    agents = []
    for name in names:
        extra: list[BaseTool[Any, Any]] = (
            [code_tool(code_executor)] if code_executor is not None and name == TECHNICAL_AGENT else []
        )
        tools = (
            []
            if name == ESCALATION_MANAGER
            else build_tools(request, kb_search, log, agent=name, ledger=ledger, extra=extra)
        )
        context = UnboundedChatCompletionContext(initial_messages=history)
        handoffs = [] if request.handoff_reason else _handoffs(name)
        agents.append(build_specialist(name, model_client, tools, model_context=context, handoffs=handoffs))
    replied = FunctionalTermination(_agent_replied)
    return Swarm(list[ChatAgent](agents), termination_condition=replied | MaxMessageTermination(MAX_TEAM_MESSAGES))


def _agent_replied(messages: Sequence[BaseAgentEvent | BaseChatMessage]) -> bool:
    """The turn ends at the first text an agent writes (the task's own messages don't count)."""
    return any(isinstance(m, TextMessage) and m.source in SYSTEM_PROMPTS for m in messages)


def _split_marker(text: str) -> tuple[str, str | None]:
    """Remove `HANDOFF_TO_HUMAN:` lines from a reply; return the clean reply and the stated reason."""
    kept: list[str] = []
    reason: str | None = None
    for line in text.splitlines():
        if line.strip().startswith(HANDOFF_MARKER):
            reason = reason or line.strip()[len(HANDOFF_MARKER) :].strip() or "agent requested a human"
        else:
            kept.append(line)
    return "\n".join(kept).strip(), reason


def _final(result: TaskResult) -> tuple[str, str | None]:
    """The reply and its author, or ("", None) when the team stopped on something else."""
    for message in reversed(result.messages):
        if isinstance(message, TextMessage) and message.source in SYSTEM_PROMPTS:
            return message.content, message.source
        if isinstance(message, HandoffMessage):
            break
    return "", None


def reply_guard(request: TurnRequest) -> Callable[[str], str]:
    """The output guard as it applies to this ticket's replies (and to drafts of them)."""
    own_texts = [e.body for e in request.transcript if e.sender == Sender.CUSTOMER]
    own_values = [request.customer.email, request.customer.customer_id]
    internal_texts = [NO_NEW_MESSAGE, *REPAIR_INSTRUCTIONS.values()]

    def guard(text: str) -> str:
        return guard_reply(text, own_values=own_values, own_texts=own_texts, internal_texts=internal_texts).text

    return guard


async def run_turn(
    request: TurnRequest,
    *,
    model_client: ChatCompletionClient,
    kb_search: KbSearch,
    ledger: ActionLedger | None = None,
    code_executor: CodeExecutor | None = None,
    model_name: str | None = None,
    drafts: DraftSink | None = None,
) -> TurnOutcome:
    """Run one agent turn for `request` and return only what is new (the reply and its metadata).

    Without a `ledger` the refund, credit and bug-report tools are not offered; without a
    `code_executor` the TechnicalAgent cannot run code. With `drafts`, and a model that streams
    (MODEL_STREAMING), the reply is shown to `drafts` as it is written, guarded, then `done` with the
    reply returned (or empty when the turn fails).
    """
    log = ToolLog()
    client = TurnModelClient(model_client)
    model = model_name if model_name is not None else model_name_of(model_client)
    calls = traced(client, model=model, provider=provider_of(model_client))  # a span per model call
    team = build_team(request, calls, kb_search, log, ledger=ledger, code_executor=code_executor)
    first = ESCALATION_MANAGER if request.handoff_reason else SPECIALIST_FOR[request.category]
    guard = reply_guard(request)
    draft = (
        DraftPreview(drafts, lambda text: guard(_split_marker(text)[0]))
        if drafts is not None and client.streams
        else None
    )
    if draft is not None:
        client.on_stream_discarded = draft.restart  # an unusable streamed answer is repaired unstreamed
    try:
        outcome = await _turn(request, team, client, log, guard, first, model, draft)
    finally:
        if draft is not None:
            await draft.close()
    return outcome


async def _turn(
    request: TurnRequest,
    team: Swarm,
    client: TurnModelClient,
    log: ToolLog,
    guard: Callable[[str], str],
    first: str,
    model: str,
    draft: DraftPreview | None,
) -> TurnOutcome:
    task = build_conversation(request)[1]
    try:
        with turn_span(request.ticket_id, first_agent=first) as span:
            result = await (team.run(task=task) if draft is None else run_streamed(team, task, draft, SYSTEM_PROMPTS))
            span.set_attributes(
                {
                    "gen_ai.usage.input_tokens": client.prompt_tokens,
                    "gen_ai.usage.output_tokens": client.completion_tokens,
                }
            )
    except Exception:
        # A Swarm re-raises an agent's error as a bare RuntimeError: surface the original, so the
        # activity can tell a rate limit from a bad key.
        if client.errors:
            raise client.errors[0] from None
        if log.errors:
            raise log.errors[0] from None
        raise
    if log.errors:
        raise log.errors[0]
    if client.errors:
        raise client.errors[0]

    text, author = _final(result)
    handoffs = [m for m in result.messages if isinstance(m, HandoffMessage)]
    reason: str | None = request.handoff_reason
    for handoff in handoffs:
        if handoff.target == ESCALATION_MANAGER and reason is None:
            found = _REASON.search(handoff.content)
            reason = found.group(1).strip() if found else "agent requested a human"
    if author is None:
        # Handoffs went round without anyone replying: a loop that isn't converging goes to a human,
        # with the standard acknowledgement (no model call needed to write it).
        author, text, reason = ESCALATION_MANAGER, compose_handoff(TicketContext.from_request(request)), LOOPING_REASON
    reply, asked_for_human = _split_marker(text)
    reason = reason or asked_for_human
    # The output guard, for every model: nothing but the reply itself leaves for the outbox.
    reply = guard(reply)
    if not reply:
        raise ModelOutputError(
            "empty", f"{author}'s reply was empty once guarded", attempts=1,
            prompt_tokens=client.prompt_tokens, completion_tokens=client.completion_tokens,
        )  # fmt: skip

    tool_calls = [call.name for m in result.messages if isinstance(m, ToolCallRequestEvent) for call in m.content]
    action = log.proposed[0] if log.proposed else None
    decision: Decision
    if reason:
        decision = "escalate"
    elif action is not None:
        decision = "needs_approval"
    elif log.resolved is not None and not leaves_something_open(prepared_text(latest_customer_text(request))):
        # A model that marks resolved a message asking or reporting something more leaves it open.
        decision = "resolved"
    else:
        decision = "reply"
    hits = sorted(log.hits.values(), key=lambda h: -h.score)
    if draft is not None:
        await draft.finish(reply)
    return TurnOutcome(
        agent=author,
        reply=reply,
        decision=decision,
        escalation_reason=reason,
        citations=[] if author == ESCALATION_MANAGER else cite(reply, hits),
        tool_calls=tool_calls,
        action=action,
        prompt_tokens=client.prompt_tokens,
        completion_tokens=client.completion_tokens,
        cost_usd=client.cost_usd(model),
        handoffs=[f"{h.source}->{h.target}" for h in handoffs],
        executed_actions=list(log.executed),
        bug_reports=list(log.bug_reports),
    )
