"""Tugas Saya, Mulai Kasus, Catat Langkah and Kasus (AppTest, logged in through the form)."""

from __future__ import annotations

from sqlalchemy import select

from db.engine import make_engine, read_session, write_session
from db.models import Case, Event
from services.accounts import load_actor
from services.workflow import engine as wf
from tests.organisation import NOW, wib
from tests.pages.conftest import run_ok, shown


def fields(app):
    return {field.label: field for field in [*app.text_input, *app.text_area]}


def markdown_with(app, text: str) -> list[str]:
    return [m.value for m in app.main.markdown if text in m.value]


def button(app, label: str):
    return next(b for b in app.button if b.label == label)


def started_case(url: str, *, sop: str = "penyusunan-lkj", steps: list[tuple] = (),
                 title: str = "Penyusunan LKj Tahun 2025") -> int:
    engine = make_engine(url)
    with write_session(engine) as session:
        fungsional = load_actor(session, username="fungsional")
        case = wf.start_case(session, actor=fungsional, sop_code=sop, title=title,
                             at=wib(2026, 11, 2, 8), now=NOW).case_id
    for index, (username, kind, seq, *note) in enumerate(steps):
        with write_session(engine) as session:
            wf.record_step(session, actor=load_actor(session, username=username),
                           case_id=case, kind=kind, seq=seq, at=wib(2026, 11, 2, 9 + index),
                           note=note[0] if note else None, now=NOW)
    engine.dispose()
    return case


def events(url: str, case: int) -> list[Event]:
    engine = make_engine(url)
    with read_session(engine) as session:
        found = list(session.scalars(select(Event).where(Event.case_id == case)
                                     .order_by(Event.event_no)))
    engine.dispose()
    return found


# --- Mulai Kasus ------------------------------------------------------------------------------


def test_start_a_case_and_land_on_its_first_step(signed_in, app_database) -> None:
    app = signed_in("fungsional", "mulai")
    assert [t.value for t in app.title] == ["Mulai Kasus"]
    app.selectbox[0].select("penyusunan-lkj").run()
    fields(app)["Judul kasus"].input("Penyusunan LKj Tahun 2025")
    fields(app)["Periode (opsional)"].input("2025")
    button(app, "Mulai kasus").click()
    run_ok(app)
    assert [t.value for t in app.title] == ["Catat Langkah"]
    assert shown(app.success[0]).startswith("Kasus 'Penyusunan LKj Tahun 2025' (penyusunan-lkj-")
    assert shown(app.success[0]).endswith("Berikutnya: langkah 1, dipegang Sekretaris.")
    engine = make_engine(app_database)
    with read_session(engine) as session:
        case = session.scalar(select(Case))
    assert (case.title, case.period_label, case.status) == ("Penyusunan LKj Tahun 2025", "2025",
                                                           "active")


def test_start_refusal_keeps_what_was_typed(signed_in) -> None:
    app = signed_in("fungsional", "mulai")
    app.selectbox[0].select("penyusunan-lkj").run()
    fields(app)["Judul kasus"].input("LK")
    fields(app)["Periode (opsional)"].input("2025-T3")
    button(app, "Mulai kasus").click()
    run_ok(app)
    assert shown(app.error[0]) == "Judul kasus wajib diisi, 3 sampai 200 karakter (tertulis 2)."
    assert fields(app)["Periode (opsional)"].value == "2025-T3"
    assert fields(app)["Judul kasus"].value == "LK"


def test_only_sops_the_user_may_start_are_offered(signed_in) -> None:
    kadis = signed_in("kadis", "mulai")
    assert set(kadis.selectbox[0].options) == {
        "e-Kinerja", "Pengumpulan Data Kinerja", "Perbaikan Data Kinerja"}
    arsiparis = signed_in("arsiparis", "mulai")
    assert "tidak berwenang memulai kasus" in shown(arsiparis.warning[0])


def test_scheduled_steps_ask_for_their_dates(signed_in) -> None:
    app = signed_in("fungsional", "mulai")
    app.selectbox[0].select("monev-kinerja-periodik").run()
    labels = [d.label for d in app.date_input]
    assert "Jadwal langkah 6: tanggal" in labels


# --- Catat Langkah -----------------------------------------------------------------------------


def test_recorder_records_the_sekretaris_step_on_behalf(signed_in, app_database) -> None:
    case = started_case(app_database)
    app = signed_in("fungsional", "catat", kasus=str(case))
    assert markdown_with(app, "Langkah 1: Menerima disposisi dari Kadis")
    performer = next(s for s in app.selectbox if s.label.startswith("Dilaksanakan oleh"))
    performer.select("sekretaris")
    kelengkapan = [c for c in app.checkbox if c.label.startswith("Kelengkapan")]
    assert [c.label for c in kelengkapan] == ["Kelengkapan: DPA dan disposisi"]
    kelengkapan[0].check()
    fields(app)["Output (nomor dokumen / referensi)"].input("Disposisi No. 12/2026")
    button(app, "Catat").click()
    run_ok(app)
    assert shown(app.success[0]).startswith("Tercatat: langkah 1 selesai pada")
    assert shown(app.success[0]).endswith("Berikutnya: langkah 2, dipegang Fungsional.")
    recorded = events(app_database, case)[1]
    assert recorded.performer_user_id != recorded.recorded_by_user_id
    assert recorded.details == {"kelengkapan": ["DPA dan disposisi"],
                                "output": "Disposisi No. 12/2026"}
    assert markdown_with(app, "Langkah 2: Melakukan Koordinasi")  # the form moved on
    assert len(app.success) == 1 and not app.warning  # one message, and no alarm


def test_an_unknown_performer_is_recorded_as_unknown(signed_in, app_database) -> None:
    """A recorder who holds the step's role and chooses "(pelaksana tidak diketahui)" is the
    recorder only, not the performer."""
    case = started_case(app_database, steps=[("sekretaris", "complete", 1)])
    app = signed_in("fungsional", "catat", kasus=str(case))
    performer = next(s for s in app.selectbox if s.label.startswith("Dilaksanakan oleh"))
    assert performer.value == "(saya sendiri)"
    performer.select("(pelaksana tidak diketahui)")
    button(app, "Catat").click()
    run_ok(app)
    recorded = events(app_database, case)[2]
    fungsional = load_actor_id(app_database, "fungsional")
    assert (recorded.performer_user_id, recorded.recorded_by_user_id) == (None, fungsional)


def load_actor_id(url: str, username: str) -> int | None:
    engine = make_engine(url)
    with read_session(engine) as session:
        user_id = load_actor(session, username=username).user_id
    engine.dispose()
    return user_id


def test_messages_name_steps_by_their_printed_labels(signed_in, app_database) -> None:
    """Monev prints 6 then 8 (no 7); the step after 9 is unnumbered and shows as 9a."""
    case = started_case(app_database, sop="monev-kinerja-periodik", title="Monev TW IV",
                        steps=[("sekretaris", "complete", 1), ("monev", "complete", 2),
                               ("fungsional", "complete", 3), ("monev", "complete", 4)])
    app = signed_in("fungsional", "catat", kasus=str(case))
    assert markdown_with(app, "Langkah 6: Melaksanakan Rapat")
    assert any("lanjut ke langkah 8" in option for option in app.radio[0].options)
    button(app, "Catat").click()
    run_ok(app)
    assert shown(app.success[0]).startswith("Tercatat: langkah 6 selesai pada")
    assert shown(app.success[0]).endswith("Berikutnya: langkah 8, dipegang Fungsional.")
    detail = signed_in("fungsional", "kasus", kasus=str(case))
    trail = detail.dataframe[0].value
    assert list(trail["Langkah"]) == ["–", "1", "2", "3", "4", "6"]  # as printed, not 1-5
    assert detail.main.metric[2].value == "8 (Fungsional)"
    (timeline,) = detail.get("plotly_chart")
    assert "6. Melaksanakan Rapat" in timeline.proto.spec and "nan" not in timeline.proto.spec


def test_a_multi_unit_submission_names_the_units_still_missing(signed_in, app_database) -> None:
    case = started_case(app_database, sop="pengumpulan-data-kinerja", title="Pengumpulan TW IV",
                        steps=[("kadis", "complete", 1), ("fungsional", "complete", 2)])
    app = signed_in("arsip", "catat", kasus=str(case))
    unit = next(s for s in app.selectbox if s.label == "Unit yang menyerahkan")
    assert unit.options == ["Bidang Pengelolaan Arsip"]  # a Bidang user: their own unit only
    button(app, "Catat").click()
    run_ok(app)
    message = shown(app.success[0])
    assert message.startswith("Tercatat: Bidang Pengelolaan Arsip menyerahkan langkah 3 pada")
    assert message.endswith("Langkah ini menunggu 2 unit lagi: Bidang Deposit dan Pelestarian, "
                            "Bidang Layanan Perpustakaan.")
    assert "selesai" not in message


def test_a_user_without_the_role_cannot_record(signed_in, app_database) -> None:
    case = started_case(app_database, steps=[("sekretaris", "complete", 1)])
    app = signed_in("sekretaris", "catat", kasus=str(case))
    # Information, not a warning: it is usually the step after the user's own.
    assert not app.warning
    assert shown(app.info[0]).startswith("Langkah ini dipegang Fungsional; tidak ada yang perlu")
    assert not [b for b in app.button if b.label == "Catat"]


def test_return_needs_a_reason_and_says_where_the_work_goes(signed_in, app_database) -> None:
    case = started_case(app_database, steps=[
        ("sekretaris", "complete", 1), ("fungsional", "complete", 2),
        ("fungsional", "complete", 3), ("fungsional", "approve", 4)])
    app = signed_in("sekretaris", "catat", kasus=str(case))
    options = app.radio[0].options
    assert options[:2] == ["Setujui (Y): lanjut ke langkah 6 (Kadis)",
                           "Kembalikan (T): kembali ke langkah 4 (Fungsional) untuk diperbaiki"]
    app.radio[0].set_value("return")
    fields(app)["Output (nomor dokumen / referensi)"].input("Konsep v2")
    button(app, "Catat").click()
    run_ok(app)
    assert shown(app.error[0]) == "Alasan pengembalian wajib diisi."
    assert fields(app)["Output (nomor dokumen / referensi)"].value == "Konsep v2"
    fields(app)["Catatan (wajib diisi alasannya bila dikembalikan)"].input(
        "Lampiran capaian belum lengkap")
    button(app, "Catat").click()
    run_ok(app)
    assert shown(app.success[0]).endswith("Berikutnya: langkah 4, dipegang Fungsional.")
    assert "dikembalikan" in shown(app.success[0])


def test_a_decision_recorded_for_the_sekretaris_names_her_and_the_nota_dinas(
        signed_in, app_database) -> None:
    case = started_case(app_database, steps=[
        ("sekretaris", "complete", 1), ("fungsional", "complete", 2),
        ("fungsional", "complete", 3), ("fungsional", "approve", 4)])
    app = signed_in("fungsional", "catat", kasus=str(case))
    who = next(s for s in app.selectbox if s.label.startswith("Dilaksanakan oleh"))
    who.set_value("sekretaris")
    button(app, "Catat").click()
    run_ok(app)
    assert "sebutkan dasarnya" in shown(app.error[0])
    fields(app)["Dasar keputusan (nomor Nota Dinas atau disposisi)"].input("ND 12/SEKR/2026")
    button(app, "Catat").click()
    run_ok(app)
    assert shown(app.success[0]).startswith("Tercatat")
    detail = signed_in("kadis", "kasus", kasus=str(case))
    last = detail.dataframe[0].value.iloc[-1]
    assert last["Kejadian"] == "Disetujui (Y)" and "dasar: ND 12/SEKR/2026" in last.iloc[-1]


def test_over_long_notes_are_refused_with_their_limit_and_kept(signed_in, app_database) -> None:
    """Pasting more than the limit used to leave the field empty; now the text stays, and the
    refusal says the limit. Nothing is recorded."""
    case = started_case(app_database)
    app = signed_in("sekretaris", "catat", kasus=str(case))
    note = fields(app)["Catatan (wajib diisi alasannya bila dikembalikan)"]
    assert note.proto.max_chars == 0 and "2.000 karakter" in note.proto.help
    note.input("x" * 2500)
    button(app, "Catat").click()
    run_ok(app)
    assert shown(app.error[0]) == "Catatan terlalu panjang: 2500 karakter, maksimal 2000."
    assert fields(app)["Catatan (wajib diisi alasannya bila dikembalikan)"].value == "x" * 2500
    fields(app)["Catatan (wajib diisi alasannya bila dikembalikan)"].input("")
    fields(app)["Output (nomor dokumen / referensi)"].input("o" * 201)
    button(app, "Catat").click()
    run_ok(app)
    assert shown(app.error[0]) == "Output terlalu panjang: 201 karakter, maksimal 200."
    assert len(events(app_database, case)) == 1


def test_backdating_a_day_of_the_buku_agenda_is_quick(signed_in, app_database) -> None:
    """"Sesudah kejadian sebelumnya": each step N minutes after the one before; "Tanggal dan
    jam" starts at the last time used in the session."""
    case = started_case(app_database)  # started 2 Nov 2026 08:00 WIB
    app = signed_in("fungsional", "catat", kasus=str(case))
    app.get("button_group")[0].set_value("after").run()
    next(s for s in app.selectbox if s.label.startswith("Dilaksanakan oleh")).select(
        "(pelaksana tidak diketahui)")
    minutes = next(n for n in app.number_input if n.label.startswith("Menit sesudah"))
    minutes.set_value(25)
    button(app, "Catat").click()
    run_ok(app)
    assert events(app_database, case)[1].occurred_at == wib(2026, 11, 2, 8, 25)
    button(app, "Catat").click()  # step 2, its own: 25 minutes after step 1 again
    run_ok(app)
    assert events(app_database, case)[2].occurred_at == wib(2026, 11, 2, 8, 50)
    app.get("button_group")[0].set_value("at").run()
    day = next(d for d in app.date_input if d.label.startswith("Waktu kejadian"))
    clock = next(t for t in app.time_input if t.label.startswith("Waktu kejadian"))
    assert (day.value, clock.value) == (wib(2026, 11, 2).date(), wib(2026, 11, 2, 8, 50).time())


def test_a_stale_form_is_refused_when_someone_else_recorded_first(signed_in, app_database) -> None:
    case = started_case(app_database)
    app = signed_in("fungsional", "catat", kasus=str(case))  # will record for the Sekretaris
    engine = make_engine(app_database)
    with write_session(engine) as session:  # meanwhile the Sekretaris records it herself
        wf.record_step(session, actor=load_actor(session, username="sekretaris"), case_id=case,
                       kind="complete", seq=1, at=wib(2026, 11, 3, 9), now=NOW)
    engine.dispose()
    button(app, "Catat").click()
    run_ok(app)
    assert shown(app.error[0]).startswith("Langkah ini baru saja dicatat oleh pengguna lain")
    assert markdown_with(app, "Langkah 2: Melakukan Koordinasi")  # now showing the new state
    assert len(events(app_database, case)) == 2  # nothing recorded twice


def test_the_user_is_told_when_the_step_they_opened_was_recorded(signed_in, app_database) -> None:
    case = started_case(app_database)
    app = signed_in("sekretaris", "catat", kasus=str(case))
    engine = make_engine(app_database)
    with write_session(engine) as session:
        wf.record_step(session, actor=load_actor(session, username="fungsional"), case_id=case,
                       kind="complete", seq=1, at=wib(2026, 11, 3, 9), now=NOW,
                       performer="sekretaris")
    engine.dispose()
    run_ok(app)
    assert shown(app.info[0]).startswith("Langkah yang tadi Anda buka sudah dicatat")
    assert shown(app.info[1]).startswith("Langkah ini dipegang Fungsional")


# --- Tugas Saya ---------------------------------------------------------------------------------


def test_my_tasks_show_the_steps_waiting_for_my_role(signed_in, app_database) -> None:
    case = started_case(app_database, steps=[
        ("sekretaris", "complete", 1), ("fungsional", "complete", 2),
        ("fungsional", "complete", 3), ("fungsional", "approve", 4)])
    started_case(app_database, sop="e-kinerja", title="e-Kinerja Oktober 2026")
    sekretaris = signed_in("sekretaris", "tugas")
    cards = markdown_with(sekretaris, "Langkah")
    assert len(cards) == 1 and "Langkah 5: Memeriksa Laporan LKj" in cards[0]
    link = sekretaris.main.get("page_link")[-1].proto
    assert link.label == "Catat" and f"kasus={case}" in link.query_string
    kadis = signed_in("kadis", "tugas")
    assert markdown_with(kadis, "Langkah 1: Menerima surat dari Sekda")
    fungsional = signed_in("fungsional")  # a recorder sees every open step
    assert len(markdown_with(fungsional, "Langkah")) == 2


def test_my_tasks_count_every_task_and_build_only_the_ones_shown(
        signed_in, app_database, monkeypatch) -> None:
    """Sixty tasks are drawn, the counts and the caption cover them all; only the sixty are
    built into tasks (their titles and activities read), however many are running."""
    import services.tasks

    for number in range(62):
        started_case(app_database, sop="e-kinerja", title=f"Laporan Bulan {number:02d}")
    built, pending_items = [], services.tasks.pending_items

    def counted(items, **kwargs):
        built.append(len(items))
        return pending_items(items, **kwargs)

    monkeypatch.setattr(services.tasks, "pending_items", counted)
    app = signed_in("kadis", "tugas")
    assert "62 tugas; 60 teratas ditampilkan" in [shown(c) for c in app.main.caption]
    assert sum(int(metric.value) for metric in app.metric) == 62
    cards = markdown_with(app, "Langkah 1: Menerima surat dari Sekda")
    assert len(cards) == 60 and all("Laporan Bulan" in card for card in cards)
    assert built == [60]


def test_my_tasks_counts_read_as_indonesian_numbers(signed_in, app_database,
                                                    monkeypatch) -> None:
    """A large agency's counts: "1.234 tugas", not "1234 tugas"."""
    import pandas as pd

    import services.tasks

    started_case(app_database, sop="e-kinerja", title="Laporan Bulan Ini")
    my_items = services.tasks.my_items
    monkeypatch.setattr(services.tasks, "my_items", lambda items, *, actor: pd.concat(
        [my_items(items, actor=actor)] * 1234, ignore_index=True))
    app = signed_in("kadis", "tugas")
    assert "1.234 tugas; 60 teratas ditampilkan" in [shown(c) for c in app.main.caption]
    assert "1.234" in [metric.value for metric in app.metric]


def test_nothing_pending_says_so(signed_in) -> None:
    app = signed_in("monev")
    assert shown(app.success[0]) == "Tidak ada langkah yang menunggu Anda."


def test_html_in_user_text_is_shown_as_text(signed_in, app_database) -> None:
    started_case(app_database, sop="e-kinerja", title="<script>alert('x')</script> e-Kinerja")
    app = signed_in("kadis", "tugas")
    (card,) = markdown_with(app, "alert")
    assert "<script>" not in card and "\\<script\\>" in card


# --- Kasus ----------------------------------------------------------------------------------------


def test_case_detail_shows_header_timeline_and_audit_trail(signed_in, app_database) -> None:
    case = started_case(app_database, steps=[
        ("sekretaris", "complete", 1), ("fungsional", "complete", 2),
        ("fungsional", "complete", 3), ("fungsional", "approve", 4),
        ("sekretaris", "return", 5, "<b>Lampiran</b> belum lengkap")])
    app = signed_in("kadis", "kasus", kasus=str(case))
    assert [t.value for t in app.title] == ["Penyusunan LKj Tahun 2025"]
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Status"] == "Berjalan" and metrics["Kemajuan"] == "38%"
    assert any(c.value.startswith("Dimulai 2 Nov 2026 08.00 WIB") for c in app.main.caption)
    assert metrics["Langkah berjalan"] == "4 (Fungsional)"
    (chart,) = app.get("plotly_chart")
    assert '"name":"Batas Mutu Baku"' in chart.proto.spec
    trail = app.dataframe[0].value
    assert list(trail["Kejadian"]) == ["Kasus dimulai", "Selesai", "Selesai", "Selesai",
                                       "Disetujui (Y)", "Dikembalikan (T)"]
    assert trail["Catatan"].iloc[-1] == "<b>Lampiran</b> belum lengkap"  # plain text in a grid


def test_case_list_and_cancel(signed_in, app_database) -> None:
    case = started_case(app_database)
    listing = signed_in("sekretaris", "kasus")
    assert list(listing.dataframe[0].value["Judul"]) == ["Penyusunan LKj Tahun 2025"]
    app = signed_in("sekretaris", "kasus", kasus=str(case))
    fields(app)["Alasan pembatalan"].input("Digabung dengan kasus lain")
    button(app, "Batalkan kasus").click()
    run_ok(app)
    assert shown(app.success[0]) == "Kasus dibatalkan."
    assert {m.label: m.value for m in app.metric}["Status"] == "Dibatalkan"


def test_correction_from_the_case_page(signed_in, app_database) -> None:
    case = started_case(app_database, steps=[("sekretaris", "complete", 1, "ND 1")])
    app = signed_in("sekretaris", "kasus", kasus=str(case))
    fields(app)["Catatan yang benar (kosongkan bila tidak diubah)"].input("ND 10")
    fields(app)["Alasan koreksi"].input("Nomor ND salah ketik")
    button(app, "Catat koreksi").click()
    run_ok(app)
    assert shown(app.success[0]) == "Koreksi atas kejadian #2 dicatat."
    trail = app.dataframe[0].value
    assert trail["Kejadian"].iloc[-1] == "Koreksi atas kejadian #2"
