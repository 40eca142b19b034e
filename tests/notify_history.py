"""A hand-made history for the overdue digest, on the test organisation.

Thursday 6 February 2025 (a working day; Mon-Thu 07:30-12:00 and 13:00-16:00). e-Kinerja
targets: step 1 (Kadis) 10 min, step 2 (Sekretaris) 15 min. Pengumpulan Data Kinerja: step 1
(Kadis) none, step 2 (Fungsional) 90, step 3 (Bidang, per unit) 20.

  e-Kinerja D   start 07:00, 1 done 07:45; step 2 open since 07:45
  e-Kinerja B   start 08:00, 1 done 08:05; step 2 open since 08:05 (a title with HTML)
  e-Kinerja F   start 08:08; step 1 open
  e-Kinerja E   start 08:10; step 1 open
  Pengumpulan P start 07:30, 1 done 07:35, 2 done 07:40; step 3 open since 07:40, Bidang
                Layanan submitted at 07:50, Arsip and Deposit have not

At 08:17 (AS_OF), in working minutes: P step 3 is 37 old for Arsip and for Deposit (overdue),
D step 2 is 32 (overdue), B step 2 is 12 (>= 80% of 15: at risk), F step 1 is 9 (>= 8: at
risk), E step 1 is 7 (on time). So 3 overdue and 2 at risk.

Addresses: every user of the organisation except `monev`; `deposit` is opted out; a second
Kadis (`plt.kadis`) has no address. So at AS_OF:

  kadis       tugas: F                ringkasan
  sekretaris  tugas: D, B             ringkasan
  arsip       tugas: P (Arsip)
and nobody else (layanan submitted; deposit opted out; plt.kadis has no address; the
Fungsional, the Pengadministrasi and the admin hold none of these items).

At 09:00 the same day E is overdue too (50 > 10): only it is new, and only to the Kadis.
"""

from __future__ import annotations

from sqlalchemy import Engine, select, update

from db.engine import write_session
from db.models import User
from services.accounts import SYSTEM, create_user
from services.workflow.replay import LogEvent, replay
from tests.organisation import NOW, PASSWORD, wib

AS_OF = wib(2025, 2, 6, 8, 17)
LATER_SAME_DAY = wib(2025, 2, 6, 9, 0)
NEXT_DAY = wib(2025, 2, 7, 8, 0)
SATURDAY = wib(2025, 2, 8, 8, 0)
B_TITLE = "<b>Laporan</b> & e-Kinerja B"
SENDER = "Pantau SOP <pantau@dinas.example.org>"
BASE_URL = "https://pantau.dinas.example.org"
OPTED_OUT = "deposit"


def address(username: str) -> str:
    return f"{username}@dinas.example.org"


def _log() -> list[LogEvent]:
    rows = [
        ("D", "e-kinerja", "start", None, wib(2025, 2, 6, 7, 0), None, "e-Kinerja D"),
        ("D", "e-kinerja", "complete", 1, wib(2025, 2, 6, 7, 45), None, None),
        ("P", "pengumpulan-data-kinerja", "start", None, wib(2025, 2, 6, 7, 30), None,
         "Pengumpulan Data Kinerja P"),
        ("P", "pengumpulan-data-kinerja", "complete", 1, wib(2025, 2, 6, 7, 35), None, None),
        ("P", "pengumpulan-data-kinerja", "complete", 2, wib(2025, 2, 6, 7, 40), None, None),
        ("P", "pengumpulan-data-kinerja", "complete", 3, wib(2025, 2, 6, 7, 50),
         "bidang-layanan", None),
        ("B", "e-kinerja", "start", None, wib(2025, 2, 6, 8, 0), None, B_TITLE),
        ("B", "e-kinerja", "complete", 1, wib(2025, 2, 6, 8, 5), None, None),
        ("F", "e-kinerja", "start", None, wib(2025, 2, 6, 8, 8), None, "e-Kinerja F"),
        ("E", "e-kinerja", "start", None, wib(2025, 2, 6, 8, 10), None, "e-Kinerja E"),
    ]
    return [LogEvent(line=i + 2, case_ref=ref, sop_code=sop, sop_version=None, seq=seq,
                     kind=kind, at=at, unit=unit, title=title)
            for i, (ref, sop, kind, seq, at, unit, title) in enumerate(rows)]


def build_digest_history(engine: Engine) -> None:
    """The history above, on an engine that holds the test organisation."""
    with write_session(engine) as session:
        replay(session, events=_log(), actor=SYSTEM, now=NOW)
        create_user(session, actor=SYSTEM, username="plt.kadis", full_name="Plt. Kepala Dinas",
                    password=PASSWORD, roles=["Kadis"], unit_code="sekretariat", now=NOW)
        for user in session.scalars(select(User).where(
                User.username.not_in(["monev", "plt.kadis"]))):
            user.email = address(user.username)
        session.execute(update(User).where(User.username == OPTED_OUT)
                        .values(email_opt_out=True))
