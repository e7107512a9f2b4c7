"""The import rules the package docstrings state, checked on the source tree without importing it.

Each package's ``__init__.py`` says what it must not import; this test reads every module outside
``tests/`` with ``ast`` (nothing is executed, so it takes well under a second) and checks those rules.
An import counts wherever it sits: at module level, inside a function, or under ``TYPE_CHECKING``.
``from pkg import mod`` counts as an import of ``pkg.mod`` when ``mod`` is a module.

A rule that changes changes in two places: the package's docstring and the rule here.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _our_top_level() -> frozenset[str]:
    """Our importable top-level names: packages (a folder with ``__init__.py``) and root modules."""
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    modules = {p.stem for p in ROOT.glob("*.py")}
    return frozenset((packages | modules) - {"tests"})


OURS = _our_top_level()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(dotted: str) -> bool:
    base = ROOT.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, e.g. "api.service.tickets"
    target: str  # what it imports, e.g. "workflows.ticket" or "temporalio.client"
    line: int
    name: str = ""  # for ``from target import name`` when name is not a module: the name taken

    def __str__(self) -> str:
        return f"{self.source}:{self.line} imports {self.target}"


def _imports_of(path: Path) -> list[Import]:
    source = _module_name(path)
    is_package = path.name == "__init__.py"
    found: list[Import] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [Import(source, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing module's package
                package = source.split(".") if is_package else source.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                module = _is_module(sub)
                found.append(Import(source, sub if module else base, node.lineno, "" if module else alias.name))
    return found


@cache
def all_imports() -> tuple[Import, ...]:
    files = [
        p
        for top in OURS
        for p in ([ROOT / f"{top}.py"] if (ROOT / f"{top}.py").is_file() else (ROOT / top).rglob("*.py"))
    ]
    return tuple(dict.fromkeys(i for f in sorted(files) for i in _imports_of(f)))


def _in(name: str, *prefixes: str) -> bool:
    """``name`` is one of ``prefixes`` or inside one of them (``"kb.store"`` is in ``"kb"``)."""
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _ours(target: str) -> bool:
    return target.split(".")[0] in OURS


@dataclass(frozen=True)
class Rule:
    """Imports by modules in ``sources`` (minus ``except_sources``) must satisfy ``allowed``."""

    id: str
    sources: tuple[str, ...]
    allowed: Callable[[Import], bool]
    except_sources: tuple[str, ...] = ()

    def violations(self) -> list[Import]:
        return [
            i
            for i in all_imports()
            if _in(i.source, *self.sources) and not _in(i.source, *self.except_sources) and not self.allowed(i)
        ]


def only_ours(*allowed: str) -> Callable[[Import], bool]:
    """Of the project's modules, only these (a third-party import is always fine)."""
    return lambda i: not _ours(i.target) or _in(i.target, *allowed)


def none_of(*forbidden: str) -> Callable[[Import], bool]:
    return lambda i: not _in(i.target, *forbidden)


RULES = [
    # domain/__init__.py: nothing else of the project, no I/O (so no Temporal, database or HTTP client).
    Rule("domain imports nothing of ours", ("domain",), only_ours("domain")),
    Rule("domain does no I/O", ("domain",), none_of("temporalio", "asyncpg", "httpx", "qdrant_client", "openai")),
    # workflows/__init__.py: domain, activities (as references) and workflows; the one type taken from
    # elsewhere is db.tickets.TicketSnapshot, the input of sync_ticket (documented exception).
    Rule(
        "workflows import domain, activities, workflows",
        ("workflows",),
        lambda i: (
            only_ours("domain", "activities", "workflows")(i) or (i.target, i.name) == ("db.tickets", "TicketSnapshot")
        ),
    ),
    # activities/__init__.py: domain, db, agents, kb, triage, and the webhook signing, sending and delivery
    # log (channels.webhooks: signing, sender, store); never workflows, api, supportctl, settings...
    Rule(
        "activities import domain, db, agents, kb, triage",
        ("activities",),
        only_ours(
            "activities",
            "domain",
            "db",
            "agents",
            "kb",
            "triage",
            "channels.webhooks.signing",
            "channels.webhooks.sender",
            "channels.webhooks.store",
        ),  # fmt: skip
    ),
    # agents/__init__.py: only domain (and AutoGen, the standard library): no Temporal, workflows,
    # activities, kb, db, api or settings.
    Rule("agents import only domain", ("agents",), only_ours("agents", "domain"), except_sources=("agents.offline",)),
    Rule("agents do not use Temporal", ("agents",), none_of("temporalio")),
    # agents/offline/__init__.py: only the factory imports the offline model.
    Rule(
        "only agents.model_client imports agents.offline",
        tuple(OURS),
        lambda i: not _in(i.target, "agents.offline") or i.source == "agents.model_client",
        except_sources=("agents.offline",),
    ),
    # agents/offline/__init__.py: it may import the shared parts of agents (context, prompts, tokens,
    # handoff_reply) and domain.
    Rule(
        "agents.offline imports only the shared parts of agents",
        ("agents.offline",),
        only_ours(
            "agents.offline",
            "agents.context",
            "agents.prompts",
            "agents.tokens",
            "agents.handoff_reply",
            "domain",
            "kb.embeddings",  # the process's one shared sentence encoder, for ranking answer sentences
            "kb.asked",  # the questions each help-article sentence is known to answer, for the same ranking
        ),
    ),
    # kb/__init__.py: from the project, domain.models alone. The top-level jsonl reader is documented in
    # jsonl.py's docstring as shared by kb and triage (documented exception; kb's docstring omits it).
    Rule("kb imports only domain.models and jsonl", ("kb",), only_ours("kb", "domain.models", "jsonl")),
    Rule("kb does not use Temporal", ("kb",), none_of("temporalio")),
    # triage/__init__.py: domain, kb.embeddings and the jsonl reader; no Temporal.
    Rule(
        "triage imports only domain, kb.embeddings, jsonl",
        ("triage",),
        only_ours("triage", "domain", "kb.embeddings", "jsonl"),
    ),
    Rule("triage does not use Temporal", ("triage",), none_of("temporalio")),
    # api/__init__.py: never agents, activities, kb or triage (nor a model client); workflows only for
    # the typed workflow, its inputs, state and search attributes.
    Rule(
        "api never runs agents",
        ("api",),
        none_of("agents", "activities", "kb", "triage", "autogen_core", "autogen_agentchat", "openai"),
    ),
    Rule(
        "api imports workflows only for types",
        ("api",),
        lambda i: (
            not _in(i.target, "workflows")
            or _in(
                i.target,
                "workflows.ticket",
                "workflows.article_search",
                "workflows.types",
                "workflows.search_attributes",
            )
        ),
    ),
    # console/__init__.py: api (services, auth, schemas), db, domain, settings; never workflows, activities,
    # agents, kb or triage (a decision reaches its ticket through api.service.decisions alone).
    Rule(
        "console acts through api, db and domain",
        ("console",),
        only_ours("console", "api", "db", "domain", "settings"),
    ),
    Rule("api.service imports no router", ("api.service",), none_of("api.routes", "api.main", "fastapi")),
    # db/__init__.py: domain only (Temporal's client in erasure alone); never api.
    Rule("db imports only domain", ("db",), only_ours("db", "domain"), except_sources=("db.data_keys", "db.erasure")),
    # The two documented exceptions: data keys are sealed by the codec's master keys; erasure drops the
    # erased customer's key from the codec's cache.
    Rule("db.data_keys imports only domain and codec.keys", ("db.data_keys",), only_ours("db", "domain", "codec.keys")),
    Rule("db.erasure imports only domain and the codec", ("db.erasure",), only_ours("db", "domain", "codec")),
    # telemetry/__init__.py: the API imports it, so only settings (no agents, activities or workflows).
    Rule("telemetry imports only settings", ("telemetry",), only_ours("telemetry", "settings")),
    Rule(
        "db uses Temporal only in erasure",
        ("db",),
        lambda i: not _in(i.target, "temporalio") or i.source == "db.erasure",
    ),
    # demo/__init__.py: data; only domain.
    Rule("demo imports only domain", ("demo",), only_ours("demo", "domain")),
    # supportctl/__init__.py: never the service's running parts in-process; workflows for the search
    # attributes' CLI flags only (not the workflow classes).
    Rule(
        "supportctl never imports the running service",
        ("supportctl",),
        none_of("api", "worker", "agents", "activities"),
    ),
    Rule(
        "supportctl takes from workflows only search attributes",
        ("supportctl",),
        lambda i: not _in(i.target, "workflows") or _in(i.target, "workflows.search_attributes"),
    ),
    # jsonl.py: imports nothing of the project.
    Rule("jsonl imports nothing of ours", ("jsonl",), only_ours("jsonl")),
    # settings/__init__.py: domain; inside validators and methods codec.keys, channels.webhooks.signing and
    # agents.model_settings. Never the running service (api, workflows, activities, db, supportctl).
    Rule(
        "settings import only domain and three leaf modules",
        ("settings",),
        only_ours("settings", "domain", "codec.keys", "channels.webhooks.signing", "agents.model_settings"),
    ),
]

# supportctl/__init__.py: only the measuring tools (bench/, evals/) and the tests may import supportctl: they
# start the same local stack the operators do.
RULES.append(
    Rule(
        "only bench and evals import supportctl",
        tuple(OURS),
        lambda i: not _in(i.target, "supportctl"),
        except_sources=("supportctl", "bench", "evals"),
    )
)

CASES = [pytest.param(r, id=r.id) for r in RULES]


@pytest.mark.parametrize("rule", CASES)
def test_import_rules_hold(rule: Rule) -> None:
    assert any(_in(i.source, *rule.sources) for i in all_imports()), f"{rule.id}: no module matched {rule.sources}"
    broken = rule.violations()
    assert not broken, f"{rule.id}:\n" + "\n".join(f"  {i}" for i in broken)
