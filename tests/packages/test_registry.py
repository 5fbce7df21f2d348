"""``fhirconv ig install`` against a local npm registry serving the real package tarballs.

The registry protocol is the thing under test: package metadata at ``/<name>``, tarballs at
their ``dist.tarball`` URL with ``dist.integrity``; the server runs on loopback.
"""

import base64
import hashlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import FHIR_PACKAGES


def pinned():
    out = {}
    for line in (FHIR_PACKAGES / "packages.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split()[0].rsplit("@", 1)
            out[name] = version
    return out


class FakeRegistry:
    def __init__(self, corrupt=()):
        self.corrupt = set(corrupt)
        self.requests = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                registry.requests.append(self.path)
                status, body = registry.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, path):
        versions = pinned()
        if path.startswith("/-/tarballs/"):
            name = path.rsplit("/", 1)[-1]
            file = FHIR_PACKAGES / name
            if not file.is_file():
                return 404, b"{}"
            data = file.read_bytes()
            if name.split("-")[0] in self.corrupt:
                data = data[:-10] + b"0123456789"
            return 200, data
        name = path.lstrip("/")
        if name not in versions:
            return 404, b'{"error": "Not found"}'
        version = versions[name]
        data = (FHIR_PACKAGES / f"{name}-{version}.tgz").read_bytes()
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        meta = {
            "name": name,
            "dist-tags": {"latest": version},
            "versions": {
                version: {
                    "name": name,
                    "version": version,
                    "dist": {
                        "tarball": f"{self.url}/-/tarballs/{name}-{version}.tgz",
                        "integrity": integrity,
                    },
                }
            },
        }
        return 200, json.dumps(meta).encode()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def registry():
    with FakeRegistry() as fake:
        yield fake


@pytest.fixture
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("FHIRCONV_PACKAGE_CACHE", str(root))
    return root


def test_install_ips_with_its_dependencies(registry, cache, run_cli, fhir_package):
    done = run_cli("ig", "install", "hl7.fhir.uv.ips@2.0.0", "--registry", registry.url)
    assert done.code == 0, done.err
    url = registry.url
    assert done.out.splitlines() == [
        f"installed hl7.fhir.uv.ips#2.0.0 in {cache / 'hl7.fhir.uv.ips#2.0.0'}",
        "hl7.fhir.r4.core#4.0.1 is built into fhirconv (the R4 core is not on npm): not installed",
        f"installed hl7.terminology.r4#7.0.1 in {cache / 'hl7.terminology.r4#7.0.1'} "
        f"(hl7.fhir.uv.ips#2.0.0 asks for 6.5.0, which {url} does not publish: took the nearest, 7.0.1)",
        f"installed hl7.fhir.uv.extensions.r4#5.3.0-ballot-tc1 in "
        f"{cache / 'hl7.fhir.uv.extensions.r4#5.3.0-ballot-tc1'} (hl7.fhir.uv.ips#2.0.0 asks for 5.2.0, "
        f"which {url} does not publish: took the nearest, 5.3.0-ballot-tc1)",
        "hl7.fhir.uv.ipa#1.1.0: not installed "
        f"(a dependency of hl7.fhir.uv.ips#2.0.0, not on the registry {url})",
    ]
    folder = cache / "hl7.fhir.uv.ips#2.0.0" / "package"
    assert json.loads((folder / "package.json").read_text())["version"] == "2.0.0"
    index = json.loads((folder / ".index.json").read_text())
    assert {
        "filename": "StructureDefinition-Patient-uv-ips.json",
        "resourceType": "StructureDefinition",
    }.items() <= (
        next(f for f in index["files"] if f["filename"] == "StructureDefinition-Patient-uv-ips.json").items()
    )
    assert (folder / "example" / "Patient-66033.json").is_file()
    # No scratch folders left behind.
    assert sorted(p.name for p in cache.iterdir()) == [
        "hl7.fhir.uv.extensions.r4#5.3.0-ballot-tc1",
        "hl7.fhir.uv.ips#2.0.0",
        "hl7.terminology.r4#7.0.1",
    ]
    # What was installed serves validate --ig.
    example = fhir_package("hl7.fhir.uv.ips") / "example" / "Bundle-bundle-minimal.json"
    checked = run_cli("validate", "--format", "json", "--ig", "hl7.fhir.uv.ips@2.0.0", str(example))
    assert checked.code == 0, checked.out
    assert "profile-unavailable" not in checked.out

    before = len(registry.requests)
    again = run_cli("ig", "install", "hl7.fhir.uv.ips@2.0.0", "--registry", registry.url)
    assert again.out.splitlines()[0] == (
        f"hl7.fhir.uv.ips#2.0.0 is already in the package cache ({cache / 'hl7.fhir.uv.ips#2.0.0'})"
    )
    assert not any("/-/tarballs/" in p for p in registry.requests[before:])

    listed = run_cli("ig", "list")
    assert listed.out.splitlines() == [
        "hl7.fhir.uv.extensions.r4#5.3.0-ballot-tc1",
        "hl7.fhir.uv.ips#2.0.0",
        "hl7.terminology.r4#7.0.1",
    ]


def test_latest_when_no_version_is_given(registry, cache, run_cli):
    done = run_cli("ig", "install", "hl7.terminology.r4", "--registry", registry.url)
    assert done.code == 0, done.err
    assert done.out.splitlines()[0].startswith("installed hl7.terminology.r4#7.0.1 in ")


def test_the_registry_comes_from_the_environment(registry, cache, run_cli):
    done = run_cli("ig", "install", "hl7.terminology.r4@7.0.1", env={"FHIRCONV_NPM_REGISTRY": registry.url})
    assert done.code == 0, done.err
    assert registry.requests[0] == "/hl7.terminology.r4"


def test_a_version_that_is_not_published_is_refused(registry, cache, run_cli):
    done = run_cli("ig", "install", "hl7.fhir.uv.ips@9.0.0", "--registry", registry.url)
    assert done.code == 2
    assert done.err == (
        f"Error: hl7.fhir.uv.ips@9.0.0 is not published on {registry.url} (versions include: 2.0.0)\n"
    )


def test_a_package_that_is_not_on_the_registry_is_refused(registry, cache, run_cli):
    done = run_cli("ig", "install", "hl7.fhir.us.core@6.1.0", "--registry", registry.url)
    assert (done.code, done.err) == (2, f"Error: hl7.fhir.us.core is not on the registry {registry.url}\n")


def test_a_tarball_that_fails_its_integrity_leaves_nothing(cache, run_cli):
    with FakeRegistry(corrupt={"hl7.fhir.uv.ips"}) as fake:
        done = run_cli("ig", "install", "hl7.fhir.uv.ips@2.0.0", "--registry", fake.url)
    assert done.code == 5
    assert done.err == "Error: hl7.fhir.uv.ips@2.0.0: the tarball does not match its published integrity\n"
    assert not cache.exists() or list(cache.iterdir()) == []


def test_an_unreachable_registry_exits_3(cache, run_cli):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = run_cli("ig", "install", "hl7.fhir.uv.ips@2.0.0", "--registry", f"http://127.0.0.1:{port}")
    assert done.code == 3
    assert done.err.startswith(f"Error: http://127.0.0.1:{port}/hl7.fhir.uv.ips: cannot reach the registry (")


def test_a_bad_spec_is_a_usage_error(cache, run_cli):
    done = run_cli("ig", "install", "not a package", "--registry", "http://127.0.0.1:9")
    assert (done.code, done.err) == (
        2,
        "Error: not a package: expected NAME@VERSION, such as hl7.fhir.uv.ips@2.0.0\n",
    )


def test_list_of_an_empty_cache(cache, run_cli):
    done = run_cli("ig", "list")
    assert done.out == f"the package cache {cache} holds no packages\n"
