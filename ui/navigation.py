"""Which pages exist, who may open them, and where each role lands (docs/design.md, "Roles and pages")."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from services.accounts import Actor
from services.catalog.roles import HEADS

EVERYONE = None


@dataclass(frozen=True)
class PageSpec:
    key: str  # file pages/<key>.py and URL /<key>
    title: str
    icon: str
    section: str
    roles: frozenset[str] | None = EVERYONE  # roles that may open it (None: every user)
    admin: bool = False  # admins may open it (admin-only when roles is empty)
    in_menu: bool = True  # False: reached through links (forms, details)

    def allows(self, actor: Actor) -> bool:
        if self.roles is EVERYONE:
            return True
        return bool(actor.roles & self.roles) or (self.admin and actor.is_admin)


PAGES: tuple[PageSpec, ...] = (
    PageSpec("dasbor", "Dasbor Kepatuhan", ":material/monitoring:", "Pantauan", roles=HEADS,
             admin=True),
    PageSpec("hambatan", "Hambatan", ":material/insights:", "Pantauan", roles=HEADS, admin=True),
    PageSpec("laporan", "Laporan Monev", ":material/description:", "Pantauan", roles=HEADS,
             admin=True),
    PageSpec("progres", "Progres SOP", ":material/timeline:", "Pantauan"),
    PageSpec("antrean", "Antrean per Pelaksana", ":material/groups:", "Pantauan"),
    PageSpec("tugas", "Tugas Saya", ":material/checklist:", "Kerja"),
    PageSpec("mulai", "Mulai Kasus", ":material/add_circle:", "Kerja"),
    PageSpec("catat", "Catat Langkah", ":material/edit_note:", "Kerja", in_menu=False),
    PageSpec("kasus", "Kasus", ":material/folder_open:", "Kerja"),
    PageSpec("katalog", "Katalog SOP", ":material/menu_book:", "Referensi"),
    PageSpec("akun", "Akun Saya", ":material/person:", "Akun"),
    PageSpec("pengguna", "Pengguna", ":material/group:", "Admin", roles=frozenset(), admin=True),
    PageSpec("unit", "Unit Kerja", ":material/apartment:", "Admin", roles=frozenset(),
             admin=True),
    PageSpec("kalender", "Kalender Kerja", ":material/calendar_month:", "Admin",
             roles=frozenset(), admin=True),
    PageSpec("impor", "Impor SOP", ":material/upload_file:", "Admin", roles=frozenset(),
             admin=True),
)
BY_KEY = {page.key: page for page in PAGES}
HOME = "beranda"  # the default page (pages/beranda.py), which sends each user on


def url_paths() -> list[str]:
    """The address of every page (ui/index_page.py serves the app's HTML at each)."""
    return [*(spec.key for spec in PAGES), HOME]


# The first page a role sees; the first match wins for users with several roles.
LANDING = (("Kadis", "dasbor"), ("Sekretaris", "hambatan"), ("_admin", "pengguna"))


def landing_key(actor: Actor) -> str:
    for role, key in LANDING:
        if (role == "_admin" and actor.is_admin) or role in actor.roles:
            if key in BY_KEY and BY_KEY[key].allows(actor):
                return key
    return "tugas"


def st_pages() -> dict[str, st.Page]:
    """Every page, registered once per run (so a reloaded URL always resolves)."""
    pages = {spec.key: st.Page(f"pages/{spec.key}.py", title=spec.title, icon=spec.icon,
                               url_path=spec.key) for spec in PAGES}
    pages[HOME] = st.Page(f"pages/{HOME}.py", title="Beranda", icon=":material/home:",
                          url_path=HOME, default=True)
    return pages


def menu(actor: Actor, pages: dict[str, st.Page], current: str | None, *,
         overdue: int = 0) -> None:
    """The sidebar: the pages this user may open, by section; Tugas Saya with a red badge of
    the user's overdue tasks."""
    sections: dict[str, list[PageSpec]] = {}
    for spec in PAGES:
        if spec.in_menu and spec.allows(actor):
            sections.setdefault(spec.section, []).append(spec)
    for section, specs in sections.items():
        st.sidebar.caption(section)
        for spec in specs:
            if spec.key == "tugas" and overdue:
                st.sidebar.page_link(pages[spec.key], label=f"{spec.title} :red-badge[{overdue}]",
                                     icon=spec.icon, help=f"{overdue} tugas Anda terlambat")
            else:
                st.sidebar.page_link(pages[spec.key], label=spec.title, icon=spec.icon)

