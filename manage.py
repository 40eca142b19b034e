#!/usr/bin/env python3
"""Pantau SOP command line: the services of the app for admins and automation.

Run `python manage.py --help` for the commands. Every command uses the database named by
PANTAU_DATABASE_URL (default: the SQLite file data/pantau.db).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

# Each command imports what it needs inside its function: `--help`, a typo or a light command
# must not pay for pandas, SQLAlchemy and the reports (a second and more on a small server).
# tests/cli/test_cli_startup.py keeps it so.
if TYPE_CHECKING:
    from sqlalchemy import Engine

    from services.notify import DigestPlan
    from services.periods import PeriodChoice


class SetupNeeded(Exception):
    """The database has not been created or migrated yet."""


_STATUS_TEXT = {"created": "baru", "new_version": "versi baru", "unchanged": "tidak berubah"}
_TABLE_SUFFIXES = {".docx", ".txt", ".md", ".csv", ".xlsx"}


SOURCE_FOLDERS = ("db", "services", "ui", "pages", "bench")
HERE = Path(__file__).resolve().parent


def compile_sources(root: Path = HERE) -> None:
    """Byte-compile the project's own modules (the libraries were compiled by pip). Python
    writes these itself on first import, except where it may not write (a read-only
    checkout, PYTHONDONTWRITEBYTECODE=1): then every command compiled them again, about
    0.4 s of each `manage.py metrics`. Modules already compiled are left as they are."""
    import compileall

    for folder in SOURCE_FOLDERS:
        if (root / folder).is_dir():
            compileall.compile_dir(root / folder, quiet=1)
    for script in ("app.py", "server.py", "manage.py"):
        if (root / script).is_file():
            compileall.compile_file(root / script, quiet=1)


def cmd_init(args: argparse.Namespace) -> int:
    from db.engine import database_url, make_engine, read_session
    from services.bootstrap import DEFAULT_CATALOG_DIR, initialise
    from services.history_cache import HistoryCache, cache_directory

    compile_sources()
    engine = make_engine()
    for result in initialise(engine=engine, catalog_dir=args.catalog or DEFAULT_CATALOG_DIR):
        print(f"{result.code}: versi {result.version} ({_STATUS_TEXT[result.status]})")
    # init runs before the app processes start (make run, docs/deploy.md): the history they
    # keep is on disk and current, so neither they nor their first visitor read every event.
    url = database_url()
    with read_session(engine) as session:
        history = HistoryCache(url=url, directory=cache_directory(url)).history(session)
    print(f"Basis data siap; riwayat {len(history.ended) + len(history.running)} kunjungan "
          "disiapkan untuk dasbor.")
    return 0


def cmd_sops(args: argparse.Namespace) -> int:
    from db.engine import read_session
    from services.catalog.store import current_catalog, entry_as_json

    with read_session(_ready_engine()) as session:
        entries = current_catalog(session)
    if args.json:
        print(json.dumps([entry_as_json(e) for e in entries], ensure_ascii=False, indent=2))
        return 0
    if not entries:
        print("Katalog kosong: jalankan `python manage.py init`.")
    for entry in entries:
        origin = "  (diterbitkan di aplikasi)" if entry.origin == "app" else ""
        print(f"{entry.sop.code:<28} v{entry.version}  {len(entry.sop.steps):>2} langkah  "
              f"{entry.sop.name}{origin}")
    return 0


def cmd_import_sop(args: argparse.Namespace) -> int:
    from services.bootstrap import DEFAULT_CATALOG_DIR
    from services.catalog.table_import import read_table_file
    from services.catalog.yaml_io import display_path, dump_sop_yaml

    out: Path = args.out or DEFAULT_CATALOG_DIR
    sops = read_table_file(args.file)
    out.mkdir(parents=True, exist_ok=True)
    skipped = 0
    for sop in sops:
        target = out / f"{sop.code}.yaml"
        if target.exists() and not args.force:
            print(f"dilewati: {display_path(target)} sudah ada (pakai --force untuk menimpa)")
            skipped += 1
            continue
        header = (f"Diimpor dari {sop.source}. Periksa Pelaksana tiap langkah "
                  "(interpretation_note) dan jalankan `python manage.py lint-sops`.")
        target.write_text(dump_sop_yaml(sop, header=header), encoding="utf-8")
        print(f"ditulis: {display_path(target)} ({len(sop.steps)} langkah)")
    return 1 if skipped == len(sops) else 0


def cmd_lint_sops(args: argparse.Namespace) -> int:
    from services.bootstrap import DEFAULT_CATALOG_DIR
    from services.catalog.lint import lint
    from services.catalog.table_import import read_table_file
    from services.catalog.yaml_io import catalog_files, read_catalog

    paths: list[Path] = args.paths or [DEFAULT_CATALOG_DIR]
    sops = []
    yaml_files: list[Path] = []
    for path in paths:
        if path.is_dir():
            yaml_files += catalog_files(path)
        elif path.suffix.casefold() in _TABLE_SUFFIXES:
            sops += read_table_file(path)
        else:
            yaml_files.append(path)
    sops += read_catalog(yaml_files)
    findings = lint(sops)
    for finding in findings:
        print(finding.line())
    warnings = sum(f.severity != "info" for f in findings)
    print(f"{len(sops)} SOP diperiksa: {warnings} peringatan, {len(findings) - warnings} info.")
    return 1 if args.strict and warnings else 0


def _ready_engine() -> Engine:
    from db.engine import make_engine
    from db.migrate import is_up_to_date

    engine = make_engine()
    if not is_up_to_date(engine):
        raise SetupNeeded
    return engine


def _progress(label: str, share: float) -> None:
    print(f"[{share:>4.0%}] {label}", file=sys.stderr, flush=True)


def cmd_demo(args: argparse.Namespace) -> int:
    from db.engine import write_session
    from services.accounts import SYSTEM
    from services.clock import utcnow
    from services.demo import DEMO_PASSWORD, load_demo

    engine = _ready_engine()
    with write_session(engine) as session:
        result = load_demo(session, actor=SYSTEM, seed=args.seed, years=args.years,
                           scale=args.scale, until=args.until, now=utcnow(), progress=_progress)
    print(f"Data demo dimuat: {result.cases} kasus, {result.events} kejadian, "
          f"{result.users} pengguna (kata sandi semua akun demo: {DEMO_PASSWORD}).")
    return 0


def cmd_import_events(args: argparse.Namespace) -> int:
    from db.engine import write_session
    from services.accounts import SYSTEM
    from services.clock import utcnow
    from services.eventlog import import_event_csv

    engine = _ready_engine()
    data = args.file.read_bytes()
    with write_session(engine) as session:
        result = import_event_csv(session, data=data, actor=SYSTEM, now=utcnow(),
                                  progress=lambda n: _progress(f"{n} kejadian diperiksa", 0.5))
    print(f"Diimpor: {result.events} kejadian dari {result.cases} kasus.")
    return 0


def cmd_export_events(args: argparse.Namespace) -> int:
    from db.engine import read_session
    from services.eventlog import export_event_csv, export_xes

    engine = _ready_engine()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with read_session(engine) as session, args.out.open("w", encoding="utf-8", newline="") as out:
        if args.format == "csv":
            count = export_event_csv(session, out=out)
            print(f"Diekspor: {count} kejadian ke {args.out}.")
        else:
            count = export_xes(session, out=out)
            print(f"Diekspor: {count} kasus (trace) ke {args.out}.")
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    # Before numpy is imported (it reads this once). numpy asks the kernel for huge pages for
    # every large array; where the kernel then compacts memory at the first touch
    # (transparent_hugepage/defrag "madvise", as on the bench machine), that cost 0.3-0.4 s of
    # this command's 1.9 s. A long-lived process earns it back (the app keeps them); a command
    # that computes once and exits does not. A value set by the user is kept.
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    from db.engine import database_url, read_session
    from services.clock import utcnow
    from services.history_cache import HistoryCache, cache_directory
    from services.metrics import compute_metrics, metrics_json, period_as_of

    engine = _ready_engine()
    url = database_url()
    with read_session(engine) as session:
        as_of = args.as_of
        if args.period is not None and as_of is None:
            as_of = period_as_of(args.period, now=utcnow())
        # The history the app keeps on disk, when it is of the current data version (or
        # behind by new events only): reading it from the database is most of the time.
        history = HistoryCache(url=url, directory=cache_directory(url)).history(session)
        metrics = compute_metrics(session, as_of=as_of, history=history,
                                  period=args.period.bounds() if args.period else None)
    document = metrics_json(metrics, period=args.period)
    if args.json:
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    print(f"Keadaan per {document['as_of']}"
          + (f", periode {args.period.label}" if args.period else ""))
    for sop in document["sops"]:
        rate = sop["compliance_rate"]
        print(f"{sop['code']:<28} kasus {sop['cases']['total']:>5}  aktif {sop['cases']['active']:>4}  "
              f"kepatuhan {'–' if rate is None else f'{rate:.0%}':>5}  pengembalian {sop['returns']}")
    pending = document["totals"]["pending"]
    print(f"{pending['total']} tugas tertunda: {pending['overdue']} terlambat, "
          f"{pending['at_risk']} berisiko.")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from db.engine import read_session
    from services.clock import utcnow
    from services.reports.digest import write_report

    engine = _ready_engine()
    with read_session(engine) as session:
        files = write_report(session, period=args.period, out_dir=args.out, now=utcnow(),
                             progress=_progress)
    print(f"Laporan {args.period.label}: {len(files)} berkas di {args.out}")
    for path in files:
        print(f"  {path.name}")
    return 0


def _print_plan(plan: DigestPlan) -> None:
    from services.formatting import SLA_LABELS, age_against_target

    for outgoing in plan.messages:
        person = outgoing.recipient
        print(f"ke {person.full_name} <{person.address}>: {outgoing.letter.subject}")
        for entry in outgoing.items:
            item = entry.item
            print(f"  - {SLA_LABELS[item.sla_state]}: {entry.title} ({item.case_id}), "
                  f"{entry.sop_name} langkah {item.label}"
                  + (f", {item.unit}" if item.unit else "")
                  + f"; umur {age_against_target(item.age_minutes, item.target_minutes)}")


def cmd_notify(args: argparse.Namespace) -> int:
    from services.clock import utcnow
    from services.formatting import format_wib
    from services.mail import MailServerError, mail_settings
    from services.notify import long_day, plan_now, send_digest

    engine = _ready_engine()
    settings = mail_settings()
    if not args.dry_run:
        # A setting that is missing or wrong fails every run, holiday or not, so it is seen.
        settings.require_complete()
    plan = plan_now(engine, as_of=args.as_of, base_url=settings.base_url)
    heading = (f"Per {format_wib(plan.as_of)}: {plan.overdue} terlambat, {plan.at_risk} "
               "berisiko.")
    if not plan.working_day and not args.force:
        print(f"{long_day(plan.day)} bukan hari kerja: tidak ada surel yang dikirim (pakai "
              "--force untuk tetap mengirim).")
        return 0
    skipped = (f" {plan.already_sent} langkah sudah dikirim hari ini ke orang yang sama dan "
               "tidak diulang." if plan.already_sent else "")
    if args.dry_run:
        print(f"{heading} Uji coba: {len(plan.messages)} surel akan dikirim, tidak ada yang "
              f"dikirim sekarang.{skipped}")
        _print_plan(plan)
        return 0
    try:
        run = send_digest(engine, settings=settings, plan=plan, now=utcnow())
    except MailServerError as error:
        print(f"galat: {error}; tidak ada surel yang dikirim.", file=sys.stderr)
        return 1
    print(f"{heading} {len(run.sent)} surel terkirim.{skipped}")
    for outgoing in run.sent:
        print(f"terkirim ke {outgoing.recipient.full_name} <{outgoing.recipient.address}>: "
              f"{outgoing.letter.subject}")
    if run.failed:
        failures = "; ".join(f"ke {outgoing.recipient.full_name} <{outgoing.recipient.address}>"
                             f": {reason}" for outgoing, reason in run.failed)
        print(f"galat: {len(run.failed)} dari {len(plan.messages)} surel gagal dikirim "
              f"({failures}); yang gagal dicoba lagi pada jalankan berikutnya.", file=sys.stderr)
        return 1
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    import getpass

    from db.engine import write_session
    from services.accounts import create_first_admin
    from services.clock import utcnow

    engine = _ready_engine()
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not sys.stdin.isatty():
        print("galat: tidak ada terminal untuk menanyakan kata sandi; kirim lewat stdin dengan "
              "--password-stdin.", file=sys.stderr)
        return 2
    else:
        password = getpass.getpass("Kata sandi admin: ")
        if getpass.getpass("Ulangi kata sandi: ") != password:
            print("galat: kata sandi dan ulangannya tidak sama.", file=sys.stderr)
            return 2
    with write_session(engine) as session:
        create_first_admin(session, username=args.username, full_name=args.full_name,
                           password=password, now=utcnow())
    print(f"Admin {args.username} dibuat; halaman penyiapan awal tidak tampil lagi.")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from db.backup import backup_database
    from db.engine import database_url

    path = backup_database(url=database_url(), out=args.out)
    print(f"Cadangan ditulis: {path} ({path.stat().st_size / 1024:,.0f} KB)")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from db.backup import restore_database
    from db.engine import database_url
    from db.migrate import HEAD_REVISION

    revision = restore_database(url=database_url(), source=args.file, replace=args.replace)
    print(f"Dipulihkan dari {args.file} (versi skema {revision}).")
    if revision != HEAD_REVISION:
        print("Cadangan berasal dari versi aplikasi yang lebih lama: jalankan "
              "`python manage.py init` untuk memigrasikannya.")
    return 0


def _period(text: str) -> PeriodChoice:
    from services.periods import read_period

    period = read_period(text)
    if period is None:
        raise argparse.ArgumentTypeError(
            f"periode tidak dikenali: {text!r} (contoh: 2026-S1, 2026-Q3, 2026-07, 2026)")
    return period


def _instant(text: str) -> datetime:
    from services.formatting import parse_timestamp

    try:
        return parse_timestamp(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bukan waktu ISO 8601: {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="manage.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="PERINTAH")

    def command(name: str, handler: Callable[[argparse.Namespace], int],
                help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    init = command("init", cmd_init,
                   "Buat atau migrasikan basis data, lalu muat katalog SOP (aman diulang).")
    init.add_argument("--catalog", type=Path, default=None,
                      help="folder katalog (bawaan: sops/)")

    sops = command("sops", cmd_sops, "Tampilkan katalog SOP yang termuat.")
    sops.add_argument("--json", action="store_true", help="cetak sebagai JSON")

    import_sop = command("import-sop", cmd_import_sop,
                         "Impor SOP (dokumen Word .docx, teks seperti berkas seed, CSV atau XLSX) ke "
                         "YAML katalog.")
    import_sop.add_argument("file", type=Path)
    import_sop.add_argument("--out", type=Path, default=None,
                            help="folder tujuan (bawaan: sops/)")
    import_sop.add_argument("--force", action="store_true", help="timpa berkas yang sudah ada")

    lint_sops = command("lint-sops", cmd_lint_sops,
                        "Periksa SOP: penomoran, Mutu Baku, Pelaksana, keputusan, nama pengesah.")
    lint_sops.add_argument("paths", type=Path, nargs="*",
                           help="berkas YAML, folder katalog, atau tabel sumber (bawaan: sops/)")
    lint_sops.add_argument("--strict", action="store_true",
                           help="keluar dengan kode 1 bila ada peringatan")

    demo = command("demo", cmd_demo, "Isi basis data kosong dengan riwayat demo yang realistis.")
    demo.add_argument("--seed", type=int, required=True, help="benih acak (hasil sama untuk benih sama)")
    demo.add_argument("--years", type=int, default=2, help="lama riwayat dalam tahun (bawaan 2)")
    demo.add_argument("--scale", type=int, default=1, help="kelipatan jumlah kasus (untuk benchmark)")
    demo.add_argument("--until", type=_instant, default=None,
                      help="akhir riwayat, ISO 8601 (bawaan: sekarang)")

    import_events = command("import-events", cmd_import_events,
                            "Impor log kejadian CSV (semua atau tidak sama sekali).")
    import_events.add_argument("file", type=Path)

    export_events = command("export-events", cmd_export_events, "Ekspor log kejadian.")
    export_events.add_argument("--format", choices=("csv", "xes"), required=True)
    export_events.add_argument("--out", type=Path, required=True)

    metrics = command("metrics", cmd_metrics, "Angka kepatuhan per SOP dan tugas tertunda.")
    metrics.add_argument("--json", action="store_true", help="cetak sebagai JSON")
    metrics.add_argument("--as-of", dest="as_of", type=_instant, default=None,
                         help="waktu acuan ISO 8601 (bawaan: sekarang, atau akhir periode "
                              "yang sudah lewat)")
    metrics.add_argument("--period", type=_period, default=None,
                         help="periode seperti pada `report`: kunjungan yang selesai di dalamnya; "
                              "keadaan per akhir periode (atau sekarang bila periode berjalan)")

    report = command("report", cmd_report,
                     "Tulis laporan periode (Tabel 7, evaluasi SOP, laporan manajemen, log "
                     "kejadian CSV dan XES) ke sebuah folder, tanpa antarmuka.")
    report.add_argument("--period", type=_period, required=True,
                        help="periode: 2026-S1 (semester), 2026-Q3, 2026-07, 2026, atau "
                             "2026-07-01_2026-09-30")
    report.add_argument("--out", type=Path, required=True, help="folder tujuan")
    notify = command("notify", cmd_notify,
                     "Kirim surel pagi: tiap pemegang langkah yang berisiko atau terlambat "
                     "mendapat daftarnya, Kadis dan Sekretaris mendapat ringkasan (tidak "
                     "mengulang yang sudah dikirim hari itu; tidak mengirim pada hari libur).")
    notify.add_argument("--as-of", dest="as_of", type=_instant, default=None,
                        help="waktu acuan ISO 8601 (bawaan: sekarang)")
    notify.add_argument("--dry-run", action="store_true",
                        help="hanya tampilkan siapa akan menerima apa; tidak mengirim")
    notify.add_argument("--force", action="store_true",
                        help="kirim juga pada hari yang bukan hari kerja")
    create_admin = command("create-admin", cmd_create_admin,
                           "Buat admin pertama dari baris perintah (sebelum situs dibuka ke "
                           "jaringan); hanya selama belum ada pengguna.")
    create_admin.add_argument("--username", required=True, help="nama pengguna admin")
    create_admin.add_argument("--full-name", required=True, help="nama lengkap")
    create_admin.add_argument("--password-stdin", action="store_true",
                              help="baca kata sandi dari stdin (untuk skrip), bukan ditanyakan")
    backup = command("backup", cmd_backup,
                     "Cadangkan seluruh basis data ke satu berkas (SQLite: salinan daring; "
                     "PostgreSQL: pg_dump format custom).")
    backup.add_argument("--out", type=Path, required=True, help="berkas cadangan (baru)")
    restore = command("restore", cmd_restore,
                      "Pulihkan basis data dari berkas cadangan `backup`.")
    restore.add_argument("file", type=Path, help="berkas cadangan")
    restore.add_argument("--replace", action="store_true",
                         help="ganti basis data yang sudah berisi data")
    return parser


def _refusal(error: Exception) -> str | None:
    """The message for an error the user can act on, or None for a bug (shown as a
    traceback). The error types are imported here, once something failed: a module that
    raised one is loaded already."""
    from db.backup import BackupError
    from services.catalog.definition import CatalogError
    from services.errors import ServiceError

    if isinstance(error, CatalogError | ServiceError | BackupError):
        return f"galat: {error}"
    if isinstance(error, SetupNeeded):
        return "galat: basis data belum disiapkan; jalankan `python manage.py init` dulu."
    if isinstance(error, FileNotFoundError):
        return f"galat: berkas tidak ditemukan: {error.filename}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except Exception as error:
        message = _refusal(error)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    exit_code = main()
    # The output is written; what is left is the interpreter walking every object once more
    # before it exits (0.2-0.3 s of `metrics --json`'s 1.5 s on a million events, with pandas
    # and SQLAlchemy loaded). Frozen objects are left to the process's end instead. Nothing is
    # lost by it: every command has committed and closed its files by now, the interpreter
    # still flushes stdout and stderr, and the system closes the database's file or socket.
    gc.freeze()
    sys.exit(exit_code)
