"""Unit Kerja (admin): the Sekretariat and the Bidang (those submit multi-unit steps)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from db.engine import read_session
from services.clock import utcnow
from services.organisation import UNIT_KINDS, create_unit, list_units, update_unit
from ui.messages import perform, show_flash
from ui.routing import require_app
from ui.runtime import engine
from ui.session import current_actor
from ui.tables import table

require_app()
actor = current_actor()
show_flash()
st.title("Unit Kerja")
st.caption("Setiap Bidang yang aktif wajib menyerahkan pada langkah multi-unit (mis. "
           "'Menyampaikan data dan informasi kinerja').")
with read_session(engine()) as session:
    units = list_units(session)
table(pd.DataFrame([{"Kode": u.code, "Nama": u.name, "Jenis": u.kind, "Aktif": u.is_active}
                    for u in units]),
      empty="Belum ada unit kerja. Tambahkan Sekretariat dan setiap Bidang.", hide_index=True)



add_tab, edit_tab = st.tabs(["Tambah unit", "Ubah unit"])
with add_tab, st.form(f"tambah-unit-{st.session_state.get('tambah-unit', 0)}"):
    code = st.text_input("Kode", help="Paling banyak 40 karakter.", placeholder="mis. bidang-layanan")
    name = st.text_input("Nama", help="Paling banyak 120 karakter.")
    kind = st.selectbox("Jenis", UNIT_KINDS, index=1)
    if st.form_submit_button("Tambah unit", type="primary"):
        perform(lambda s: create_unit(s, actor=actor, code=code.strip(), name=name, kind=kind,
                                  now=utcnow()), f"Unit '{name}' ditambahkan.",
            fresh_form="tambah-unit")
with edit_tab:
    by_code = {u.code: u for u in units}
    chosen = st.selectbox("Unit", list(by_code), format_func=lambda c: by_code[c].name)
    if chosen:
        unit = by_code[chosen]
        with st.form(f"ubah-unit-{chosen}"):
            name = st.text_input("Nama", value=unit.name, help="Paling banyak 120 karakter.")
            kind = st.selectbox("Jenis", UNIT_KINDS, index=UNIT_KINDS.index(unit.kind))
            active = st.checkbox("Aktif", value=unit.is_active)
            if st.form_submit_button("Simpan", type="primary"):
                perform(lambda s: update_unit(s, actor=actor, code=chosen, name=name, kind=kind,
                                          is_active=active), f"Unit '{name}' disimpan.")
