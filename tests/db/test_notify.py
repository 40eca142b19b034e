"""`manage.py notify` on both backends, through a real SMTP server in the test process: who
gets what, the counts, the links, the headers, idempotence, the dry run, failures and TLS.
The history is tests/notify_history.py (its docstring works every figure out)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

import manage
from db.engine import read_session, write_session
from db.models import NotificationSent, User
from services.accounts import create_user, set_own_email, update_user
from services.errors import InvalidInput, PermissionDenied
from services.metrics import compute_metrics, metrics_json, pending_state
from services.notify import set_email_opt_out
from services.tasks import overdue_count, tasks_for
from tests.mailserver import MailServer, free_port, self_signed_certificate, smtp_server
from tests.notify_history import (
    AS_OF,
    B_TITLE,
    BASE_URL,
    LATER_SAME_DAY,
    NEXT_DAY,
    SATURDAY,
    SENDER,
    address,
    build_digest_history,
)
from tests.organisation import NOW, Organisation, wib

SUMMARY_SUBJECT = "[Pantau SOP] Ringkasan 6 Februari 2025: 3 terlambat, 2 berisiko"
EXPECTED = {
    address("kadis"): {"[Pantau SOP] 1 langkah menunggu Anda: 0 terlambat, 1 berisiko",
                       SUMMARY_SUBJECT},
    address("sekretaris"): {"[Pantau SOP] 2 langkah menunggu Anda: 1 terlambat, 1 berisiko",
                            SUMMARY_SUBJECT},
    address("arsip"): {"[Pantau SOP] 1 langkah menunggu Anda: 1 terlambat, 0 berisiko"},
}


@pytest.fixture
def history(org: Organisation) -> Organisation:
    build_digest_history(org.engine)
    return org


Notify = Callable[..., tuple[int, str, str]]


@pytest.fixture
def notify(database_url: str, monkeypatch: pytest.MonkeyPatch,
           capsys: pytest.CaptureFixture[str]) -> Notify:
    """`manage.py notify ARGS` in this process against `smtp_url`: (exit code, out, err)."""
    monkeypatch.setenv("PANTAU_DATABASE_URL", database_url)
    monkeypatch.setenv("PANTAU_MAIL_FROM", SENDER)
    monkeypatch.setenv("PANTAU_BASE_URL", BASE_URL)

    def run(*args: str, smtp_url: str | None) -> tuple[int, str, str]:
        if smtp_url is None:
            monkeypatch.delenv("PANTAU_SMTP_URL", raising=False)
        else:
            monkeypatch.setenv("PANTAU_SMTP_URL", smtp_url)
        capsys.readouterr()
        code = manage.main(["notify", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def sent_rows(engine: Engine) -> list[tuple[str, str, str]]:
    with read_session(engine) as session:
        return sorted(session.execute(
            select(User.username, NotificationSent.kind, NotificationSent.item_key)
            .join(User, User.id == NotificationSent.user_id)).all())


def subjects(server: MailServer) -> dict[str, set[str]]:
    return {to: {message.subject for message in messages}
            for to, messages in server.by_recipient().items()}


def links(text: str) -> list[str]:
    return re.findall(r"https://\S+", text)


def case_pk(engine: Engine, ref: str) -> int:
    from db.models import Case

    with read_session(engine) as session:
        found = session.scalar(select(Case.id).where(Case.ref == ref))
    assert found is not None
    return found


# --- who gets what ---------------------------------------------------------------------------


def test_each_holder_gets_their_items_and_each_head_the_summary(history: Organisation,
                                                               notify: Notify) -> None:
    with smtp_server() as server:
        code, out, err = notify("--as-of", AS_OF.isoformat(), smtp_url=server.url())
    assert (code, err) == (0, "")
    assert "5 surel terkirim" in out
    assert subjects(server) == EXPECTED  # not deposit (opted out), not plt.kadis (no address)
    assert all(len(m.rcpt_tos) == 1 for m in server.received)
    assert {m.mail_from for m in server.received} == {"pantau@dinas.example.org"}

    by_to = server.by_recipient()
    (arsip,) = by_to[address("arsip")]
    text = arsip.part("plain")
    assert "Pengumpulan Data Kinerja P (P)" in text and "Langkah 3:" in text
    assert "belum menyerahkan: Bidang Pengelolaan Arsip" in text
    assert "Deposit" not in text  # the other unit's item is not the Kabid Arsip's
    assert "Umur 37 menit dari target 20 menit" in text
    assert links(text) == [f"{BASE_URL}/catat?kasus={case_pk(history.engine, 'P')}",
                           f"{BASE_URL}/tugas"]

    kadis_own = next(m for m in by_to[address("kadis")] if "menunggu Anda" in m.subject)
    assert "e-Kinerja F (F)" in kadis_own.part("plain")
    assert "e-Kinerja E" not in kadis_own.part("plain")  # on time: not mailed
    assert "Umur 9 menit dari target 10 menit" in kadis_own.part("plain")


def test_the_summary_counts_are_those_of_metrics_json(history: Organisation,
                                                      notify: Notify) -> None:
    with read_session(history.engine) as session:
        totals = metrics_json(compute_metrics(session, as_of=AS_OF))["totals"]["pending"]
    assert (totals["overdue"], totals["at_risk"]) == (3, 2)
    with smtp_server() as server:
        assert notify("--as-of", AS_OF.isoformat(), smtp_url=server.url())[0] == 0
    summaries = [m for m in server.received if m.subject == SUMMARY_SUBJECT]
    assert sorted(m.rcpt_tos[0] for m in summaries) == [address("kadis"), address("sekretaris")]
    text = summaries[0].part("plain")
    # Per SOP, the one with the most overdue items first; within it, overdue and oldest first.
    assert text.index("Pengumpulan Data Kinerja: 2 terlambat, 0 berisiko") < text.index(
        "e-Kinerja: 1 terlambat, 2 berisiko")
    order = [text.index(s) for s in ("Bidang Pengelolaan Arsip", "Bidang Deposit",
                                     "e-Kinerja D (D)", "e-Kinerja B (B)", "e-Kinerja F (F)")]
    assert order == sorted(order)
    assert text.count("[Terlambat]") == 3 and text.count("[Berisiko]") == 2
    pks = {ref: case_pk(history.engine, ref) for ref in "PDBF"}
    assert links(text) == [
        f"{BASE_URL}/kasus?lihat=tugas&sop=pengumpulan-data-kinerja&status=terlambat",
        f"{BASE_URL}/catat?kasus={pks['P']}", f"{BASE_URL}/catat?kasus={pks['P']}",
        f"{BASE_URL}/kasus?lihat=tugas&sop=e-kinerja&status=terlambat",
        f"{BASE_URL}/kasus?lihat=tugas&sop=e-kinerja&status=berisiko",
        f"{BASE_URL}/catat?kasus={pks['D']}", f"{BASE_URL}/catat?kasus={pks['B']}",
        f"{BASE_URL}/catat?kasus={pks['F']}", f"{BASE_URL}/dasbor"]


def test_a_long_list_ends_with_the_count_left_and_a_quiet_morning_still_has_a_summary(
        history: Organisation, notify: Notify, monkeypatch: pytest.MonkeyPatch) -> None:
    import services.notify

    monkeypatch.setattr(services.notify, "SUMMARY_ITEMS_PER_SOP", 1)
    with smtp_server() as server:
        notify("--as-of", AS_OF.isoformat(), smtp_url=server.url())
        text = next(m for m in server.received if m.subject == SUMMARY_SUBJECT).part("plain")
        assert text.count("[Terlambat]") == 2 and text.count("[Berisiko]") == 0
        assert text.count("... dan 1 langkah lainnya") == 1  # Pengumpulan: Deposit
        assert text.count("... dan 2 langkah lainnya") == 1  # e-Kinerja: B and F

        server.received.clear()
        # Wednesday, the day before the history starts: nothing is pending.
        notify("--as-of", wib(2025, 2, 5, 8, 0).isoformat(), smtp_url=server.url())
    assert subjects(server) == {
        to: {"[Pantau SOP] Ringkasan 5 Februari 2025: 0 terlambat, 0 berisiko"}
        for to in (address("kadis"), address("sekretaris"))}
    assert "Tidak ada langkah yang terlambat atau berisiko." in server.received[0].part("plain")


def test_messages_are_html_with_text_and_proper_headers(history: Organisation,
                                                        notify: Notify) -> None:
    with smtp_server() as server:
        notify("--as-of", AS_OF.isoformat(), smtp_url=server.url())
    message_ids = set()
    for received in server.received:
        received.raw.decode("ascii")  # 7-bit: headers RFC 2047, bodies quoted-printable
        message = received.message
        assert message.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain",
                                                                         "text/html"]
        assert message["Date"].datetime.tzinfo is not None
        assert re.fullmatch(r"<[^@>]+@dinas\.example\.org>", message["Message-ID"].strip())
        message_ids.add(message["Message-ID"])
        assert message["From"] == SENDER and message["Auto-Submitted"] == "auto-generated"
        assert message["To"].addresses[0].addr_spec == received.rcpt_tos[0]
    assert len(message_ids) == len(server.received)
    sekretaris = next(m for m in server.received
                      if m.rcpt_tos == (address("sekretaris"),) and "menunggu" in m.subject)
    html = sekretaris.part("html")
    # A typed title is text in the HTML part, and as typed in the plain one.
    assert "&lt;b&gt;Laporan&lt;/b&gt; &amp; e-Kinerja B" in html and B_TITLE not in html
    assert B_TITLE in sekretaris.part("plain")
    assert f'href="{BASE_URL}/catat?kasus={case_pk(history.engine, "B")}"' in html
    assert sekretaris.message["To"].addresses[0].display_name == "Sekretaris Dinas"


# --- idempotence -------------------------------------------------------------------------------


def test_a_second_run_the_same_day_sends_no_item_twice(history: Organisation,
                                                       notify: Notify) -> None:
    with smtp_server() as server:
        assert notify("--as-of", AS_OF.isoformat(), smtp_url=server.url())[0] == 0
        assert len(server.received) == 5
        first_rows = sent_rows(history.engine)
        code, out, _ = notify("--as-of", AS_OF.isoformat(), smtp_url=server.url())
        assert code == 0 and "0 surel terkirim" in out
        assert len(server.received) == 5 and sent_rows(history.engine) == first_rows

        # Later the same day: E has become overdue; only it is new, and only to the Kadis.
        notify("--as-of", LATER_SAME_DAY.isoformat(), smtp_url=server.url())
        (later,) = server.received[5:]
        assert later.rcpt_tos == (address("kadis"),)
        assert later.subject == "[Pantau SOP] 1 langkah menunggu Anda: 1 terlambat, 0 berisiko"
        assert "e-Kinerja E (E)" in later.part("plain") and "(F)" not in later.part("plain")

        # The next working day everything still pending is mailed again.
        notify("--as-of", NEXT_DAY.isoformat(), smtp_url=server.url())
        assert len(server.received[6:]) == 5
    rows = sent_rows(history.engine)
    assert ("kadis", "ringkasan", "ringkasan") in rows
    assert sum(1 for row in rows if row[0] == "arsip") == 2  # one item, two days


def test_the_dry_run_sends_and_records_nothing(history: Organisation, notify: Notify) -> None:
    with smtp_server() as server:
        code, out, err = notify("--as-of", AS_OF.isoformat(), "--dry-run", smtp_url=server.url())
        assert (code, err) == (0, "")
        assert server.received == [] and sent_rows(history.engine) == []
        assert "Uji coba: 5 surel akan dikirim" in out
        for to, wanted in EXPECTED.items():
            for subject in wanted:
                assert f"<{to}>: {subject}" in out
        assert "Terlambat: Pengumpulan Data Kinerja P (P), Pengumpulan Data Kinerja langkah 3, " \
               "Bidang Pengelolaan Arsip; umur 37 menit dari target 20 menit" in out
    # A dry run needs no mail server at all.
    assert notify("--as-of", AS_OF.isoformat(), "--dry-run", smtp_url=None)[0] == 0


# --- failures -------------------------------------------------------------------------------------


def test_an_unreachable_server_fails_and_records_nothing(history: Organisation,
                                                         notify: Notify) -> None:
    closed = f"smtp://127.0.0.1:{free_port()}"
    code, out, err = notify("--as-of", AS_OF.isoformat(), smtp_url=closed)
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("galat: server surel 127.0.0.1:")
    assert "tidak dapat dihubungi" in err and "tidak ada surel yang dikirim" in err
    assert "Traceback" not in err + out
    assert sent_rows(history.engine) == []
    with smtp_server() as server:  # the next run sends everything
        assert notify("--as-of", AS_OF.isoformat(), smtp_url=server.url())[0] == 0
    assert len(server.received) == 5


def test_a_refused_recipient_fails_alone_and_is_tried_again(history: Organisation,
                                                            notify: Notify) -> None:
    with smtp_server(refuse={address("arsip")}) as server:
        code, out, err = notify("--as-of", AS_OF.isoformat(), smtp_url=server.url())
    assert code == 1
    assert "4 surel terkirim" in out
    assert err.startswith("galat: 1 dari 5 surel gagal dikirim (ke Kabid Arsip <arsip@")
    assert "alamat penerima ditolak server (550 5.1.1 Kotak surat tidak ada)" in err
    assert not any(row[0] == "arsip" for row in sent_rows(history.engine))
    with smtp_server() as server:
        assert notify("--as-of", AS_OF.isoformat(), smtp_url=server.url())[0] == 0
    assert [m.rcpt_tos for m in server.received] == [(address("arsip"),)]


def test_missing_settings_are_named_before_anything_is_sent(history: Organisation,
                                                            notify: Notify) -> None:
    code, _, err = notify("--as-of", AS_OF.isoformat(), smtp_url=None)
    assert code == 2 and err.startswith("galat: PANTAU_SMTP_URL belum diatur")
    code, _, err = notify("--as-of", AS_OF.isoformat(), smtp_url="http://mail.example.org")
    assert code == 2 and "harus diawali smtp:// atau smtps://" in err
    assert sent_rows(history.engine) == []


# --- TLS -----------------------------------------------------------------------------------------


def test_starttls_with_a_self_signed_certificate_and_a_login(
        history: Organisation, notify: Notify, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    certificate = self_signed_certificate(tmp_path)
    with smtp_server(certificate=certificate, login=True) as server:
        # Not trusted: refused before anything is sent.
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "kosong"))
        code, _, err = notify("--as-of", AS_OF.isoformat(), smtp_url=server.url(login=True))
        assert code == 1 and "sertifikat TLS server surel" in err and "tidak dipercaya" in err
        assert server.received == [] and sent_rows(history.engine) == []
        # Its CA trusted (SSL_CERT_FILE, as docs/deploy.md says for a private CA).
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
        code, _, err = notify("--as-of", AS_OF.isoformat(), smtp_url=server.url(login=True))
        assert (code, err) == (0, "")
    assert len(server.received) == 5 and server.recorder.logins == ["pantau"]


def test_implicit_tls(history: Organisation, notify: Notify, tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    certificate = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    with smtp_server(certificate=certificate, implicit_tls=True) as server:
        assert notify("--as-of", AS_OF.isoformat(), smtp_url=server.url("smtps"))[0] == 0
    assert len(server.received) == 5


def test_a_password_is_never_sent_without_tls(history: Organisation, notify: Notify) -> None:
    with smtp_server() as server:  # offers no STARTTLS
        code, _, err = notify("--as-of", AS_OF.isoformat(), smtp_url=server.url(login=True))
    assert code == 1 and "tidak menawarkan STARTTLS" in err
    assert server.received == []


# --- the working calendar --------------------------------------------------------------------------


def test_nothing_on_a_non_working_day_unless_forced(history: Organisation,
                                                    notify: Notify) -> None:
    with smtp_server() as server:
        code, out, _ = notify("--as-of", SATURDAY.isoformat(), smtp_url=server.url())
        assert code == 0 and out.startswith("Sabtu, 8 Februari 2025 bukan hari kerja")
        assert server.received == []
        assert notify("--as-of", SATURDAY.isoformat(), "--force", smtp_url=server.url())[0] == 0
    assert {m.subject for m in server.received} >= {
        "[Pantau SOP] Ringkasan 8 Februari 2025: 6 terlambat, 0 berisiko"}


# --- in the app: Tugas Saya and its badge -----------------------------------------------------------


def test_tugas_saya_lists_the_most_urgent_first_and_the_badge_counts_its_overdue(
        history: Organisation) -> None:
    fungsional, kadis = history.actor("fungsional"), history.actor("kadis")
    with read_session(history.engine) as session:
        everything = tasks_for(session, actor=fungsional, as_of=AS_OF)  # a recorder: all
        assert [(t.item.case_id, t.item.sla_state, t.item.unit) for t in everything] == [
            ("P", "overdue", "Bidang Pengelolaan Arsip"),  # 37, then by unit
            ("P", "overdue", "Bidang Deposit dan Pelestarian"),
            ("D", "overdue", None),  # 32
            ("B", "at_risk", None),  # 12
            ("F", "at_risk", None),  # 9
            ("E", "on_time", None),  # 7
        ]
        assert [t.item.case_id for t in tasks_for(session, actor=kadis, as_of=AS_OF)] == [
            "F", "E"]
        items_then = pending_state(session, as_of=AS_OF).items
        items_later = pending_state(session, as_of=LATER_SAME_DAY).items
    assert overdue_count(items_then, actor=kadis) == 0
    assert overdue_count(items_later, actor=kadis) == 2
    assert overdue_count(items_then, actor=fungsional) == 3
    assert overdue_count(items_then, actor=history.actor("arsip")) == 1


# --- addresses and opting out ------------------------------------------------------------------------


def test_addresses_are_checked_and_only_admins_opt_users_out(org: Organisation) -> None:
    fungsional = org.actor("fungsional")
    with write_session(org.engine) as session:
        assert set_own_email(session, actor=fungsional,
                             email="  Andi.Pratama@Dinas.Example.ORG ") == \
            "Andi.Pratama@dinas.example.org"
    for wrong in ("andi", "andi@dinas", "andi pratama@dinas.go.id", "andi@@dinas.go.id",
                  "ándi@dinas.go.id", "andi@dinas..go.id", "a" * 190 + "@dinas.go.id"):
        with pytest.raises(InvalidInput, match="Alamat surel"), write_session(org.engine) as session:
            set_own_email(session, actor=fungsional, email=wrong)
        with pytest.raises(InvalidInput, match="Alamat surel"), write_session(org.engine) as session:
            update_user(session, actor=org.actor("admin"), username="monev",
                        full_name="Pengelola Monev", roles=["Pengelola Monev"],
                        unit_code="sekretariat", is_admin=False, is_recorder=False,
                        is_active=True, email=wrong)
    with pytest.raises(InvalidInput, match="Alamat surel"), write_session(org.engine) as session:
        create_user(session, actor=org.actor("admin"), username="baru", full_name="Baru",
                    password="sandi-baru-123", roles=["Fungsional"], unit_code="sekretariat",
                    email="baru@", now=NOW)
    with read_session(org.engine) as session:
        stored = dict(session.execute(select(User.username, User.email)).all())
        assert session.scalar(select(func.count()).select_from(User)) == 9  # nobody added
    assert stored["fungsional"] == "Andi.Pratama@dinas.example.org"  # the refusals kept it
    assert stored["monev"] is None
    with write_session(org.engine) as session:
        assert set_own_email(session, actor=fungsional, email="") is None  # removed

    with pytest.raises(PermissionDenied), write_session(org.engine) as session:
        set_email_opt_out(session, actor=fungsional, username="kadis", opted_out=True)
    with write_session(org.engine) as session:
        set_email_opt_out(session, actor=org.actor("admin"), username="kadis", opted_out=True)
    with read_session(org.engine) as session:
        assert session.scalar(select(User.email_opt_out).where(User.username == "kadis"))
