"""Paths the Python tests share. CTest sets them; by hand: PYTHONPATH=build/python python3 -m pytest tests/python"""

import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(os.environ.get("PANGU_SHARED_DIR", ROOT.parent / "shared"))
BINARY = pathlib.Path(os.environ.get("PANGU_BINARY", ROOT / "build" / "pangu"))


def model_dir(name: str) -> str:
    return str(SHARED / "models" / name)


def golden(name: str) -> dict:
    return json.loads((SHARED / "models" / name / "golden.json").read_text())


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """The `pangu` command, for comparing the module with what the CLI prints."""
    return subprocess.run([str(BINARY), *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="session")
def stories():
    import pangu

    return pangu.Model.load(model_dir("stories260K"))


@pytest.fixture(scope="session")
def poem():
    import pangu

    return pangu.Model.load(model_dir("zh-poem-750K"))
