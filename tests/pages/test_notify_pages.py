"""Notifications in the app (AppTest): the admin's Surel tab (settings in force without the
password, a test message through a real SMTP server, opting a user out), the email address
on Akun Saya, and the sidebar badge of overdue tasks."""

from __future__ import annotations

from sqlalchemy import select

from db.engine import make_engine, read_session
from db.models import User
from tests.mailserver import (
    SMTP_PASSWORD,
    free_port,
    self_signed_certificate,
    smtp_server,
)
from tests.pages.conftest import run_ok, shown
from tests.pages.test_admin_pages import tab
from tests.pages.test_work_pages import button, started_case

SENDER = "Pantau SOP <pantau@dinas.example.org>"


def stored(url: str, username: str, column: str) -> object:
    engine = make_engine(url)
    with read_session(engine) as session:
        value = session.scalar(select(getattr(User, column)).where(User.username == username))
    engine.dispose()
    return value


def every_text(app) -> str:
    texts = [str(e.value) for kind in ("markdown", "caption", "text", "warning", "error",
                                       "success", "info") for e in getattr(app, kind)]
    texts += [frame.value.to_string() for frame in app.dataframe]
    return "\n".join(texts)


def settings_shown(app) -> dict[str, str]:
    frame = tab(app, "Surel").dataframe[0].value
    return dict(zip(frame["Pengaturan"], frame["Nilai"], strict=True))


def test_the_surel_tab_shows_the_settings_without_the_password_and_sends_a_test(
        signed_in, monkeypatch, tmp_path) -> None:
    certificate = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    monkeypatch.setenv("PANTAU_MAIL_FROM", SENDER)
    monkeypatch.setenv("PANTAU_BASE_URL", "https://pantau.dinas.example.org")
    with smtp_server(certificate=certificate, login=True) as server:
        monkeypatch.setenv("PANTAU_SMTP_URL", server.url(login=True))
        app = signed_in("admin", "pengguna")
        assert settings_shown(app) == {
            "Server (PANTAU_SMTP_URL)": f"smtp://pantau@127.0.0.1:{server.port}",
            "Kata sandi server": "diatur (tidak ditampilkan)",
            "Keamanan": "STARTTLS bila server menawarkannya (wajib bila ada kata sandi)",
            "Pengirim (PANTAU_MAIL_FROM)": SENDER,
            "Alamat situs untuk tautan (PANTAU_BASE_URL)": "https://pantau.dinas.example.org",
        }
        assert SMTP_PASSWORD not in every_text(app)
        assert not tab(app, "Surel").warning

        surel = tab(app, "Surel")
        {f.label: f for f in surel.text_input}["Kirim ke"].input("Admin@Dinas.Example.org")
        button(app, "Kirim pesan uji").click()
        run_ok(app)
        assert shown(app.success[0]).startswith(
            "Pesan uji terkirim ke Admin@dinas.example.org.")
    (message,) = server.received
    assert message.rcpt_tos == ("Admin@dinas.example.org",)
    assert message.subject == "[Pantau SOP] Pesan uji pengaturan surel"
    assert "Admin Aplikasi" in message.part("plain")  # who sent it


def test_a_test_message_that_cannot_go_says_why(signed_in, monkeypatch) -> None:
    monkeypatch.delenv("PANTAU_SMTP_URL", raising=False)
    monkeypatch.delenv("PANTAU_MAIL_FROM", raising=False)
    monkeypatch.setenv("PANTAU_BASE_URL", "https://pantau.dinas.example.org")
    app = signed_in("admin", "pengguna")
    assert settings_shown(app)["Server (PANTAU_SMTP_URL)"] == "belum diatur"
    warnings = [shown(w) for w in tab(app, "Surel").warning]
    assert [w.split(":")[0] for w in warnings] == ["PANTAU_SMTP_URL belum diatur",
                                                   "PANTAU_MAIL_FROM belum diatur"]

    monkeypatch.setenv("PANTAU_SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    monkeypatch.setenv("PANTAU_MAIL_FROM", SENDER)
    run_ok(app)
    {f.label: f for f in tab(app, "Surel").text_input}["Kirim ke"].input("admin@dinas.go.id")
    button(app, "Kirim pesan uji").click()
    run_ok(app)
    error = shown(app.error[0])
    assert error.startswith("Pesan uji tidak terkirim: server surel 127.0.0.1:")
    assert "tidak dapat dihubungi" in error

    {f.label: f for f in tab(app, "Surel").text_input}["Kirim ke"].input("bukan alamat")
    button(app, "Kirim pesan uji").click()
    run_ok(app)
    assert "Alamat surel harus berbentuk nama@domain" in shown(app.error[0])


def test_the_admin_opts_a_user_out_and_back_in(signed_in, app_database) -> None:
    app = signed_in("admin", "pengguna")
    surel = tab(app, "Surel")
    next(s for s in surel.selectbox if s.label == "Pengguna").select("kadis").run()
    surel = tab(app, "Surel")
    next(c for c in surel.checkbox
         if c.label == "Hentikan surel pengingat untuk pengguna ini").check()
    button(app, "Simpan").click()
    run_ok(app)
    assert shown(app.success[0]) == "Surel pengingat untuk kadis dihentikan."
    assert stored(app_database, "kadis", "email_opt_out") is True
    frame = tab(app, "Surel").dataframe[1].value
    assert frame.set_index("Nama pengguna").loc["kadis", "Surel pengingat"] == "dihentikan admin"

    kadis = signed_in("kadis", "akun")  # told on their own page
    assert shown(kadis.info[0]).startswith("Admin menghentikan surel pengingat untuk akun Anda")

    surel = tab(app, "Surel")
    next(s for s in surel.selectbox if s.label == "Pengguna").select("kadis").run()
    next(c for c in tab(app, "Surel").checkbox
         if c.label == "Hentikan surel pengingat untuk pengguna ini").uncheck()
    button(app, "Simpan").click()
    run_ok(app)
    assert stored(app_database, "kadis", "email_opt_out") is False


def test_akun_saya_sets_a_valid_email_and_refuses_a_wrong_one(signed_in, app_database) -> None:
    app = signed_in("sekretaris", "akun")

    def field():
        return next(f for f in app.text_input if f.label == "Alamat surel")

    field().input("sekretaris di dinas")
    button(app, "Simpan alamat surel").click()
    run_ok(app)
    assert shown(app.error[0]) == (
        "Alamat surel harus berbentuk nama@domain, misalnya budi.santoso@dinas.go.id (huruf "
        "Latin tanpa spasi).")
    assert field().value == "sekretaris di dinas"  # kept, to correct
    assert stored(app_database, "sekretaris", "email") is None

    field().input(" Rina.Marlina@Dinas.Example.ORG ")
    button(app, "Simpan alamat surel").click()
    run_ok(app)
    assert shown(app.success[0]) == "Alamat surel disimpan."
    assert stored(app_database, "sekretaris", "email") == "Rina.Marlina@dinas.example.org"
    assert field().value == "Rina.Marlina@dinas.example.org"

    field().input("")
    button(app, "Simpan alamat surel").click()
    run_ok(app)
    assert shown(app.success[0]).startswith("Alamat surel dihapus")
    assert stored(app_database, "sekretaris", "email") is None


def tugas_link(app) -> str:
    (link,) = [link.proto for link in app.sidebar.get("page_link")
               if link.proto.label.startswith("Tugas Saya")]
    return link.label


def test_the_sidebar_badge_counts_my_overdue_tasks(signed_in, app_database) -> None:
    # Started on 2 Nov 2026: step 1 (Kadis, 10 minutes) has been overdue for weeks.
    started_case(app_database, sop="e-kinerja", title="e-Kinerja Oktober 2026")
    started_case(app_database, sop="e-kinerja", title="e-Kinerja November 2026")
    started_case(app_database, sop="penyusunan-lkj", steps=[("sekretaris", "complete", 1)])
    kadis = signed_in("kadis", "katalog")  # on every page, not only Tugas Saya
    assert tugas_link(kadis) == "Tugas Saya :red-badge[2]"
    sekretaris = signed_in("sekretaris", "katalog")
    assert tugas_link(sekretaris) == "Tugas Saya"  # step 2 is the Fungsional's
    fungsional = signed_in("fungsional", "katalog")  # a recorder's tasks are every step
    assert tugas_link(fungsional) == "Tugas Saya :red-badge[3]"

    started_case(app_database, sop="e-kinerja", title="e-Kinerja Desember 2026")
    run_ok(kadis)  # a step recorded elsewhere shows on the next run
    assert tugas_link(kadis) == "Tugas Saya :red-badge[3]"
