import pytest

from services.catalog.waktu import WaktuError, looks_like_waktu, parse_waktu


@pytest.mark.parametrize(
    ("text", "kind", "minutes"),
    [
        ("10 Menit", "minutes", 10),
        ("30 menit", "minutes", 30),
        ("1 jam", "minutes", 60),
        ("4 jam", "minutes", 240),
        ("3 hari", "minutes", 1350),
        ("2 Hari kerja", "minutes", 900),
        ("  90   MENIT ", "minutes", 90),
        ("Sesuai jadwal yang telah ditentukan", "schedule", None),
        ("sesuai jadwal", "schedule", None),
        ("", "none", None),
        ("   ", "none", None),
    ],
)
def test_parse_waktu_forms(text: str, kind: str, minutes: int | None) -> None:
    target = parse_waktu(text)
    assert (target.kind, target.minutes) == (kind, minutes)


@pytest.mark.parametrize("text", ["3 harian", "setengah jam", "10", "menit", "0 menit", "1,5 jam"])
def test_parse_waktu_refuses_unknown_forms_instead_of_zero(text: str) -> None:
    with pytest.raises(WaktuError, match="Waktu"):
        parse_waktu(text)


def test_looks_like_waktu_finds_only_time_cells() -> None:
    assert looks_like_waktu("120 Menit")
    assert looks_like_waktu("Sesuai jadwal yang telah ditentukan")
    assert not looks_like_waktu("Dokumen, data")
    assert not looks_like_waktu("T")
    assert not looks_like_waktu("")
