"""The mail settings as read from the environment, and the message as built."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.policy import default

import pytest

from services.errors import InvalidInput
from services.mail import Letter, build_message, mail_settings, normalise_address

COMPLETE = {"PANTAU_SMTP_URL": "smtp://pantau%40dinas:s%3Ank%20rit@mail.dinas.go.id:587",
            "PANTAU_MAIL_FROM": "Pantau SOP <pantau@dinas.go.id>",
            "PANTAU_BASE_URL": "https://pantau.dinas.go.id/"}


def test_complete_settings_and_the_url_shown_without_its_password() -> None:
    settings = mail_settings(COMPLETE)
    assert settings.problems == ()
    server = settings.server
    assert server is not None
    assert (server.scheme, server.host, server.port) == ("smtp", "mail.dinas.go.id", 587)
    assert (server.username, server.password) == ("pantau@dinas", "s:nk rit")
    assert server.shown_url == "smtp://pantau@dinas@mail.dinas.go.id:587"
    assert "s:nk" not in repr(settings) and "rit" not in server.shown_url
    assert settings.sender_address == "pantau@dinas.go.id"
    assert settings.sender == "Pantau SOP <pantau@dinas.go.id>"
    plain = mail_settings({**COMPLETE, "PANTAU_MAIL_FROM": "monev@dinas.go.id"})
    assert plain.sender == "Pantau SOP <monev@dinas.go.id>"  # an address alone gets the name
    assert settings.base_url == "https://pantau.dinas.go.id"
    implicit = mail_settings({**COMPLETE, "PANTAU_SMTP_URL": "smtps://mail.dinas.go.id"}).server
    assert implicit is not None and (implicit.port, implicit.username) == (465, None)


@pytest.mark.parametrize(("name", "value", "problem"), [
    ("PANTAU_SMTP_URL", "", "PANTAU_SMTP_URL belum diatur"),
    ("PANTAU_SMTP_URL", "mail.dinas.go.id:587", "harus diawali smtp:// atau smtps://"),
    ("PANTAU_SMTP_URL", "smtp://mail.dinas.go.id:port", "Nomor port di PANTAU_SMTP_URL"),
    ("PANTAU_SMTP_URL", "smtp://:587", "tidak menyebut nama server"),
    ("PANTAU_MAIL_FROM", "", "PANTAU_MAIL_FROM belum diatur"),
    ("PANTAU_MAIL_FROM", "Pantau SOP", "PANTAU_MAIL_FROM bukan alamat surel yang sah"),
    ("PANTAU_BASE_URL", "", "PANTAU_BASE_URL belum diatur"),
    ("PANTAU_BASE_URL", "pantau.dinas.go.id", "PANTAU_BASE_URL harus diawali https://"),
])
def test_each_wrong_setting_is_named_with_an_example(name: str, value: str,
                                                     problem: str) -> None:
    settings = mail_settings({**COMPLETE, name: value})
    (found,) = settings.problems
    assert problem in found and ("misalnya" in found or "contoh" in found)
    with pytest.raises(InvalidInput, match=problem.split(" ")[0]):
        settings.require_complete()


def test_addresses() -> None:
    assert normalise_address("  budi.santoso@Dinas.GO.ID ") == "budi.santoso@dinas.go.id"
    assert normalise_address("") is None and normalise_address(None) is None
    assert normalise_address("o'neil+monev@sub.dinas.go.id") == "o'neil+monev@sub.dinas.go.id"
    for wrong in ("budi", "budi@", "@dinas.go.id", "budi@dinas", "budi@dinas.1",
                  "budi.@dinas.go.id", "bu di@dinas.go.id", "budi@-dinas.go.id",
                  "bùdi@dinas.go.id", "budi@dinas.go.id>", "x" * 65 + "@dinas.go.id"):
        with pytest.raises(InvalidInput, match="nama@domain"):
            normalise_address(wrong)
    with pytest.raises(InvalidInput, match="maksimal 200"):
        normalise_address("a@" + "b" * 200 + ".id")


def test_the_message_encodes_what_is_not_ascii() -> None:
    letter = Letter(to_name="Dr. Hendra Saputra, M.Si.", to_address="kadis@example.org",
                    subject="Ringkasan — Pontianak", text="Teks — biasa", html="<p>—</p>")
    message = build_message(letter, sender="Pantau SOP <pantau@dinas.go.id>",
                            sender_address="pantau@dinas.go.id",
                            now=datetime(2026, 11, 20, 0, 30, tzinfo=UTC))
    raw = message.as_bytes()
    raw.decode("ascii")  # 7-bit throughout: headers RFC 2047, bodies quoted-printable
    headers = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert "Subject: Ringkasan =?utf-8?" in headers
    assert "Date: Fri, 20 Nov 2026 07:30:00 +0700" in headers
    parsed = email.message_from_bytes(raw, policy=default)
    assert parsed["Subject"] == "Ringkasan — Pontianak"
    assert parsed["To"].addresses[0].display_name == "Dr. Hendra Saputra, M.Si."
    assert parsed.get_body(preferencelist=("plain",)).get_content().rstrip() == "Teks — biasa"
