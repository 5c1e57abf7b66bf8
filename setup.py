"""Builds the rasterflow package for pip (pyproject.toml) through the project's CMake build.

The extension rasterflow._core is built by CMake (python/CMakeLists.txt), then `cmake --install
--component wheel` lays out the package: its Python files, _core and the engine's shared
libraries beside it (_core's RUNPATH starts with $ORIGIN), so that the wheel imports in any
environment on a system with the engine's dependencies (GDAL, oneTBB... from Debian).

RASTERFLOW_CMAKE_BUILD_DIR: a configured build folder to reuse (the module target is built in
it, nothing is reconfigured); default: build-pip/ at the source root, configured on first use
(Release; no tests, benchmarks or MPI; the Python of this build). Compiler launchers (ccache)
come from CMAKE_CXX_COMPILER_LAUNCHER as CMake reads it from the environment.
"""
import os
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


def project_version():
    with open(os.path.join(HERE, "CMakeLists.txt")) as f:
        match = re.search(r"project\(rasterflow\s+VERSION\s+([0-9.]+)", f.read())
    if not match:
        raise RuntimeError("CMakeLists.txt: no project(rasterflow VERSION x.y.z)")
    return match.group(1)


def run(cmd):
    print("rasterflow setup.py:", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def cmake_build_dir():
    """The CMake build folder: the one given, or build-pip/ configured for this Python."""
    given = os.environ.get("RASTERFLOW_CMAKE_BUILD_DIR")
    if given:
        if not os.path.isfile(os.path.join(given, "CMakeCache.txt")):
            raise RuntimeError(f"RASTERFLOW_CMAKE_BUILD_DIR={given}: not a configured CMake build folder")
        return os.path.abspath(given)
    build = os.path.join(HERE, "build-pip")
    if not os.path.isfile(os.path.join(build, "CMakeCache.txt")):
        generator = ["-G", "Ninja"] if shutil.which("ninja") else []
        run(["cmake", "-S", HERE, "-B", build, *generator, "-DCMAKE_BUILD_TYPE=Release",
             "-DRASTERFLOW_BUILD_TESTS=OFF", "-DRASTERFLOW_BUILD_BENCH=OFF", "-DRASTERFLOW_MPI=OFF",
             "-DRASTERFLOW_PYTHON=ON", f"-DPython3_EXECUTABLE={sys.executable}"])
    return build


def flatten_symlinks(folder):
    """Wheels hold no symbolic links: each library's soname link becomes the file itself."""
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if os.path.islink(path):
            target = os.path.realpath(path)
            os.remove(path)
            if os.path.exists(target) and os.path.dirname(target) == os.path.realpath(folder):
                shutil.move(target, path)


class CMakeBuild(build_ext):
    """Builds rasterflow._core with CMake and installs the package's wheel component."""

    def run(self):
        build = cmake_build_dir()
        jobs = os.environ.get("RASTERFLOW_JOBS", "2")
        run(["cmake", "--build", build, "--target", "rasterflow_python", "-j", jobs])
        staging = os.path.join(os.path.abspath(self.build_temp), "wheel")
        shutil.rmtree(staging, ignore_errors=True)
        run(["cmake", "--install", build, "--component", "wheel", "--prefix", staging])
        package = os.path.join(staging, "rasterflow")
        if not any(n.startswith("_core") for n in os.listdir(package)):
            raise RuntimeError(f"{build}: the Python module was not built (is RASTERFLOW_PYTHON on and "
                               "pybind11 found? see CMake's 'rasterflow: Python module' line)")
        flatten_symlinks(package)
        target = os.path.join(os.path.abspath(self.build_lib), "rasterflow")
        os.makedirs(target, exist_ok=True)
        for name in os.listdir(package):
            shutil.copy2(os.path.join(package, name), os.path.join(target, name))
        if self.inplace:
            raise RuntimeError("editable installs are not supported: use PYTHONPATH=build/python")


setup(
    version=project_version(),
    ext_modules=[Extension("rasterflow._core", sources=[])],  # built by CMake (CMakeBuild)
    cmdclass={"build_ext": CMakeBuild},
    options={"build": {"build_base": os.path.join("build-pip", "setuptools")}},
    zip_safe=False,
)
