"""manage.py backup, restore and create-admin: the operator's commands of docs/deploy.md."""

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from tests.cli.test_catalog_commands import REPO_ROOT, manage


def test_backup_then_restore_into_a_new_database(tmp_path: Path) -> None:
    live = f"sqlite:///{tmp_path / 'live.db'}"
    assert manage("init", database_url=live).returncode == 0
    assert manage("demo", "--seed", "3", "--years", "1", "--until", "2026-11-20T09:00:00+07:00",
                  database_url=live).returncode == 0
    before = manage("metrics", "--json", "--as-of", "2026-11-20T09:00:00+07:00",
                    database_url=live).stdout

    made = manage("backup", "--out", str(tmp_path / "cadangan.db"), database_url=live)
    assert made.returncode == 0, made.stderr
    assert "Cadangan ditulis" in made.stdout
    again = manage("backup", "--out", str(tmp_path / "cadangan.db"), database_url=live)
    assert again.returncode == 2 and "sudah ada" in again.stderr

    fresh = f"sqlite:///{tmp_path / 'baru.db'}"
    restored = manage("restore", str(tmp_path / "cadangan.db"), database_url=fresh)
    assert restored.returncode == 0, restored.stderr
    assert manage("metrics", "--json", "--as-of", "2026-11-20T09:00:00+07:00",
                  database_url=fresh).stdout == before

    refused = manage("restore", str(tmp_path / "cadangan.db"), database_url=live)
    assert refused.returncode == 2 and "--replace" in refused.stderr


def test_create_admin_from_the_command_line_only_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pantau.db'}"
    assert manage("init", database_url=url).returncode == 0

    def create(username: str, password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(REPO_ROOT / "manage.py"), "create-admin", "--username",
             username, "--full-name", "Admin Dinas", "--password-stdin"],
            input=password + "\n", capture_output=True, text=True, timeout=120,
            env={**os.environ, "PANTAU_DATABASE_URL": url})

    short = create("admin", "pendek")
    assert short.returncode == 2 and "minimal 8" in short.stderr
    made = create("admin", "sandi-admin-2026")
    assert made.returncode == 0, made.stderr
    assert "Admin admin dibuat" in made.stdout
    again = create("admin2", "sandi-admin-2026")
    assert again.returncode == 2 and "Akun admin sudah dibuat" in again.stderr
    no_terminal = subprocess.run(  # stdin is not a terminal, and no --password-stdin
        [sys.executable, str(REPO_ROOT / "manage.py"), "create-admin", "--username", "admin3",
         "--full-name", "Admin"], input="", capture_output=True, text=True, timeout=120,
        env={**os.environ, "PANTAU_DATABASE_URL": url})
    assert no_terminal.returncode == 2 and "--password-stdin" in no_terminal.stderr
    assert "Traceback" not in no_terminal.stderr


def test_restore_of_an_empty_or_foreign_file_refuses_in_one_line(tmp_path: Path) -> None:
    """Row 12 of issue 15: `restore --replace` of these said "Dipulihkan" and emptied the
    database."""
    live = f"sqlite:///{tmp_path / 'live.db'}"
    assert manage("init", database_url=live).returncode == 0
    before = manage("sops", database_url=live).stdout
    assert "e-kinerja" in before
    empty = tmp_path / "kosong.db"
    empty.touch()
    other = tmp_path / "lain.db"
    with closing(sqlite3.connect(other)) as database:
        database.execute("CREATE TABLE catatan (isi TEXT)")
        database.commit()
    for path in (empty, other):
        refused = manage("restore", "--replace", str(path), database_url=live)
        assert refused.returncode == 2, refused.stdout
        assert refused.stderr.startswith("galat: ") and refused.stderr.count("\n") == 1
        assert "Dipulihkan" not in refused.stdout and "Traceback" not in refused.stderr
    assert manage("sops", database_url=live).stdout == before
