"""manage.py backup and restore."""

from pathlib import Path

from tests.cli.test_catalog_commands import manage


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
