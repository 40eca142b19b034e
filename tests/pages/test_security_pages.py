"""Security claims of docs/security.md about signing in, the cookie key and rendering that no
other page test proves (AppTest, and the ui helpers directly)."""

from __future__ import annotations

import ast
import re

import jwt
import pytest

from db.engine import make_engine, write_session
from services.accounts import SYSTEM, load_actor, reset_password, update_user
from services.clock import utcnow
from services.sessions import start_session
from services.workflow import engine as wf
from tests.conftest import REPO_ROOT
from tests.organisation import NOW, wib
from tests.pages.conftest import fresh_app, log_in, run_ok, shown
from tests.pages.test_work_pages import button, fields, markdown_with, started_case
from ui import auth
from ui.text import markdown_escape, markdown_lines

# --- the login cookie: a live session's random token ------------------------------------------


def _session_token(url: str, username: str) -> str:
    """A sign-in made elsewhere (another tab, another process): its cookie's token."""
    engine = make_engine(url)
    with write_session(engine) as session:
        token = start_session(session, username=username, now=utcnow()).token
    engine.dispose()
    return token


def _visit_with_cookie(monkeypatch: pytest.MonkeyPatch, token: str):
    """A new tab of a browser holding the login cookie (AppTest cannot send cookies)."""
    monkeypatch.setattr(auth, "browser_cookies", lambda: {auth.COOKIE_NAME: token})
    return run_ok(fresh_app())


def _cookie_job(app) -> str | None:
    job = app.session_state["pantau_cookie_job"] if "pantau_cookie_job" in app.session_state \
        else None
    return job.kind if job else None


def test_a_live_session_cookie_signs_in_and_nothing_else_does(
        app_database, monkeypatch: pytest.MonkeyPatch) -> None:
    signed = _visit_with_cookie(monkeypatch, _session_token(app_database, "kadis"))
    assert [t.value for t in signed.title] == ["Dasbor Kepatuhan"]
    assert _cookie_job(signed) is None  # nothing to write: the browser has it
    for forged in ("a" * 43,  # well formed, but no session has it
                   jwt.encode({"username": "kadis", "exp_date": 9e9}, "kunci", algorithm="HS256"),
                   "eyJhbGciOiJub25lIn0.eyJ1c2VybmFtZSI6ImthZGlzIn0.",  # alg: none
                   "x", "é" * 43):
        app = _visit_with_cookie(monkeypatch, forged)
        assert "Nama pengguna" in [f.label for f in app.text_input], forged
        assert not app.exception and _cookie_job(app) == "delete"  # treated as none, cleared


def test_a_cookie_of_a_deactivated_user_no_longer_signs_in(
        app_database, monkeypatch: pytest.MonkeyPatch) -> None:
    token = _session_token(app_database, "kadis")
    engine = make_engine(app_database)
    with write_session(engine) as session:
        update_user(session, actor=SYSTEM, username="kadis", full_name="Drs. Kepala Dinas",
                    roles=["Kadis"], unit_code="sekretariat", is_admin=False,
                    is_recorder=False, is_active=False)
    engine.dispose()
    app = _visit_with_cookie(monkeypatch, token)
    assert "Nama pengguna" in [f.label for f in app.text_input]
    assert shown(app.warning[0]).startswith("Sesi Anda sudah berakhir")
    assert _cookie_job(app) == "delete"


def test_signing_in_draws_the_cookie_write_on_every_run(app_database) -> None:
    """The write is drawn again on every run, so a page switch in the signing-in run cannot
    lose it (the browser does it; AppTest has none: tests/e2e/test_cookie_writer_browser)."""
    app = log_in(fresh_app(), "kadis")
    assert [t.value for t in app.title] == ["Dasbor Kepatuhan"]  # the root sent the Kadis on
    assert _cookie_job(app) == "set"
    run_ok(app)
    assert _cookie_job(app) == "set"  # drawn again
    token = app.session_state["pantau_session_token"]
    assert len(token) == 43 and app.session_state["pantau_cookie_job"].token == token


def test_keluar_ends_the_session_everywhere(signed_in, app_database,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    app = signed_in("kadis")
    token = app.session_state["pantau_session_token"]
    next(b for b in app.sidebar.button if b.label == "Keluar").click()
    run_ok(app)
    assert "Nama pengguna" in [f.label for f in app.text_input] and not app.warning
    assert _cookie_job(app) == "delete"
    copied = _visit_with_cookie(monkeypatch, token)  # a copy of the cookie, after Keluar
    assert "Nama pengguna" in [f.label for f in copied.text_input]


# --- the login form ----------------------------------------------------------------------------


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(app_database) -> None:
    unknown = log_in(fresh_app(), "tidak-ada", "salah-sandi")
    wrong = log_in(fresh_app(), "kadis", "salah-sandi")
    assert [shown(e) for e in unknown.error] == [shown(e) for e in wrong.error] == [
        "Nama pengguna atau kata sandi salah."]


def test_roles_are_read_again_on_every_run(signed_in, app_database) -> None:
    app = signed_in("sekretaris", "dasbor")
    assert [t.value for t in app.title] == ["Dasbor Kepatuhan"]
    engine = make_engine(app_database)
    with write_session(engine) as session:  # the admin takes the role away meanwhile
        update_user(session, actor=SYSTEM, username="sekretaris", full_name="Sekretaris Dinas",
                    roles=["Pengadministrasi"], unit_code="sekretariat", is_admin=False,
                    is_recorder=False, is_active=True)
    engine.dispose()
    run_ok(app)
    assert shown(app.error[0]) == "Halaman ini tidak tersedia untuk peran Anda."
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


def test_markdown_in_a_case_title_is_shown_literally(signed_in, app_database) -> None:
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


def test_a_url_title_markdown_period_and_unit_stay_text(signed_in, app_database) -> None:
    """In the start message and on the Kasus page: no link, no emphasis, no auto-linked URL."""
    from services.organisation import create_unit

    engine = make_engine(app_database)
    with write_session(engine) as session:
        create_unit(session, actor=SYSTEM, code="tautan", name="[unit](https://contoh.invalid)",
                    kind="lainnya", now=NOW)
    engine.dispose()
    app = signed_in("fungsional", "mulai")
    app.selectbox[0].select("penyusunan-lkj").run()
    fields(app)["Judul kasus"].input("Lihat https://contoh.invalid/lkj *segera*")
    fields(app)["Periode (opsional)"].input("[periode](https://x.invalid)")
    next(s for s in app.selectbox if s.label == "Unit pemilik kasus").select("tautan")
    button(app, "Mulai kasus").click()
    run_ok(app)
    flash = app.success[0]
    assert "https\\://contoh" in flash.value and "*segera*" not in flash.value
    assert shown(flash).startswith("Kasus 'Lihat https://contoh.invalid/lkj *segera*'")
    case = app.query_params["kasus"]
    detail = signed_in("fungsional", "kasus", kasus=case)
    caption = detail.main.caption[0].value
    assert "\\[periode\\]\\(https\\://x" in caption and "\\[unit\\]" in caption
    assert "https\\://contoh" in detail.title[0].value


def test_a_full_name_is_shown_literally(signed_in, app_database) -> None:
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


def test_a_cancellation_reason_is_shown_literally(signed_in, app_database) -> None:
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
            # The one exception: app.py loads ui/style.css, a static style sheet.
            style_sheet = name == "html" and [ast.unparse(a) for a in node.args] == ["STYLE_SHEET"]
            if html_keyword or (name in {"html", "iframe"} and not style_sheet):
                opened.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    assert len(sources) > 15 and not opened, opened


def test_over_long_pasted_text_is_refused_with_its_limit_and_kept(signed_in) -> None:
    """A browser field with a length limit drops a longer paste entirely; the fields have no
    such limit, say it in their help, and the service refuses with the limit, keeping the
    text for the user to shorten."""
    app = signed_in("fungsional", "mulai")
    app.selectbox[0].select("penyusunan-lkj").run()
    title = fields(app)["Judul kasus"]
    assert title.proto.max_chars == 0 and "200 karakter" in title.proto.help
    title.input("J" * 250)
    fields(app)["Periode (opsional)"].input("2025")
    button(app, "Mulai kasus").click()
    run_ok(app)
    assert shown(app.error[0]) == ("Judul kasus wajib diisi, 3 sampai 200 karakter (tertulis "
                                   "250).")
    assert fields(app)["Judul kasus"].value == "J" * 250


# --- a password change ends the other sessions ------------------------------------------------


def _reset_password(url: str, username: str) -> None:
    engine = make_engine(url)
    with write_session(engine) as session:
        reset_password(session, actor=SYSTEM, username=username, new="sandi-baru-2026",
                       now=utcnow())
    engine.dispose()


def test_a_cookie_from_before_a_password_reset_no_longer_signs_in(
        app_database, monkeypatch: pytest.MonkeyPatch) -> None:
    token = _session_token(app_database, "kadis")
    assert [t.value for t in _visit_with_cookie(monkeypatch, token).title] == ["Dasbor Kepatuhan"]
    _reset_password(app_database, "kadis")
    app = _visit_with_cookie(monkeypatch, token)
    assert shown(app.warning[0]).startswith("Sesi Anda sudah berakhir")
    assert "Nama pengguna" in [f.label for f in app.text_input]
    after = _session_token(app_database, "kadis")  # a sign-in after the reset
    assert [t.value for t in _visit_with_cookie(monkeypatch, after).title] == \
        ["Dasbor Kepatuhan"]


def test_a_running_session_ends_when_an_admin_resets_the_password(signed_in,
                                                                  app_database) -> None:
    app = signed_in("sekretaris", "dasbor")
    assert [t.value for t in app.title] == ["Dasbor Kepatuhan"]
    _reset_password(app_database, "sekretaris")
    run_ok(app)
    assert [t.value for t in app.title] == ["Pantau SOP"]  # the login page, nothing else
    assert shown(app.warning[0]).startswith("Sesi Anda sudah berakhir")
    again = log_in(fresh_app(), "sekretaris", "sandi-baru-2026")
    assert [t.value for t in again.title] == ["Hambatan"]


def test_a_user_reads_only_the_cases_of_sops_of_their_roles(signed_in, app_database) -> None:
    from tests.pages.test_work_pages import started_case

    own = started_case(app_database, sop="perbaikan-data-kinerja", title="Perbaikan data TW IV")
    other = started_case(app_database, sop="e-kinerja", title="e-Kinerja November")
    app = signed_in("arsiparis", "kasus", kasus=str(other))
    assert "tidak melibatkan peran Anda" in shown(app.error[0])
    assert not app.get("plotly_chart") and not app.dataframe  # nothing of the case shown
    listing = signed_in("arsiparis", "kasus")
    assert list(listing.dataframe[0].value["Judul"]) == ["Perbaikan data TW IV"]
    assert signed_in("arsiparis", "kasus", kasus=str(own)).title[0].value == \
        "Perbaikan data TW IV"
    everything = signed_in("kadis", "kasus")
    assert len(everything.dataframe[0].value) == 2
