"""Static checks of the production stack (docker-compose.yml, Dockerfile, deploy/).

There is no Docker engine on the development machines, so the compose file is validated here:
structure, pinned images, wiring between services, the app's environment against settings.Settings.
Variables are expanded the way compose does, with the defaults only (as on a machine without .env).
"""

from __future__ import annotations

import ast
import fnmatch
import importlib
import re
import shlex
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from workflows.search_attributes import cli_flags

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SETTINGS_FILE = ROOT / "settings" / "__init__.py"

EXPECTED_SERVICES = {
    "postgresql",
    "temporal",
    "temporal-admin-tools",
    "temporal-ui",
    "qdrant",
    "worker",
    "api",
}
REQUIRED_APP_ENV = {"DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_TASK_QUEUE", "QDRANT_URL"}
# Every attribute the workflow writes must be registered by the production stack, with the same type.
REQUIRED_SEARCH_ATTRIBUTES = dict(flag.split("=", 1) for flag in cli_flags()[1::2])
DEPENDS_ON_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}

# $$ (a literal $), ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}, ${VAR:+alt}, $VAR
_VAR = re.compile(
    r"\$\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


def interpolate(value: str, env: dict[str, str] | None = None, missing: list[str] | None = None) -> str:
    """Expand compose variables in one string; names without a default are collected in `missing`."""
    env = env or {}

    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group("braced") or m.group("bare")
        op, arg = m.group("op"), m.group("arg") or ""
        val = env.get(name)
        unset_or_empty = val is None or (val == "" and op is not None and op.startswith(":"))
        if op in (":-", "-"):
            return arg if unset_or_empty else str(val)
        if op in (":+", "+"):
            return "" if unset_or_empty else arg
        if val is None and missing is not None:
            missing.append(name)
        return val or ""

    return _VAR.sub(repl, value)


def interpolate_tree(node: Any, missing: list[str] | None = None) -> Any:
    if isinstance(node, str):
        return interpolate(node, missing=missing)
    if isinstance(node, list):
        return [interpolate_tree(v, missing) for v in node]
    if isinstance(node, dict):
        return {k: interpolate_tree(v, missing) for k, v in node.items()}
    return node


def load_raw() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    tree: dict[str, Any] = interpolate_tree(load_raw())
    return tree


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, "") for item in env)
        return dict(pairs)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def command_text(service: dict[str, Any]) -> str:
    parts: list[str] = []
    for key in ("entrypoint", "command"):
        value = service.get(key)
        if isinstance(value, list):
            parts.extend(str(v) for v in value)
        elif value:
            parts.append(str(value))
    return "\n".join(parts)


def published_ports(service: dict[str, Any]) -> list[tuple[str, int]]:
    """(host ip, host port) for each port published on the host with a fixed number."""
    result: list[tuple[str, int]] = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            if entry.get("published") is not None:
                result.append((str(entry.get("host_ip", "0.0.0.0")), int(entry["published"])))
            continue
        spec = str(entry).split("/", 1)[0]
        parts = spec.rsplit(":", 2)
        if len(parts) == 1:  # container port only: docker picks a free host port
            continue
        host_ip = parts[0] if len(parts) == 3 else "0.0.0.0"
        host_port = parts[-2]
        if host_port:
            result.append((host_ip, int(host_port.split("-", 1)[0])))
    return result


def postgres_services(services: dict[str, dict[str, Any]]) -> set[str]:
    return {name for name, svc in services.items() if str(svc.get("image", "")).startswith("postgres:")}


# --- the file itself -------------------------------------------------------------------------


def test_compose_file_parses_as_compose_spec() -> None:
    raw = load_raw()
    assert "version" not in raw, "the compose spec has no `version:` key"
    assert isinstance(raw.get("services"), dict) and raw["services"]


def test_every_variable_has_a_default() -> None:
    """The stack must come up on a machine without .env; a shell `$x` must be written `$$x`."""
    missing: list[str] = []
    interpolate_tree(load_raw(), missing)
    assert not missing, f"variables without a default (or unescaped shell variables): {sorted(set(missing))}"


def test_interpolation_helper() -> None:
    assert interpolate("a${X:-d}b") == "adb"
    assert interpolate("${X:-d}", {"X": "v"}) == "v"
    assert interpolate("${X:-d}", {"X": ""}) == "d"
    assert interpolate("${X-d}", {"X": ""}) == ""
    assert interpolate("$$HOME and $${N}") == "$HOME and ${N}"
    missing: list[str] = []
    assert interpolate("$NOPE ${ALSO}", missing=missing) == " "
    assert missing == ["NOPE", "ALSO"]


def test_expected_services_exist(services: dict[str, dict[str, Any]]) -> None:
    assert EXPECTED_SERVICES <= set(services), f"missing: {EXPECTED_SERVICES - set(services)}"


def test_every_image_is_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        image = svc.get("image")
        if image is None:
            assert "build" in svc, f"{name}: neither image nor build"
            continue
        ref = str(image).split("@", 1)[0]
        last = ref.rsplit("/", 1)[-1]
        assert ":" in last or "@" in str(image), f"{name}: image {image!r} has no tag"
        tag = last.rsplit(":", 1)[-1] if ":" in last else ""
        assert tag and tag != "latest", f"{name}: image {image!r} is not pinned"


def test_temporal_images_pinned_to_concrete_versions(services: dict[str, dict[str, Any]]) -> None:
    assert re.fullmatch(r"temporalio/auto-setup:1\.\d+\.\d+", services["temporal"]["image"])
    assert re.fullmatch(r"temporalio/ui:\d+\.\d+\.\d+", services["temporal-ui"]["image"])
    assert re.fullmatch(r"qdrant/qdrant:v\d+\.\d+\.\d+", services["qdrant"]["image"])
    assert services["postgresql"]["image"] == "postgres:16"


def test_depends_on_targets_exist_with_valid_conditions(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        for target, condition in depends_on(svc).items():
            assert target in services, f"{name} depends on unknown service {target!r}"
            assert condition in DEPENDS_ON_CONDITIONS, f"{name} -> {target}: bad condition {condition!r}"
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target} healthy, no healthcheck"
            if condition == "service_completed_successfully":
                assert services[target].get("restart", "no") == "no", f"{target} is a job, must not restart"


def test_published_host_ports_are_unique(services: dict[str, dict[str, Any]]) -> None:
    seen: dict[int, str] = {}
    for name, svc in services.items():
        for _ip, port in published_ports(svc):
            assert port not in seen, f"host port {port} published by both {seen[port]} and {name}"
            seen[port] = name
    assert {8000, 8233, 6333} <= set(seen)
    assert seen[8233] == "temporal-ui" and seen[8000] == "api" and seen[6333] == "qdrant"


def test_temporal_ui_maps_host_8233_to_container_8080(services: dict[str, dict[str, Any]]) -> None:
    ui = services["temporal-ui"]
    assert any(str(p).endswith("8233:8080") for p in ui["ports"])
    assert env_of(ui)["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_worker_is_scalable(services: dict[str, dict[str, Any]]) -> None:
    worker = services["worker"]
    assert "container_name" not in worker
    assert not published_ports(worker), "a fixed host port would stop `--scale worker=N`"


# --- the app's environment --------------------------------------------------------------------


def app_env(services: dict[str, dict[str, Any]]) -> dict[str, str]:
    return env_of(services["worker"])


def test_worker_and_api_share_the_same_environment(services: dict[str, dict[str, Any]]) -> None:
    raw = load_raw()
    assert "x-app-env" in raw, "the shared environment is defined once, as x-app-env"
    assert env_of(services["worker"]) == env_of(services["api"])
    assert env_of(services["worker"]) == env_of({"environment": interpolate_tree(raw["x-app-env"])})
    assert REQUIRED_APP_ENV <= set(app_env(services))


def test_app_commands(services: dict[str, dict[str, Any]]) -> None:
    for name in ("worker", "api"):
        assert services[name].get("build") in (".", {"context": "."}), f"{name} builds from the Dockerfile"
    assert command_text(services["worker"]).split() == ["python", "worker.py"]
    assert command_text(services["api"]).split() == [
        "uvicorn",
        "api.main:app",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
    ]
    assert any(str(p).endswith("8000:8000") for p in services["api"]["ports"])
    health = services["api"]["healthcheck"]["test"]
    assert "http://localhost:8000/health" in (health if isinstance(health, str) else " ".join(health))


def test_database_url_points_at_the_postgres_service(services: dict[str, dict[str, Any]]) -> None:
    url = urlsplit(app_env(services)["DATABASE_URL"])
    assert url.scheme in ("postgresql", "postgres")
    assert url.hostname in postgres_services(services), f"{url.hostname!r} is not a postgres service"
    assert (url.port or 5432) == 5432
    # The database, role and password are the ones the init script creates.
    pg_env = env_of(services[url.hostname])
    assert url.path.lstrip("/") == pg_env["APP_DB_NAME"] == "support"
    assert url.username == pg_env["APP_DB_USER"] == "support"
    assert url.password == pg_env["APP_DB_PASSWORD"]


def test_temporal_address_points_at_the_temporal_service(services: dict[str, dict[str, Any]]) -> None:
    host, _, port = app_env(services)["TEMPORAL_ADDRESS"].partition(":")
    assert host == "temporal" and port == "7233"
    assert services[host]["image"].startswith("temporalio/")
    env = app_env(services)
    assert env["TEMPORAL_TASK_QUEUE"] == "support-tickets"
    admin_namespace = env_of(services["temporal-admin-tools"])["TEMPORAL_NAMESPACE"]
    assert env.get("TEMPORAL_NAMESPACE", "default") == admin_namespace


def test_qdrant_url_points_at_the_qdrant_service(services: dict[str, dict[str, Any]]) -> None:
    url = urlsplit(app_env(services)["QDRANT_URL"])
    assert url.scheme == "http" and url.hostname == "qdrant" and url.port == 6333
    assert services["qdrant"]["image"].startswith("qdrant/qdrant:")


def test_model_provider_defaults_to_offline(services: dict[str, dict[str, Any]]) -> None:
    env = app_env(services)
    assert env["MODEL_PROVIDER"] == "offline"
    assert env["OPENAI_API_KEY"] == "", "no real secret in the compose file"
    raw_env = load_raw()["x-app-env"]
    assert raw_env["OPENAI_API_KEY"] == "${OPENAI_API_KEY:-}"
    assert raw_env.get("API_KEY", "${API_KEY:-}") == "${API_KEY:-}", "the API key comes from the environment"


def test_no_literal_passwords(services: dict[str, dict[str, Any]]) -> None:
    raw = load_raw()
    for name, svc in raw["services"].items():
        for key, value in env_of(svc).items():
            if "PASSWORD" in key or key.endswith("_PWD"):
                assert value.startswith("${") and ":-" in value, f"{name}.{key}: take it from the environment"
    assert "${POSTGRES_PASSWORD:-support}" in raw["x-app-env"]["DATABASE_URL"]


# --- Temporal ----------------------------------------------------------------------------------


def test_temporal_server_configuration(services: dict[str, dict[str, Any]]) -> None:
    temporal = services["temporal"]
    env = env_of(temporal)
    assert env["DB"] == "postgres12"
    assert env["POSTGRES_SEEDS"] in postgres_services(services)
    assert env["POSTGRES_USER"] == env_of(services[env["POSTGRES_SEEDS"]])["POSTGRES_USER"]
    assert env["POSTGRES_PWD"] == env_of(services[env["POSTGRES_SEEDS"]])["POSTGRES_PASSWORD"]
    assert depends_on(temporal) == {env["POSTGRES_SEEDS"]: "service_healthy"}


def test_admin_tools_registers_the_search_attributes(services: dict[str, dict[str, Any]]) -> None:
    admin = services["temporal-admin-tools"]
    text = command_text(admin)
    assert "temporal operator search-attribute create" in text
    registered = dict(re.findall(r"--name\s+([A-Za-z0-9_]+)\s+--type\s+([A-Za-z]+)", text))
    for name, sa_type in REQUIRED_SEARCH_ATTRIBUTES.items():
        assert registered.get(name) == sa_type, f"{name} must be registered as {sa_type}, got {registered}"
    assert env_of(admin)["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert "temporal operator cluster health" in text, "must retry until the server answers"
    assert "temporal" in depends_on(admin)


def test_app_waits_for_search_attributes(services: dict[str, dict[str, Any]]) -> None:
    for name in ("worker", "api"):
        deps = depends_on(services[name])
        assert deps.get("temporal-admin-tools") == "service_completed_successfully"
        assert {"temporal", "qdrant"} <= set(deps)
        assert postgres_services(services) & set(deps)


def test_postgres_service(services: dict[str, dict[str, Any]]) -> None:
    pg = services["postgresql"]
    test = pg["healthcheck"]["test"]
    assert "pg_isready" in (test if isinstance(test, str) else " ".join(test))
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in pg["volumes"])


# --- files the stack refers to ------------------------------------------------------------------


def bind_mounts(services: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(service, host path, container path) for every bind mount of a relative host path."""
    result = []
    for name, svc in services.items():
        for vol in svc.get("volumes") or []:
            if isinstance(vol, dict):
                if vol.get("type") == "bind":
                    result.append((name, str(vol["source"]), str(vol["target"])))
                continue
            parts = str(vol).split(":")
            if len(parts) >= 2 and parts[0].startswith((".", "/")):
                result.append((name, parts[0], parts[1]))
    return result


def test_bind_mounted_files_exist(services: dict[str, dict[str, Any]]) -> None:
    mounts = bind_mounts(services)
    deploy_mounts = [m for m in mounts if m[1].startswith("./deploy")]
    assert deploy_mounts, "expected config mounted from ./deploy"
    for name, host, _ in mounts:
        assert (ROOT / host).exists(), f"{name}: bind mount source {host} does not exist"


def test_postgres_init_script_creates_the_app_database(services: dict[str, dict[str, Any]]) -> None:
    scripts = [
        ROOT / host
        for name, host, target in bind_mounts(services)
        if name == "postgresql" and target.startswith("/docker-entrypoint-initdb.d/")
    ]
    assert scripts, "the app database `support` is created by an init script"
    text = "\n".join(p.read_text() for p in scripts)
    assert "CREATE DATABASE" in text and "CREATE ROLE" in text


def test_temporal_dynamic_config_file_exists(services: dict[str, dict[str, Any]]) -> None:
    temporal = services["temporal"]
    rel = env_of(temporal)["DYNAMIC_CONFIG_FILE_PATH"]  # relative to /etc/temporal in the image
    container_path = "/etc/temporal/" + rel
    for _name, host, target in (m for m in bind_mounts(services) if m[0] == "temporal"):
        if container_path.startswith(target.rstrip("/") + "/"):
            path = ROOT / host / container_path[len(target.rstrip("/")) + 1 :]
            break
        if container_path == target:
            path = ROOT / host
            break
    else:
        pytest.fail(f"{container_path} is not mounted into the temporal service")
    config = yaml.safe_load(path.read_text())
    assert isinstance(config, dict) and config
    for key, entries in config.items():
        assert isinstance(entries, list) and all("value" in e for e in entries), key


# --- settings ---------------------------------------------------------------------------------


def settings_class() -> Any:
    source = SETTINGS_FILE.read_text() if SETTINGS_FILE.exists() else ""
    tree = ast.parse(source)
    if not any(isinstance(node, ast.ClassDef) and node.name == "Settings" for node in tree.body):
        pytest.skip("settings/__init__.py has no Settings class yet")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("settings").Settings


def accepted_env_names(settings_cls: Any) -> set[str]:
    config = settings_cls.model_config
    prefix = config.get("env_prefix", "") or ""
    case_sensitive = bool(config.get("case_sensitive", False))
    names: set[str] = set()
    for field_name, field in settings_cls.model_fields.items():
        alias = field.validation_alias
        choices = getattr(alias, "choices", None)
        if isinstance(alias, str):
            names.add(alias)
        elif choices is not None:
            names.update(c for c in choices if isinstance(c, str))
        else:
            names.add(prefix + field_name)
    return names if case_sensitive else {n.upper() for n in names}


def test_app_env_keys_are_settings_fields(services: dict[str, dict[str, Any]]) -> None:
    settings_cls = settings_class()
    accepted = accepted_env_names(settings_cls)
    case_sensitive = bool(settings_cls.model_config.get("case_sensitive", False))
    for key in app_env(services):
        name = key if case_sensitive else key.upper()
        assert name in accepted, f"{key} is not a field of settings.Settings (fields: {sorted(accepted)})"


def test_app_env_values_validate_against_settings(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_cls = settings_class()
    for key, value in app_env(services).items():
        monkeypatch.setenv(key, value)
    settings_cls(_env_file=None)  # raises ValidationError if the stack's values are not accepted


# --- Dockerfile --------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            result.append((op.upper(), rest.strip()))
    return result


def test_dockerfile_base_and_install() -> None:
    instructions = dockerfile_instructions()
    froms = [arg for op, arg in instructions if op == "FROM"]
    assert froms and froms[-1].split()[0] == "python:3.11-slim"
    runs = " ".join(arg for op, arg in instructions if op == "RUN")
    assert re.search(r"pip install (--no-deps )?\.(\s|$)", runs), "install the project with `pip install .`"


def test_dockerfile_does_not_run_as_root() -> None:
    users = [arg for op, arg in dockerfile_instructions() if op == "USER"]
    assert users, "the Dockerfile needs a USER line"
    assert users[-1].split(":", 1)[0] not in ("root", "0")


def test_dockerfile_cmd_and_commands_refer_to_existing_files(services: dict[str, dict[str, Any]]) -> None:
    cmds = [arg for op, arg in dockerfile_instructions() if op == "CMD"]
    assert cmds, "the Dockerfile needs a CMD"
    cmd = yaml.safe_load(cmds[-1]) if cmds[-1].startswith("[") else shlex.split(cmds[-1])
    assert cmd == ["python", "worker.py"]
    commands = [cmd, command_text(services["worker"]).split()]
    for argv in commands:
        scripts = [a for a in argv if a.endswith(".py")]
        assert scripts and all((ROOT / s).is_file() for s in scripts), argv
    module = command_text(services["api"]).split()[1].split(":", 1)[0]
    assert module == "api.main"
    assert (ROOT / "api").is_dir(), "the API package"


def test_dockerignore_keeps_what_the_build_needs() -> None:
    patterns = [
        stripped
        for line in DOCKERIGNORE.read_text().splitlines()
        if (stripped := line.strip()) and not stripped.startswith("#")
    ]
    needed = ["pyproject.toml", "worker.py", "settings/__init__.py", "api/main.py", "db/migrations/V1__initial.sql"]
    for path in needed:
        for pattern in patterns:
            if pattern.startswith("!"):
                continue
            p = pattern.lstrip("/").removeprefix("**/")
            hit = fnmatch.fnmatch(path, p) or path.startswith(p.rstrip("/") + "/")
            assert not hit, f".dockerignore pattern {pattern!r} would drop {path}"
    for secret in (".env", ".venv", ".git"):
        assert secret in patterns, f"{secret} must stay out of the build context"
