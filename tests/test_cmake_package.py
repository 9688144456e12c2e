"""The wheel carries the C++ core as a CMake package: find_package(overflow) against
overflow.cmake_prefix_path() builds and runs the embedding examples (examples/)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import overflow as of

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_package_files_are_installed():
    prefix = Path(of.cmake_prefix_path())
    assert (prefix / "include" / "overflow" / "overflow.h").is_file()
    assert (prefix / "include" / "overflow" / "solver.hpp").is_file()
    config = list(prefix.glob("lib*/cmake/overflow/overflowConfig.cmake"))
    assert config, "no overflowConfig.cmake under the package"
    assert list(prefix.glob("lib*/liboverflow.a"))


@pytest.mark.skipif(shutil.which("cmake") is None, reason="needs cmake on PATH")
def test_examples_build_against_the_installed_package(tmp_path):
    env = dict(os.environ)
    build = tmp_path / "build"
    subprocess.run(
        [
            "cmake",
            "-S",
            str(EXAMPLES),
            "-B",
            str(build),
            f"-DCMAKE_PREFIX_PATH={of.cmake_prefix_path()}",
            "-DCMAKE_BUILD_TYPE=Release",
        ],
        check=True,
        capture_output=True,
        env=env,
        timeout=300,
    )
    subprocess.run(["cmake", "--build", str(build)], check=True, capture_output=True, env=env, timeout=600)
    for name in ("embed_c", "embed_data", "embed_cpp"):
        out = subprocess.run(
            [str(build / name), str(EXAMPLES / "expected.txt")], capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert "MISMATCH" not in out.stdout and "MISSING" not in out.stdout
