"""The deployment of docs/deploy.md in miniature: deploy/nginx-pantau.conf (HTTPS, sticky by
client address) in front of two app processes on one PostgreSQL database.

- A step recorded through one process shows on the dashboard served by the other.
- One process is killed: its user is served by the other (after signing in again if the login
  cookie is not accepted there; sessions live in the shared database, so it is).

Clients are told apart by X-Forwarded-For (nginx trusts it from loopback, as behind another
load balancer), since every browser here connects from 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import shutil
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from db.engine import make_engine, read_session, write_session
from db.models import LoginSession
from services.accounts import load_actor
from services.clock import utcnow
from services.workflow import engine as wf
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import (
    Server,
    click,
    free_port,
    log_in_here,
    screenshot,
    start_server,
    wait_for_app_run,
)
from tests.organisation import PASSWORD, build_organisation

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
SITE = REPO_ROOT / "deploy" / "nginx-pantau.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
UNVERIFIED = ssl._create_unverified_context()  # the test's self-signed certificate


@dataclass
class Proxy:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def nginx_config(directory: Path, *, https_port: int, http_port: int,
                 upstreams: list[int]) -> Path:
    """The shipped site, with this test's ports and certificate, inside a minimal nginx.conf."""
    site = SITE.read_text()
    site = site.replace("127.0.0.1:8501", f"127.0.0.1:{upstreams[0]}")
    site = site.replace("127.0.0.1:8502", f"127.0.0.1:{upstreams[1]}")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    site = site.replace("/etc/ssl/pantau/", f"{directory}/")
    site = site.replace("proxy_pass http://pantau;", "proxy_pass http://pantau;\n"
                        "        add_header X-Pantau-Upstream $upstream_addr always;")
    assert site.count(str(directory)) == 2 and str(upstreams[1]) in site
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(directory / "privkey.pem"),
                    "-out", str(directory / "fullchain.pem")], check=True, capture_output=True)
    (directory / "site.conf").write_text(site)
    temp = directory / "temp"
    temp.mkdir()
    main = directory / "nginx.conf"
    main.write_text(f"""
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {directory}/access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    include {directory}/site.conf;
}}
""")
    return main


def upstream_of(url: str, client: str) -> str:
    request = urllib.request.Request(f"{url}/_stcore/health",
                                     headers={"X-Forwarded-For": client})
    with urllib.request.urlopen(request, timeout=5, context=UNVERIFIED) as reply:
        assert reply.read() == b"ok"
        return reply.headers["X-Pantau-Upstream"]


@pytest.fixture
def deployment(postgres_databases, tmp_path: Path) -> Iterator[tuple[Proxy, list[Server]]]:
    if not Path(NGINX).exists():
        if os.environ.get("PANTAU_REQUIRE_NGINX") == "1":
            pytest.fail("nginx not found: install Debian's package (`apt install nginx`)")
        pytest.skip("nginx is not installed (`apt install nginx`): the deployment test did not run")
    url = postgres_databases.fresh()
    engine = make_engine(url)
    build_organisation(engine)
    engine.dispose()
    servers = [start_server(url, tmp_path / f"app-{n}.log")
               for n in (1, 2)]
    https_port, http_port = free_port(), free_port()
    config = nginx_config(tmp_path, https_port=https_port, http_port=http_port,
                          upstreams=[int(s.url.rsplit(":", 1)[1]) for s in servers])
    checked = subprocess.run([NGINX, "-t", "-c", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([NGINX, "-c", str(config), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    proxy = Proxy(f"https://127.0.0.1:{https_port}", process, tmp_path / "error.log")
    deadline = time.monotonic() + 20
    while True:
        try:
            upstream_of(proxy.url, "10.0.0.1")
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise
            time.sleep(0.2)
    yield proxy, servers
    process.terminate()
    process.wait(timeout=10)
    for server in servers:
        server.stop()


def client_page(browser: Browser, address: str) -> Page:
    context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  ignore_https_errors=True,
                                  extra_http_headers={"X-Forwarded-For": address})
    page = context.new_page()
    page.set_default_timeout(60_000)
    return page


def test_two_processes_behind_nginx_share_work_and_survive_a_crash(deployment, browser) -> None:
    proxy, servers = deployment
    # Two client addresses that the hash sends to different processes.
    placed = {f"10.0.0.{n}": upstream_of(proxy.url, f"10.0.0.{n}") for n in range(1, 40)}
    kadis_address = "10.0.0.1"
    fungsional_address = next(a for a, up in placed.items() if up != placed[kadis_address])
    assert all(upstream_of(proxy.url, a) == up for a, up in list(placed.items())[:5])  # sticky
    engine = make_engine(servers[0].database_url)
    with write_session(engine) as session:
        case = wf.start_case(session, actor=load_actor(session, username="fungsional"),
                             sop_code="e-kinerja", title="e-Kinerja lewat proxy",
                             at=utcnow()).case_id
    engine.dispose()

    kadis = client_page(browser, kadis_address)
    reply = kadis.goto(f"{proxy.url}/dasbor?periode=2026")
    assert reply is not None and reply.headers["x-pantau-upstream"] == placed[kadis_address]
    wait_for_app_run(kadis)
    log_in_here(kadis, "kadis", PASSWORD)
    expect(kadis.get_by_text(re.compile(r"Kepatuhan .* \(0 dari 0\)")).first).to_be_visible()
    # A sign-in counts against the client address nginx settled on (here through the
    # load balancer it trusts, as docs/deploy.md describes), passed on as the last entry of
    # X-Forwarded-For; without the header every client would be the proxy.
    engine = make_engine(servers[0].database_url)
    with read_session(engine) as session:
        clients = set(session.scalars(select(LoginSession.client)))
    engine.dispose()
    assert clients == {kadis_address}

    fungsional = client_page(browser, fungsional_address)
    reply = fungsional.goto(f"{proxy.url}/catat?kasus={case}")
    assert reply is not None
    fungsional_upstream = reply.headers["x-pantau-upstream"]
    assert fungsional_upstream != placed[kadis_address]
    wait_for_app_run(fungsional)
    log_in_here(fungsional, "fungsional", PASSWORD)
    expect(fungsional.get_by_text("Langkah 1 dari 7")).to_be_visible()
    wait_for_app_run(fungsional)
    click(fungsional, "Catat")
    expect(fungsional.get_by_text("Langkah 2 dari 7")).to_be_visible()

    kadis.reload()  # the other process sees the step (its cache is keyed on the data version)
    wait_for_app_run(kadis)
    expect(kadis.get_by_text(re.compile(r"Kepatuhan .* \(\d dari 1\)")).first).to_be_visible()

    # The fungsional's process dies; the next page load is answered by the other one.
    dead = next(s for s in servers if s.url.endswith(fungsional_upstream.rsplit(":", 1)[1]))
    dead.process.kill()
    dead.process.wait(timeout=10)
    reply = fungsional.goto(f"{proxy.url}/catat?kasus={case}")
    assert reply is not None  # nginx tried the dead process, then the live one answered
    assert reply.headers["x-pantau-upstream"].split(", ")[-1] == placed[kadis_address]
    wait_for_app_run(fungsional)
    if fungsional.get_by_label("Nama pengguna", exact=True).count():
        log_in_here(fungsional, "fungsional", PASSWORD)
    expect(fungsional.get_by_text("Langkah 2 dari 7")).to_be_visible()
    screenshot(fungsional, "nginx-setelah-proses-mati")
    errors = [line for line in proxy.log.read_text().splitlines() if "[error]" in line]
    assert errors and all("connect() failed" in line and fungsional_upstream in line
                          for line in errors), errors  # only the dead process, nothing else
    kadis.context.close()
    fungsional.context.close()
