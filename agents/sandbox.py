"""The TechnicalAgent's code execution (diagnostics, calculations): off unless the worker enables it.

AutoGen's `LocalCommandLineCodeExecutor` runs code with the worker's own environment (every secret in
it), as the worker's user, with network access and no memory limit. `SandboxedPythonExecutor`
implements the same AutoGen `CodeExecutor` interface but confines each snippet:

- a fresh scratch folder per run (deleted afterwards), the only place it may read, write or list;
- an empty environment (no credentials, no proxy settings), `python -I -S` (no site-packages, no
  project code on the path);
- limits: wall-clock timeout (the whole process group is killed), CPU seconds, address space
  (memory), file size, open files, no child processes;
- no network: a fresh network namespace when the kernel allows it (root), and always an audit hook
  that refuses sockets, subprocesses, exec, fork, ctypes, further imports and any file outside the
  scratch folder; when started as root it also drops to `nobody` first.

Available modules are a fixed, pre-imported list of the standard library (math, statistics, decimal,
datetime, json, re, collections, ...). This is a guard against an agent's mistakes and a
prompt-injected snippet, not a container: for hostile code use a Docker or remote executor.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Self

from autogen_core import CancellationToken, Component
from autogen_core.code_executor import CodeBlock, CodeExecutor, CodeResult
from autogen_ext.tools.code_execution import PythonCodeExecutionTool
from pydantic import BaseModel

from agents.context import CODE_TOOL

PRELOADED = (
    "math cmath statistics decimal fractions datetime time calendar json re collections itertools functools "
    "operator string textwrap random heapq bisect dataclasses enum typing pprint csv io base64 hashlib "
    "ipaddress urllib.parse struct copy difflib unicodedata"
).split()
OUTPUT_FILE = "output.txt"
NOBODY = 65534

# Runs in the child before the snippet: limits, namespace, privileges, then the audit hook. It must
# not leave anything in __main__ the snippet could use to weaken the hook.
LAUNCHER = r"""
import os, resource, sys
def _sandbox(work, snippet, mem, cpu, preload):
    def limit(res, value):
        try:
            resource.setrlimit(res, (value, value))
        except (ValueError, OSError):
            pass
    limit(resource.RLIMIT_AS, mem)
    limit(resource.RLIMIT_CPU, cpu)
    limit(resource.RLIMIT_FSIZE, 8 << 20)
    limit(resource.RLIMIT_NOFILE, 32)
    limit(resource.RLIMIT_CORE, 0)
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).unshare(0x40000000)  # CLONE_NEWNET: no interfaces but a down lo
    except Exception:
        pass
    for name in [m for m in sys.modules if m.split(".")[0] in ("ctypes", "_ctypes")]:
        del sys.modules[name]
    for name in preload:
        __import__(name)
    # Enter the folder and read the snippet first: the folder's parents need not be readable by nobody.
    os.chdir(work)
    with open(snippet, encoding="utf-8") as f:
        source = f.read()
    if os.getuid() == 0:
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    limit(resource.RLIMIT_NPROC, 0)
    root = os.path.realpath(work)
    denied = ("socket.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
              "os.forkpty", "os.kill", "os.killpg", "os.putenv", "os.unsetenv", "os.chroot", "os.truncate",
              "os.link", "os.symlink", "os.chown", "os.chflags", "os.lchflags", "os.setxattr", "os.removexattr",
              "ctypes.", "pty.", "gc.", "sys._getframe", "sys._current_frames", "sys.setprofile", "sys.settrace",
              "object.__setattr__", "object.__delattr__", "code.__new__", "function.__new__", "marshal.",
              "pickle.", "import", "mmap.", "resource.", "sys.addaudithook", "urllib.Request", "http.",
              "ftplib.", "smtplib.", "webbrowser.", "shutil.", "tempfile.", "glob.", "cpython.run_",
              "sqlite3.", "syslog.", "msvcrt.", "winreg.", "_winapi.")
    pathed = ("open", "os.listdir", "os.scandir", "os.remove", "os.rmdir", "os.mkdir", "os.rename",
              "os.chmod", "os.utime", "os.chdir")
    realpath, fsdecode = os.path.realpath, os.fsdecode
    def inside(value):
        if isinstance(value, int):
            return True  # an already open descriptor: only stdin/stdout/stderr exist
        if value is None:
            return True
        try:
            path = realpath(fsdecode(value))
        except (TypeError, ValueError):
            return False
        return path == root or path.startswith(root + "/")
    def hook(event, args):
        if event.startswith(denied):
            raise PermissionError("sandbox: " + event + " is not allowed")
        if event in pathed:
            paths = args[:1] if event in ("open", "os.listdir", "os.scandir", "os.chdir") else args[:2]
            for value in paths:
                if not (isinstance(value, (str, bytes, int)) or value is None) or not inside(value):
                    raise PermissionError("sandbox: " + event + " outside the scratch folder is not allowed")
    sys.addaudithook(hook)
    return compile(source, "snippet.py", "exec")
_code = _sandbox(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5].split(","))
del _sandbox
exec(_code, {"__name__": "__main__", "__builtins__": __builtins__})
"""


class SandboxConfig(BaseModel):
    scratch_root: str
    timeout_seconds: float = 10.0
    memory_mb: int = 256
    max_output_chars: int = 4000


def _minimal_env(work: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": str(work), "TMPDIR": str(work)}


class SandboxedPythonExecutor(CodeExecutor, Component[SandboxConfig]):
    """Runs Python snippets one at a time, each confined as described in the module docstring."""

    component_type = "code_executor"
    component_config_schema = SandboxConfig
    component_provider_override = "agents.sandbox.SandboxedPythonExecutor"

    def __init__(
        self,
        scratch_root: str | Path,
        *,
        timeout_seconds: float = 10.0,
        memory_mb: int = 256,
        max_output_chars: int = 4000,
    ) -> None:
        if os.name != "posix":
            raise RuntimeError("the sandboxed code executor needs a POSIX system")
        self._root = Path(scratch_root)
        self._timeout = timeout_seconds
        self._memory = memory_mb << 20
        self._max_output = max_output_chars

    async def execute_code_blocks(
        self, code_blocks: list[CodeBlock], cancellation_token: CancellationToken
    ) -> CodeResult:
        outputs: list[str] = []
        exit_code = 0
        for block in code_blocks:
            if block.language.lower() not in ("python", "py", "python3", ""):
                return CodeResult(exit_code=1, output=f"only Python is supported, not {block.language}")
            exit_code, output = await self._run(block.code, cancellation_token)
            outputs.append(output)
            if exit_code != 0:
                break
        return CodeResult(exit_code=exit_code, output="".join(outputs)[: self._max_output])

    def _prepare(self, code: str) -> tuple[Path, int]:
        """A fresh scratch folder with the snippet, and the descriptor the child writes its output to."""
        self._root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="run-", dir=self._root))
        (work / "snippet.py").write_text(code, encoding="utf-8")
        out = os.open(work / OUTPUT_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        if os.geteuid() == 0:  # the child drops to nobody: it must still own its scratch folder
            for path in (work, work / "snippet.py", work / OUTPUT_FILE):
                os.chown(path, NOBODY, NOBODY)
        return work, out

    def _collect(self, work: Path) -> str:
        try:
            with (work / OUTPUT_FILE).open("rb") as f:
                return f.read(self._max_output * 4).decode("utf-8", "replace")
        finally:
            shutil.rmtree(work, ignore_errors=True)

    async def _run(self, code: str, cancellation_token: CancellationToken) -> tuple[int, str]:
        work, out = await asyncio.to_thread(self._prepare, code)
        note, exit_code = "", 1
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-I",
                "-S",
                "-B",
                "-c",
                LAUNCHER,
                str(work),
                str(work / "snippet.py"),
                str(self._memory),
                str(max(1, int(self._timeout) + 1)),
                ",".join(PRELOADED),
                cwd=work,
                env=_minimal_env(work),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,  # its own process group, killed as a whole on timeout
            )
            os.close(out)
            out = -1
            waiter = asyncio.ensure_future(proc.wait())
            cancellation_token.link_future(waiter)
            try:
                exit_code = await asyncio.wait_for(waiter, self._timeout)
            except (TimeoutError, asyncio.CancelledError) as exc:
                _kill_group(proc.pid)
                await proc.wait()
                exit_code, note = 124, f"\nsandbox: stopped after {self._timeout:g} s"
                if isinstance(exc, asyncio.CancelledError) and not cancellation_token.is_cancelled():
                    raise
        finally:
            if out >= 0:
                os.close(out)
            text = await asyncio.to_thread(self._collect, work)
        return exit_code, text + note

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def restart(self) -> None:
        return None

    def _to_config(self) -> SandboxConfig:
        return SandboxConfig(
            scratch_root=str(self._root),
            timeout_seconds=self._timeout,
            memory_mb=self._memory >> 20,
            max_output_chars=self._max_output,
        )

    @classmethod
    def _from_config(cls, config: SandboxConfig) -> Self:
        return cls(
            config.scratch_root,
            timeout_seconds=config.timeout_seconds,
            memory_mb=config.memory_mb,
            max_output_chars=config.max_output_chars,
        )


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class _CodeTool(PythonCodeExecutionTool):
    def __init__(self, executor: CodeExecutor, description: str) -> None:
        super().__init__(executor)
        self._name = CODE_TOOL
        self._description = description


def code_tool(executor: CodeExecutor) -> PythonCodeExecutionTool:
    """The TechnicalAgent's `run_python` tool on `executor`."""
    modules = ", ".join(PRELOADED)
    return _CodeTool(
        executor,
        "Run a short Python snippet for a diagnostic or a calculation and return what it prints. No network, "
        f"no files outside a scratch folder, tight time and memory limits; only these modules: {modules}.",
    )


__all__ = ["SandboxedPythonExecutor", "code_tool"]
