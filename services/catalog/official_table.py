"""The SOP in the layout of the official form: identity block and the steps table."""

from __future__ import annotations

import pandas as pd

from services.catalog.definition import SopDef
from services.formatting import format_minutes

STEP_COLUMNS = ("No.", "Kegiatan", "Pelaksana", "Kelengkapan", "Waktu", "Target (waktu kerja)",
                "Output", "Ket", "Keputusan", "Catatan tafsir")


def identity_table(sop: SopDef) -> pd.DataFrame:
    """Two columns (Unsur, Isi), in the order the form prints them."""
    identity = sop.identity
    approver = identity.disahkan_oleh
    signed = "\n".join(part for part in (approver.jabatan, approver.nama, approver.pangkat,
                                         f"NIP. {approver.nip}" if approver.nip else "") if part)
    rows = [
        ("Instansi", "\n".join(identity.instansi)),
        ("Nomor SOP", identity.nomor_sop),
        ("Tanggal Pembuatan", identity.tanggal_pembuatan),
        ("Tanggal Revisi", identity.tanggal_revisi),
        ("Tanggal Efektif", identity.tanggal_efektif),
        ("Disahkan oleh", signed),
        ("Nama SOP", sop.name),
        ("Dasar Hukum", _numbered(identity.dasar_hukum)),
        ("Kualifikasi Pelaksana", _numbered(identity.kualifikasi_pelaksana)),
        ("Keterkaitan", _numbered(identity.keterkaitan)),
        ("Peralatan/Perlengkapan", _numbered(identity.peralatan_perlengkapan)),
        ("Peringatan", identity.peringatan),
        ("Pencatatan dan Pendataan", identity.pencatatan_pendataan),
    ]
    return pd.DataFrame([(k, v or "–") for k, v in rows], columns=["Unsur", "Isi"])


def steps_table(sop: SopDef) -> pd.DataFrame:
    rows = []
    labels = sop.labels()
    for step in sop.steps:
        if step.target.kind == "minutes":
            target = format_minutes(step.target.minutes)
        elif step.target.kind == "schedule":
            target = "sesuai jadwal kasus"
        else:
            target = "tanpa target"
        decision = (f"Y → {labels[step.decision.approve]}, T → {labels[step.decision.return_to]}"
                    if step.decision else "")
        rows.append((labels[step.seq], step.activity, step.role or "?", step.kelengkapan,
                     step.waktu, target, step.output, step.ket, decision,
                     step.interpretation_note or ""))
    return pd.DataFrame(rows, columns=list(STEP_COLUMNS))


def _numbered(items: tuple[str, ...]) -> str:
    return "\n".join(f"{number}. {item}" for number, item in enumerate(items, start=1))
