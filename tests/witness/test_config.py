"""The witness reads its settings like every service: state directory, config file table, no working directory."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from servicekit.settings import ConfigError
from witness.config import Settings


def test_paths_resolve_against_the_state_directory_not_the_working_directory(tmp_path: Path) -> None:
    s = Settings.load({"ZKCRED_STATE_DIR": str(tmp_path)})
    assert s.witness_key_file == tmp_path / "witness-key"
    assert s.database_url == f"sqlite:///{tmp_path / 'witness.db'}"
    assert s.witness_logs_file is None and s.witness_algorithm == "ed25519"
    s = Settings.load(
        {"ZKCRED_STATE_DIR": str(tmp_path), "ZKCRED_WITNESS_LOGS": "logs.txt", "ZKCRED_WITNESS_ALGORITHM": "ML-DSA-44"},
        witness_key_file="keys/w1",
    )
    assert s.witness_key_file == tmp_path / "keys" / "w1" and s.origin("witness_key_file") == "command line"
    assert s.witness_logs_file == tmp_path / "logs.txt" and s.witness_algorithm == "ml-dsa-44"


def test_the_config_file_has_a_witness_table_and_bad_values_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "zkcred.toml").write_text('[witness]\nwitness_name = "w.example/one"\n')
    assert Settings.load({"ZKCRED_STATE_DIR": str(tmp_path)}).witness_name == "w.example/one"
    with pytest.raises(ConfigError) as e:
        Settings.load({"ZKCRED_STATE_DIR": str(tmp_path), "ZKCRED_WITNESS_ALGORITHM": "rsa"})
    assert "witness_algorithm" in str(e.value) and "ZKCRED_WITNESS_ALGORITHM" in str(e.value)


def test_vkey_makes_the_key_in_the_state_directory(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZKCRED_", "DATABASE_URL"))}
    state = tmp_path / "state"
    run = subprocess.run(
        [sys.executable, "-m", "zkcred", "witness", "vkey", "--state-dir", str(state), "--name", "w.example/a"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("w.example/a+")
    key = state / "witness-key"
    assert key.exists() and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not (tmp_path / ".zkcred").exists()  # nothing in the working directory
    bad = subprocess.run(
        [sys.executable, "-m", "zkcred", "witness", "vkey", "--state-dir", str(state), "--algorithm", "rsa"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
