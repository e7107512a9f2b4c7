"""The TechnicalAgent's code execution: off by default, and confined when on (escape attempts fail)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import cast

import pytest
from autogen_core import CancellationToken
from autogen_core.code_executor import CodeBlock

from activities.conversation import ConversationActivities
from agents.offline.client import OfflineChatCompletionClient
from agents.sandbox import SandboxedPythonExecutor
from agents.team import run_turn
from kb.index import KnowledgeBase
from settings import Settings
from tests.test_agents import RATE_LIMIT_HITS, FakeKb, make_request

SECRET = "sk-live-worker-secret-do-not-leak"


@pytest.fixture
def executor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SandboxedPythonExecutor:
    # The worker's own environment holds secrets: none of them may reach the snippet.
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://admin:{SECRET}@db/support")
    return SandboxedPythonExecutor(tmp_path / "scratch", timeout_seconds=2, memory_mb=128)


def escaped() -> bool:
    return Path("/tmp/escaped.txt").exists()


def leftovers(root: Path) -> list[Path]:
    assert root.is_dir()
    return list(root.iterdir())


async def run(executor: SandboxedPythonExecutor, code: str) -> tuple[int, str]:
    result = await executor.execute_code_blocks([CodeBlock(code=code, language="python")], CancellationToken())
    return result.exit_code, result.output


def test_code_execution_is_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENT_CODE_EXECUTION", raising=False)
    assert Settings(_env_file=None).AGENT_CODE_EXECUTION is False  # type: ignore[call-arg]
    activities = ConversationActivities(OfflineChatCompletionClient(), cast(KnowledgeBase, object()))
    assert activities._executor is None  # noqa: SLF001


async def test_without_an_executor_the_agent_has_no_code_tool() -> None:
    request = make_request("Is 40 x 90 x 60 requests per hour over our limit?")
    outcome = await run_turn(request, model_client=OfflineChatCompletionClient(), kb_search=FakeKb(RATE_LIMIT_HITS))
    assert "run_python" not in outcome.tool_calls and "216,000" not in outcome.reply


async def test_the_technical_agent_calculates_through_the_sandbox(executor: SandboxedPythonExecutor) -> None:
    request = make_request("We run 40 workers; is 40 x 90 x 60 requests per hour over our Pro limit?")
    outcome = await run_turn(
        request, model_client=OfflineChatCompletionClient(), kb_search=FakeKb(RATE_LIMIT_HITS), code_executor=executor
    )
    assert outcome.tool_calls == ["search_knowledge_base", "lookup_customer", "run_python"]
    assert "I ran the numbers for you: 40 * 90 * 60 = 216,000." in outcome.reply
    assert "10,000 requests per hour" in outcome.reply  # the plan limit still comes from the article


async def test_ordinary_diagnostics_work(executor: SandboxedPythonExecutor) -> None:
    code = (
        "import json, statistics, datetime\n"
        "latencies = [120, 180, 95, 400]\n"
        "open('notes.txt', 'w').write('ok')\n"
        "print(json.dumps({'p50': statistics.median(latencies), 'file': open('notes.txt').read(),"
        " 'day': str(datetime.date(2026, 11, 24))}))"
    )
    assert await run(executor, code) == (0, '{"p50": 150.0, "file": "ok", "day": "2026-11-24"}\n')


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("parent environment", "import os\nprint(open(f'/proc/{os.getppid()}/environ').read())"),
        ("own environment file", "print(open('/proc/self/environ').read())"),
        ("system file", "print(open('/etc/passwd').read())"),
        ("project file", f"print(open({str(Path(__file__).resolve())!r}).read())"),
        ("write outside", "open('/tmp/escaped.txt', 'w').write('x')"),
        ("path traversal", "open('../escaped.txt', 'w').write('x')"),
        ("list the disk", "import os\nprint(os.listdir('/'))"),
        ("network", "import socket\nsocket.create_connection(('127.0.0.1', 5432))"),
        ("network by builtins", "__import__('_socket')"),
        ("http", "import urllib.request\nurllib.request.urlopen('http://example.com')"),
        ("shell", "import os\nos.system('id')"),
        ("subprocess", "import subprocess\nsubprocess.run(['id'])"),
        ("exec", "import os\nos.execv('/bin/sh', ['sh', '-c', 'id'])"),
        ("fork", "import os\nprint(os.fork())"),
        ("ctypes", "import ctypes\nctypes.CDLL(None)"),
        ("add a lenient hook", "import sys\nsys.addaudithook(lambda *a: None)\nopen('/etc/passwd')"),
        ("swap open", "import builtins, io\nbuiltins.open = io.open\nopen('/etc/passwd')"),
        ("find the guard", "import gc\nprint(gc.get_objects())"),
        ("frames", "import sys\nprint(sys._getframe(1).f_globals)"),
    ],
)
async def test_escape_attempts_fail(executor: SandboxedPythonExecutor, name: str, code: str) -> None:
    exit_code, output = await run(executor, code)
    assert exit_code != 0, f"{name}: {output}"
    assert SECRET not in output and "root:" not in output
    assert not escaped()


async def test_the_workers_secrets_are_not_in_the_environment(executor: SandboxedPythonExecutor) -> None:
    exit_code, output = await run(executor, "import os\nprint(sorted(os.environ))")
    assert exit_code == 0 and SECRET not in output and "OPENAI_API_KEY" not in output and "DATABASE_URL" not in output


async def test_runaway_code_is_stopped(tmp_path: Path) -> None:
    quick = SandboxedPythonExecutor(tmp_path / "quick", timeout_seconds=0.5)
    results = await asyncio.gather(
        *(run(quick, code) for code in ("while True:\n    pass", "import time\ntime.sleep(60)"))
    )
    for exit_code, output in results:
        assert exit_code == 124 and "stopped after 0.5 s" in output


async def test_memory_is_limited(executor: SandboxedPythonExecutor) -> None:
    exit_code, output = await run(executor, "block = bytearray(512 * 1024 * 1024)\nprint(len(block))")
    assert exit_code != 0 and "MemoryError" in output


async def test_output_is_capped_and_the_scratch_folder_is_removed(executor: SandboxedPythonExecutor) -> None:
    exit_code, output = await run(executor, "print('x' * 100_000)")
    assert exit_code == 0 and len(output) <= 4000
    assert leftovers(Path(executor.dump_component().config["scratch_root"])) == []


async def test_runs_as_an_unprivileged_user_in_its_own_folder(executor: SandboxedPythonExecutor) -> None:
    _, output = await run(executor, "import os\nprint(os.getuid(), os.path.basename(os.getcwd()))")
    uid, folder = output.split()
    assert folder.startswith("run-")
    assert int(uid) == (65534 if os.geteuid() == 0 else os.geteuid())
