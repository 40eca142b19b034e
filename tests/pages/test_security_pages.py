"""Security claims of docs/security.md about signing in, the cookie key and rendering that no
other page test proves (AppTest, and the ui helpers directly)."""

from __future__ import annotations

import ast
import os
import re
import stat
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
import streamlit
from streamlit_authenticator.models import cookie_model

from db.engine import make_engine, write_session
from services.accounts import SYSTEM, load_actor, reset_password, update_user
from services.clock import utcnow
from services.workflow import engine as wf
from tests.conftest import REPO_ROOT
from tests.organisation import NOW, wib
from tests.pages.conftest import fresh_app, log_in, run_ok
from tests.pages.test_work_pages import button, fields, markdown_with, started_case
from ui import auth
from ui.text import markdown_escape, markdown_lines

# --- the cookie key ---------------------------------------------------------------------------


def test_a_configured_cookie_key_shorter_than_32_characters_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PANTAU_COOKIE_KEY", "x" * 31)
    with pytest.raises(RuntimeError, match="at least 32 characters"):
        auth.cookie_key()
    monkeypatch.setenv("PANTAU_COOKIE_KEY", "y" * 32)
    assert auth.cookie_key() == "y" * 32


def test_without_a_configured_key_one_is_generated_once_random_and_private(
        monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("PANTAU_COOKIE_KEY")
    monkeypatch.setattr(auth, "COOKIE_KEY_FILE", tmp_path / "data" / "cookie_key")
    key = auth.cookie_key()
    assert len(key) >= 32 and key == auth.cookie_key()  # kept: every restart signs alike
    assert stat.S_IMODE(os.stat(tmp_path / "data" / "cookie_key").st_mode) == 0o600
    monkeypatch.setattr(auth, "COOKIE_KEY_FILE", tmp_path / "other" / "cookie_key")
    assert auth.cookie_key() != key  # another installation, another key: no constant


def test_the_generated_key_and_the_secrets_file_are_kept_out_of_git() -> None:
    ignored = (REPO_ROOT / ".gitignore").read_text().splitlines()
    assert "data/" in ignored and ".streamlit/secrets.toml" in ignored
    assert auth.COOKIE_KEY_FILE == REPO_ROOT / "data" / "cookie_key"


# --- the login cookie -------------------------------------------------------------------------


class _BrowserWithCookies:
    """streamlit as the cookie model sees it, with the cookies a browser sent (AppTest cannot
    send cookies itself)."""

    def __init__(self, cookies: dict[str, str]) -> None:
        self.context = SimpleNamespace(cookies=cookies)

    def __getattr__(self, name: str) -> Any:
        return getattr(streamlit, name)


def _token(username: str, *, key: str | None = None, expires_in: timedelta = timedelta(hours=1),
           ) -> str:
    return jwt.encode({"username": username,
                       "exp_date": (datetime.now() + expires_in).timestamp()},
                      key or os.environ["PANTAU_COOKIE_KEY"], algorithm="HS256")


def _visit_with_cookie(monkeypatch: pytest.MonkeyPatch, token: str):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(cookie_model, "st", _BrowserWithCookies({auth.COOKIE_NAME: token}))
    return run_ok(fresh_app())


def test_a_cookie_signed_with_the_key_signs_in_and_no_other_does(
        app_database, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    signed = _visit_with_cookie(monkeypatch, _token("kadis"))
    assert signed.session_state["username"] == "kadis"
    assert [t.value for t in signed.title] == ["Dasbor Kepatuhan"]
    for forged in (_token("kadis", key="kunci-lain-" + "z" * 40),
                   _token("kadis", expires_in=-timedelta(minutes=1)),
                   _token("kadis") + "x"):
        app = _visit_with_cookie(monkeypatch, forged)
        assert not app.session_state["authentication_status"]
        assert "Nama pengguna" in [f.label for f in app.text_input]


def test_a_cookie_of_a_deactivated_user_no_longer_signs_in(
        app_database, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(app_database)
    with write_session(engine) as session:
        update_user(session, actor=SYSTEM, username="kadis", full_name="Drs. Kepala Dinas",
                    roles=["Kadis"], unit_code="sekretariat", is_admin=False,
                    is_recorder=False, is_active=False)
    engine.dispose()
    app = _visit_with_cookie(monkeypatch, _token("kadis"))
    assert not app.session_state["authentication_status"]
    assert app.error[0].value == "Sesi tidak berlaku lagi; silakan masuk kembali."


# --- the login form ----------------------------------------------------------------------------


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(app_database) -> None:  # type: ignore[no-untyped-def]
    unknown = log_in(fresh_app(), "tidak-ada", "salah-sandi")
    wrong = log_in(fresh_app(), "kadis", "salah-sandi")
    assert [e.value for e in unknown.error] == [e.value for e in wrong.error] == [
        "Nama pengguna atau kata sandi salah."]


def test_roles_are_read_again_on_every_run(signed_in, app_database) -> None:  # type: ignore[no-untyped-def]
    app = signed_in("sekretaris", "dasbor")
    assert [t.value for t in app.title] == ["Dasbor Kepatuhan"]
    engine = make_engine(app_database)
    with write_session(engine) as session:  # the admin takes the role away meanwhile
        update_user(session, actor=SYSTEM, username="sekretaris", full_name="Sekretaris Dinas",
                    roles=["Pengadministrasi"], unit_code="sekretariat", is_admin=False,
                    is_recorder=False, is_active=True)
    engine.dispose()
    run_ok(app)
    assert app.error[0].value == "Halaman ini tidak tersedia untuk peran Anda."
    assert not app.title


# --- user text is shown as written -------------------------------------------------------------

# Markdown Streamlit would act on: links, images, emphasis, code, HTML, headings, lists,
# tables, LaTeX, colour and icon directives, bare URLs.
HOSTILE = ("[klik](https://contoh.invalid) ![x](https://contoh.invalid/p.png) **tebal** _miring_ "
           "`kode` <img src=x onerror=alert(1)> # judul - butir 1. butir | a | b | $x^2$ "
           ":red[merah] :material/warning: ~~coret~~ www.contoh.invalid \\ {a} +")
ACTIVE = set("\\`*_{}[]()#+-.!|<>~$:")


def _unescaped(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def test_markdown_escape_leaves_no_character_markdown_would_act_on() -> None:
    escaped = markdown_escape(HOSTILE)
    assert _unescaped(escaped) == HOSTILE  # nothing lost or added
    position = 0
    while position < len(escaped):
        if escaped[position] == "\\":
            position += 2  # an escaped character is literal in CommonMark
            continue
        assert escaped[position] not in ACTIVE, (escaped[position], escaped[:position + 1])
        position += 1
    assert markdown_lines("a\n*b*") == "a  \n\\*b\\*"


def test_markdown_in_a_case_title_is_shown_literally(signed_in, app_database) -> None:  # type: ignore[no-untyped-def]
    title = "Laporan [klik](https://contoh.invalid) **penting**"
    case = started_case(app_database, sop="e-kinerja", title=title)
    escaped = markdown_escape(title)
    assert "[klik](" not in escaped
    (card,) = markdown_with(signed_in("kadis", "tugas"), "klik")
    assert escaped in card and "[klik](" not in card
    catat = signed_in("kadis", "catat", kasus=str(case))
    assert any(escaped in text and "[klik](" not in text for text in markdown_with(catat, "klik"))
    detail = signed_in("kadis", "kasus", kasus=str(case))
    assert [t.value for t in detail.title] == [escaped]


def test_a_full_name_is_shown_literally(signed_in, app_database) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(app_database)
    with write_session(engine) as session:
        update_user(session, actor=load_actor(session, username="admin"), username="kadis",
                    full_name="Kadis *[tautan](https://contoh.invalid)*", roles=["Kadis"],
                    unit_code="sekretariat", is_admin=False, is_recorder=False,
                    is_active=True)
    engine.dispose()
    app = signed_in("kadis", "dasbor")
    names = [c.value for c in app.sidebar.caption if "tautan" in c.value]
    assert names == [markdown_escape("Kadis *[tautan](https://contoh.invalid)* · Kadis")]


def test_a_cancellation_reason_is_shown_literally(signed_in, app_database) -> None:  # type: ignore[no-untyped-def]
    case = started_case(app_database)
    engine = make_engine(app_database)
    with write_session(engine) as session:
        wf.cancel_case(session, actor=load_actor(session, username="sekretaris"), case_id=case,
                       at=wib(2026, 11, 2, 10), reason="Lihat ![x](https://contoh.invalid/p.png)",
                       now=NOW)
    engine.dispose()
    app = signed_in("kadis", "kasus", kasus=str(case))
    (warning,) = [w.value for w in app.warning if w.value.startswith("Dibatalkan")]
    assert warning == "Dibatalkan: Lihat \\!\\[x\\]\\(https\\://contoh\\.invalid/p\\.png\\)"


def test_no_page_lets_html_through() -> None:
    """Streamlit escapes HTML in Markdown unless a call opts in; none does."""
    sources = [REPO_ROOT / "app.py", *sorted((REPO_ROOT / "pages").glob("*.py")),
               *sorted((REPO_ROOT / "ui").glob("*.py"))]
    opened = []
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
                node.func, "id", "")
            html_keyword = any(k.arg == "unsafe_allow_html" and not (
                isinstance(k.value, ast.Constant) and k.value.value is False)
                for k in node.keywords)
            if html_keyword or name in {"html", "iframe"}:
                opened.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    assert len(sources) > 15 and not opened, opened


def test_a_form_field_keeps_the_service_bound(signed_in) -> None:  # type: ignore[no-untyped-def]
    app = signed_in("fungsional", "mulai")
    app.selectbox[0].select("penyusunan-lkj").run()
    assert fields(app)["Judul kasus"].proto.max_chars == 200
    assert fields(app)["Periode (opsional)"].proto.max_chars == 40
    assert button(app, "Mulai kasus")


# --- a password change ends the other sessions ------------------------------------------------


def _reset_password(url: str, username: str) -> None:
    engine = make_engine(url)
    with write_session(engine) as session:
        reset_password(session, actor=SYSTEM, username=username, new="sandi-baru-2026",
                       now=utcnow())
    engine.dispose()


def test_a_cookie_issued_before_a_password_reset_no_longer_signs_in(
        app_database, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    # Issued 30 minutes ago (the lifetime is a day): before the reset that follows.
    issued_earlier = _token("kadis", expires_in=timedelta(days=1) - timedelta(minutes=30))
    assert _visit_with_cookie(monkeypatch, issued_earlier).session_state["username"] == "kadis"
    _reset_password(app_database, "kadis")
    app = _visit_with_cookie(monkeypatch, issued_earlier)
    assert not app.session_state["authentication_status"]
    assert "Kata sandi akun ini telah diubah" in app.warning[0].value
    assert "Nama pengguna" in [f.label for f in app.text_input]
    issued_after = _token("kadis", expires_in=timedelta(days=1))  # a login after the reset
    assert _visit_with_cookie(monkeypatch, issued_after).session_state["username"] == "kadis"


def test_a_running_session_ends_when_an_admin_resets_the_password(signed_in,  # type: ignore[no-untyped-def]
                                                                  app_database) -> None:
    app = signed_in("sekretaris", "dasbor")
    assert [t.value for t in app.title] == ["Dasbor Kepatuhan"]
    _reset_password(app_database, "sekretaris")
    run_ok(app)
    assert not app.session_state["authentication_status"]
    assert [t.value for t in app.title] == ["Pantau SOP"]  # the login page, nothing else
    assert "Kata sandi akun ini telah diubah" in app.warning[0].value
    again = log_in(fresh_app(), "sekretaris", "sandi-baru-2026")
    assert again.session_state["authentication_status"]
