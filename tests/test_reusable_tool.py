"""The per-process tool cache changes nothing the model sees: same schemas as AutoGen's own tools."""

from __future__ import annotations

from autogen_agentchat.base import Handoff
from autogen_core import CancellationToken
from autogen_core._function_utils import get_typed_signature
from autogen_core.tools import FunctionTool

from agents.actions import MemoryLedger
from agents.prompts import BILLING_AGENT, TECHNICAL_AGENT
from agents.reusable_tool import ReusableHandoff
from agents.team import SPECIALISTS, _handoffs
from agents.tools import ToolLog, build_tools
from tests.test_agents import FakeKb, make_request


def _plain(tool: FunctionTool) -> FunctionTool:
    return FunctionTool(tool._func, description=tool.description, name=tool.name, strict=tool._strict)


def test_every_agent_tool_has_the_schema_autogen_would_build() -> None:
    for agent in (BILLING_AGENT, TECHNICAL_AGENT):
        for tool in build_tools(make_request(), FakeKb([]), ToolLog(), agent=agent, ledger=MemoryLedger()):
            assert isinstance(tool, FunctionTool)
            assert tool.schema == _plain(tool).schema, tool.name
            assert tool._signature == get_typed_signature(tool._func), tool.name  # cached hints, same signature
            assert tool.args_type().model_json_schema() == _plain(tool).args_type().model_json_schema()


def test_handoff_tools_match_autogen_handoffs() -> None:
    for name in SPECIALISTS:
        for handoff in _handoffs(name):
            assert isinstance(handoff, Handoff)
            ours = handoff.handoff_tool
            if type(handoff) is ReusableHandoff:  # the human handoff takes a reason: ours alone
                theirs = Handoff(target=handoff.target, description=handoff.description).handoff_tool
                assert ours.schema == theirs.schema
            assert ours.schema["name"] == handoff.name and ours.schema.get("strict") is True


async def test_tools_of_later_turns_reuse_models_but_act_on_their_own_ticket() -> None:
    first = {t.name: t for t in build_tools(make_request(), FakeKb([]), ToolLog())}
    other = make_request()
    other = other.model_copy(update={"customer": other.customer.model_copy(update={"name": "Ana Lopez"})})
    second = {t.name: t for t in build_tools(other, FakeKb([]), ToolLog())}
    assert first["lookup_customer"].args_type() is second["lookup_customer"].args_type()  # built once
    token = CancellationToken()
    one = await first["lookup_customer"].run_json({}, token)
    two = await second["lookup_customer"].run_json({}, token)
    assert "Priya Sharma" in one and "Ana Lopez" in two


def test_a_caller_changing_its_schema_does_not_change_the_next_one() -> None:
    tool = build_tools(make_request(), FakeKb([]), ToolLog())[0]
    schema = tool.schema
    schema["description"] = "tampered"
    schema.get("parameters", {}).get("properties", {}).clear()
    again = tool.schema
    assert again["description"] != "tampered" and again.get("parameters", {}).get("properties")
