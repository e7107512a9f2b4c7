"""One agent turn: pick the specialist, rebuild it around the transcript, run it once, report back.

Nothing survives between calls (STYLE.md convention 15): the workflow owns the transcript and passes
it whole, so an activity retry or a worker crash simply rebuilds the same agent from the same input.
The wait for a human never happens here: when the workflow's rules hand the ticket over, the
EscalationManager only writes the acknowledgement and the run ends.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.base import TaskResult
from autogen_agentchat.messages import BaseChatMessage, TextMessage, ToolCallRequestEvent
from autogen_core.model_context import ChatCompletionContext, UnboundedChatCompletionContext
from autogen_core.models import AssistantMessage, ChatCompletionClient, LLMMessage, UserMessage
from autogen_core.tools import BaseTool

from agents.context import (
    CUSTOMER_SOURCE,
    HUMAN_AGENT_SOURCE,
    SYSTEM_SOURCE,
    TicketContext,
    render_ticket_context,
)
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
from agents.tools import KbSearch, ToolLog, build_tools
from domain.models import Category, Citation, KbHit, Sender, TranscriptEntry
from domain.turns import TurnOutcome, TurnRequest

# Account problems (sign-in, SSO, API keys, users) are closest to the TechnicalAgent's tools and KB.
SPECIALIST_FOR: dict[Category, str] = {
    Category.TECHNICAL: TECHNICAL_AGENT,
    Category.BILLING: BILLING_AGENT,
    Category.PRODUCT: PRODUCT_AGENT,
    Category.ACCOUNT: TECHNICAL_AGENT,
    Category.GENERAL: KNOWLEDGE_AGENT,
}

NO_NEW_MESSAGE = "There is no new customer message since the last reply. Write the next message to the customer."
_SHINGLE = 8  # words a reply must share verbatim with a passage to count as having used it

AgentTool = BaseTool[Any, Any] | Callable[..., Any] | Callable[..., Awaitable[Any]]


def build_specialist(
    name: str,
    model_client: ChatCompletionClient,
    tools: Sequence[BaseTool[Any, Any]],
    *,
    model_context: ChatCompletionContext | None = None,
) -> AssistantAgent:
    """An AutoGen `AssistantAgent` for one of the six roles, reflecting on its tool results."""
    if name not in SYSTEM_PROMPTS:
        raise ValueError(f"unknown agent role {name!r}; expected one of {sorted(SYSTEM_PROMPTS)}")
    agent_tools: list[AgentTool] = list(tools)
    return AssistantAgent(
        name=name,
        model_client=model_client,
        tools=agent_tools or None,
        model_context=model_context,
        description=DESCRIPTIONS[name],
        system_message=SYSTEM_PROMPTS[name],
        reflect_on_tool_use=True,
        model_client_stream=False,
    )


def _history_message(entry: TranscriptEntry) -> LLMMessage:
    if entry.sender == Sender.CUSTOMER:
        return UserMessage(content=entry.body, source=CUSTOMER_SOURCE)
    if entry.sender == Sender.AGENT:
        return AssistantMessage(content=entry.body, source=re.sub(r"[^A-Za-z0-9_-]", "_", entry.author)[:64])
    if entry.sender == Sender.HUMAN:
        return AssistantMessage(content=entry.body, source=HUMAN_AGENT_SOURCE)
    return UserMessage(content=f"[ticket system note] {entry.body}", source=SYSTEM_SOURCE)


def build_conversation(request: TurnRequest) -> tuple[list[LLMMessage], list[BaseChatMessage]]:
    """Split the transcript into the agent's prior context and this turn's task.

    Everything up to our side's latest reply becomes model context, with our replies as assistant
    messages; the task is the ticket-context line followed by what the customer (or the system)
    wrote since.
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
            task.append(TextMessage(content=entry.body, source=CUSTOMER_SOURCE))
        else:
            task.append(TextMessage(content=f"[ticket system note] {entry.body}", source=SYSTEM_SOURCE))
    if len(task) == 1:
        task.append(TextMessage(content=NO_NEW_MESSAGE, source=SYSTEM_SOURCE))
    return history, task


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


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _shares_passage(reply: str, hit: KbHit) -> bool:
    words = _words(hit.text or hit.snippet)
    reply_flat = " ".join(_words(reply))
    return any(" ".join(words[i : i + _SHINGLE]) in reply_flat for i in range(max(0, len(words) - _SHINGLE + 1)))


def _citations(reply: str, hits: list[KbHit]) -> list[Citation]:
    """Articles the reply links (in reply order); failing that, retrieved articles it quotes from."""
    linked: list[tuple[int, KbHit]] = []
    for hit in hits:
        pos = reply.find(hit.url) if hit.url else -1
        if pos < 0 and hit.title:
            pos = reply.find(f"[{hit.title}]")
        if pos >= 0:
            linked.append((pos, hit))
    used = [hit for _, hit in sorted(linked, key=lambda item: item[0])]
    if not used:
        used = [hit for hit in hits if _shares_passage(reply, hit)]
    return [Citation(article_id=h.article_id, title=h.title, url=h.url, score=h.score) for h in used]


def _final_text(result: TaskResult) -> str:
    final = result.messages[-1]
    if isinstance(final, TextMessage):
        return final.content
    if isinstance(final, BaseChatMessage):
        return final.to_text()
    raise RuntimeError(f"agent run ended on {type(final).__name__}, not a chat message")


async def run_turn(
    request: TurnRequest,
    *,
    model_client: ChatCompletionClient,
    kb_search: KbSearch,
) -> TurnOutcome:
    """Run one agent turn for `request` and return only what is new (the reply and its metadata)."""
    name = ESCALATION_MANAGER if request.handoff_reason else SPECIALIST_FOR[request.category]
    log = ToolLog()
    # The acknowledgement of a human handoff must not troubleshoot, so that role gets no tools.
    tools = [] if request.handoff_reason else build_tools(request, kb_search, log)
    history, task = build_conversation(request)
    agent = build_specialist(
        name, model_client, tools, model_context=UnboundedChatCompletionContext(initial_messages=history)
    )
    result = await agent.run(task=task)
    if log.errors:
        raise log.errors[0]

    reply, asked_for_human = _split_marker(_final_text(result))
    if not reply:
        raise RuntimeError(f"{name} produced an empty reply")
    tool_calls = [call.name for msg in result.messages if isinstance(msg, ToolCallRequestEvent) for call in msg.content]
    usages = [msg.models_usage for msg in result.messages if msg.models_usage is not None]
    escalation_reason = request.handoff_reason or asked_for_human
    hits = sorted(log.hits.values(), key=lambda h: -h.score)
    return TurnOutcome(
        agent=name,
        reply=reply,
        decision="escalate" if escalation_reason else "reply",
        escalation_reason=escalation_reason,
        citations=[] if request.handoff_reason else _citations(reply, hits),
        tool_calls=tool_calls,
        prompt_tokens=sum(u.prompt_tokens for u in usages),
        completion_tokens=sum(u.completion_tokens for u in usages),
    )
