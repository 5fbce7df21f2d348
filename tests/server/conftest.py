"""Fixtures for the server tests: the real FHIR engine on loopback, a server that
misbehaves on purpose, and a way to run the CLI in-process and see what it printed.
"""

from __future__ import annotations

import http.server
import json
import os
import queue
import shutil
import socketserver
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
NODE_SERVER_DIR = REPO / "tests" / "fhir_server"
DATA = REPO / "tests" / "data" / "server"
INSTALL = "npm ci --prefix tests/fhir_server"
# Small pages, so every pull has to follow `next` links.
PAGE_SIZE = 4
START_TIMEOUT = 60.0


@dataclass
class NodeServer:
    base_url: str
    process: subprocess.Popen[str]
    # The server's stderr goes to a file: an unread pipe would fill and stall it.
    log: Any = None


def _start_node_server(extra_env: dict[str, str] | None = None) -> NodeServer:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "The server tests need Node.js 20 or later on PATH (`node` was not found).", pytrace=False
        )
    if not (NODE_SERVER_DIR / "node_modules" / "@medplum" / "fhir-router").is_dir():
        pytest.fail(
            f"The test FHIR server is not installed: run `{INSTALL}` in {REPO} first "
            "(the README's test command does).",
            pytrace=False,
        )
    env = {**os.environ, **(extra_env or {})}
    env.pop("FHIRCONV_TOKEN", None)
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - lives as long as the server; closed in _stop
    process = subprocess.Popen(
        [
            node,
            str(NODE_SERVER_DIR / "server.mjs"),
            "--port",
            "0",
            "--host",
            "127.0.0.1",
            "--page-size",
            str(PAGE_SIZE),
        ],
        cwd=NODE_SERVER_DIR,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=env,
    )
    # The server prints its URL once it listens (port 0: the OS picks a free one,
    # so parallel runs never collide).  Read it on a thread to bound the wait.
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: lines.put(process.stdout.readline() if process.stdout else ""), daemon=True
    ).start()
    try:
        first = lines.get(timeout=START_TIMEOUT)
    except queue.Empty:
        process.kill()
        pytest.fail(f"The test FHIR server did not start within {START_TIMEOUT:g} s", pytrace=False)
    if not first:
        process.wait(timeout=10)
        log.seek(0)
        stderr = log.read()
        pytest.fail(f"The test FHIR server exited with {process.returncode}:\n{stderr}", pytrace=False)
    return NodeServer(base_url=json.loads(first)["listening"], process=process, log=log)


def _stop(server: NodeServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)
    if server.log is not None:
        server.log.close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' own httpx calls go to loopback directly, whatever the machine's proxy settings."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def fhir_server() -> Iterator[NodeServer]:
    """Medplum's FHIR engine (tests/fhir_server) on a free loopback port, for the whole session."""
    server = _start_node_server()
    yield server
    _stop(server)


TOKEN = "s3cr3t-T0KEN-never-print-me"


@pytest.fixture(scope="session")
def fhir_server_with_token() -> Iterator[NodeServer]:
    """The same engine, answering 401 to any request without ``Bearer TOKEN``."""
    server = _start_node_server({"FHIR_SERVER_TOKEN": TOKEN})
    yield server
    _stop(server)


# -- the misbehaving server --------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    body: bytes | str | dict = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str = "application/fhir+json"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class _FaultyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; without this each answer waits
    # for a delayed ACK (about 40 ms), which adds up over a paged pull.
    disable_nagle_algorithm = True

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        owner: FaultyServer = self.server.owner  # type: ignore[attr-defined]
        owner.seen.append(Seen(self.command, self.path, dict(self.headers), body, time.monotonic()))
        reply = owner.next_reply(owner.seen[-1])
        if reply.delay:
            time.sleep(reply.delay)
        payload = reply.body
        if isinstance(payload, dict):
            payload = json.dumps(payload).encode()
        elif isinstance(payload, str):
            payload = payload.encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer to

    do_GET = do_POST = do_PUT = _handle

    def log_message(self, format: str, *args: object) -> None:
        pass


class _ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class FaultyServer:
    """Answers from a script of replies, then repeats the last one; records every request."""

    def __init__(self, replies: list[Reply | Callable[[Seen], Reply]]) -> None:
        self.replies = list(replies)
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._httpd = _ThreadingServer(("127.0.0.1", 0), _FaultyHandler)
        self._httpd.owner = self  # type: ignore[attr-defined]
        host, port = self._httpd.server_address[:2]
        self.base_url = f"http://{host}:{port}/fhir"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def next_reply(self, request: Seen) -> Reply:
        with self._lock:
            item = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        return item(request) if callable(item) else item

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def faulty_server() -> Iterator[Callable[..., FaultyServer]]:
    started: list[FaultyServer] = []

    def start(*replies: Reply | Callable[[Seen], Reply]) -> FaultyServer:
        server = FaultyServer(list(replies))
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()
