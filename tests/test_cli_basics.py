import subprocess
import sys

from click.testing import CliRunner

from fhirconv.cli import cli


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("fhirconv, version ")


def test_python_dash_m_runs():
    done = subprocess.run([sys.executable, "-m", "fhirconv", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    assert "Usage: fhirconv" in done.stdout
