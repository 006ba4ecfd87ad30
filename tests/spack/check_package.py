#!/usr/bin/env python3
"""Keeps spack/packages/batchai-slurm/package.py in step with the CMake build.

A site builds us through that file, and nothing else in our CI runs it, so a
renamed CMake option or a new find_package would otherwise first break in a
site's `spack install`. This check:

1. loads package.py as Python against a stand-in for Spack's package API
   that records each directive (Spack itself is not installed here);
2. applies the rules `spack audit packages` enforces: a docstring, no
   template boilerplate, sha256 checksums only, a description for every
   variant, and only existing variants named in `when=`;
3. evaluates cmake_args() for every combination of variants: each -D names
   an option our CMake files define, each variant reaches its option, and
   every option a site might set is passed (developer-only ones are listed
   below, with the reason);
4. compares dependencies both ways: everything CMake finds has a depends_on
   with the same version floor and components, and every depends_on is
   something CMake finds;
5. with --build, installs that build into a temporary prefix and runs the
   package's test_* methods against it, as `spack test run` would.

    check_package.py --source DIR [--build DIR --variant NAME=VALUE ...]
"""

import argparse
import ast
import contextlib
import glob
import importlib.util
import itertools
import os
import re
import subprocess
import sys
import tempfile
import types

PROGRAM = "check_package.py"

# Options of our CMake files that a Spack build leaves at their defaults,
# and why. Every other option must be set by cmake_args().
DEVELOPER_ONLY = {
    "BATCHAI_SANITIZE": "sanitizer builds are a developer preset (CMakePresets.json: sanitize)",
    "BATCHAI_WERROR": "warnings as errors would fail a site's build on a newer compiler",
    "BATCHAI_FUZZ": "libFuzzer targets: clang only, for developers",
    "BATCHAI_TEST_CLUSTER_DIR": "where our integration tests start their local Slurm cluster",
    "BATCHAI_TEST_DATA": "where our trainer tests find CIFAR-10",
}

# What each CMake find stands for in Spack. None: not a package dependency.
FIND_PACKAGE = {
    "Slurm": "slurm",
    "Boost": "boost",
    "HDF5": "hdf5",
    "MPI": "mpi",
    "SQLite3": "sqlite",
    "GTest": "googletest",
    "CUDAToolkit": "cuda",
    # find_package(BLAS) checks for a BLAS; the library we link is OpenBLAS.
    "BLAS": "openblas",
    "OpenMP": None,  # the compiler's runtime
    "Threads": None,  # libc
    "Git": None,  # optional (QUIET): stamps the revision into --version
    "PkgConfig": "pkgconfig",  # finds libyaml's yaml-0.1.pc
}
FIND_LIBRARY = {
    "slurm": "slurm",
    "nccl": "nccl",
    "openblas": "openblas",
    "libboost_json.a": "boost",
    "libboost_container.a": "boost",
    "libsqlite3.a": "sqlite",
    "libyaml.a": "libyaml",
}
BUILD_TOOLS = {"c", "cxx", "cmake"}  # compilers and CMake: build deps CMake needs to run at all

failures = []


def fail(message):
    if message in failures:
        return  # the same problem, seen from another combination of variants
    failures.append(message)
    print(f"{PROGRAM}: FAIL: {message}")


# --- A stand-in for the part of spack.package that package.py uses -------------


class Recorder:
    def __init__(self):
        self.versions, self.variants, self.depends, self.conflicting = [], {}, [], []

    def version(self, name, **kw):
        self.versions.append((name, kw))

    def variant(self, name, default=None, description="", when=None, **kw):
        self.variants[name] = {"default": default, "description": description, "when": when, **kw}

    def depends_on(self, spec, when=None, type=("build", "link"), **kw):
        self.depends.append({"spec": spec, "when": when, "type": type})

    def conflicts(self, spec, when=None, msg=None):
        self.conflicting.append({"spec": spec, "when": when})


directives = Recorder()


class Prefix(str):
    """Spack's Prefix: attribute access joins path components."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Prefix(os.path.join(self, name))

    def join(self, name):
        return Prefix(os.path.join(self, name))


class VariantValue:
    def __init__(self, value):
        self.value = value


class Spec:
    """Enough of a concrete spec for cmake_args and the tests: its variants."""

    def __init__(self, values):
        self.values = values
        self.variants = {k: VariantValue(v) for k, v in values.items()}

    def satisfies(self, constraint):
        for token in constraint.split():
            for sign, name in re.findall(r"([+~])(\w+)", token):
                if self.values.get(name) != (sign == "+"):
                    return False
            if "=" in token:
                name, value = token.split("=", 1)
                if str(self.values.get(name)) != value:
                    return False
        return True


class Executable:
    """Spack's Executable, for what the tests call: output=str, error=str, extra_env."""

    def __init__(self, path):
        self.path = str(path)

    def __call__(self, *args, output=None, error=None, extra_env=None, fail_on_error=True):
        env = dict(os.environ, **(extra_env or {}))
        run = subprocess.run(
            [self.path, *args],
            env=env,
            stdout=subprocess.PIPE if output is str else None,
            stderr=subprocess.PIPE if error is str else None,
            text=True,
            check=False,
        )
        if fail_on_error and run.returncode != 0:
            raise RuntimeError(f"{self.path} {' '.join(args)} exited {run.returncode}: {run.stderr or ''}")
        # Spack returns stdout then stderr, joined, for whichever is str.
        return (run.stdout or "") + (run.stderr or "")


class CMakePackage:
    build_time_test_callbacks = ["check"]

    def define(self, name, value):
        if isinstance(value, bool):
            return f"-D{name}:BOOL={'ON' if value else 'OFF'}"
        return f"-D{name}:STRING={value}"

    def define_from_variant(self, name, variant):
        if variant not in directives.variants:
            raise KeyError(f"define_from_variant({name!r}, {variant!r}): no such variant")
        when = directives.variants[variant]["when"]
        if when and not self.spec.satisfies(when):
            return ""  # Spack passes nothing for an inactive conditional variant
        return self.define(name, bool(self.spec.values[variant]))


class CudaPackage:
    pass


def install_stand_in():
    api = types.ModuleType("spack.package")
    for name in ("version", "variant", "depends_on", "conflicts"):
        setattr(api, name, getattr(directives, name))
    api.license = lambda *a, **k: None
    api.maintainers = lambda *a, **k: None
    api.join_path = os.path.join
    api.Executable = Executable
    api.which = lambda name, **k: Executable(name)
    api.CMakePackage = CMakePackage
    api.CudaPackage = CudaPackage

    @contextlib.contextmanager
    def test_part(pkg, name, purpose=""):
        yield

    api.test_part = test_part
    api.SkipTest = type("SkipTest", (Exception,), {})
    api.__all__ = [n for n in vars(api) if not n.startswith("_")]
    spack = types.ModuleType("spack")
    spack.package = api
    sys.modules["spack"] = spack
    sys.modules["spack.package"] = api
    # What the CudaPackage mixin declares, for the checks below.
    directives.variant("cuda", default=False, description="(CudaPackage) build with CUDA")
    directives.variant("cuda_arch", default="none", description="(CudaPackage) GPU architectures", when="+cuda")
    directives.depends_on("cuda", when="+cuda")


def load_package(path):
    install_stand_in()
    spec = importlib.util.spec_from_file_location("batchai_package", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.BatchaiSlurm


# --- What our CMake files define and find ---------------------------------------


def cmake_files(source):
    files = [os.path.join(source, "CMakeLists.txt")]
    files += glob.glob(os.path.join(source, "cmake", "*.cmake"))
    for sub in sorted(os.listdir(source)):
        path = os.path.join(source, sub)
        if os.path.isdir(path) and not sub.startswith(("build", ".")):
            files += glob.glob(os.path.join(path, "**", "CMakeLists.txt"), recursive=True)
    return files


def strip_comments(text):
    return re.sub(r"#[^\n]*", "", text)


def cmake_facts(source):
    options, packages, libraries = set(), {}, set()
    minimum = None
    for path in cmake_files(source):
        with open(path) as f:
            text = strip_comments(f.read())
        options |= set(re.findall(r"\boption\(\s*(\w+)", text))
        options |= set(re.findall(r"\bset\(\s*(\w+)\s[^)]*?\bCACHE\s+(?:STRING|BOOL|PATH|FILEPATH)\b", text))
        for name, rest in re.findall(r"\bfind_package\(\s*(\w+)([^)]*)\)", text):
            version = re.match(r"\s*([0-9][0-9.]*)", rest)
            components = re.search(r"COMPONENTS\s+([\w\s]+)", rest)
            packages.setdefault(name, {"version": None, "components": set()})
            if version:
                packages[name]["version"] = version.group(1)
            if components:
                packages[name]["components"] |= set(components.group(1).split())
        for names in re.findall(r"\bfind_library\(\s*\w+\s+(?:NAMES\s+)?([\w.+-]+)", text):
            libraries.add(names)
        found = re.search(r"cmake_minimum_required\(\s*VERSION\s+([0-9.]+)", text)
        if found and path.endswith(os.path.join(source, "CMakeLists.txt")):
            minimum = found.group(1)
    # CMake's own variables (CMAKE_*) are Spack's std_cmake_args' business.
    options = {o for o in options if not o.startswith("CMAKE_")}
    # Components name CMake's languages/parts, not libraries to depend on.
    for name in ("HDF5", "MPI", "OpenMP"):
        packages.get(name, {"components": set()})["components"].clear()
    return options, packages, libraries, minimum


# --- The checks -----------------------------------------------------------------


def check_audit_rules(cls, source_text):
    if not (cls.__doc__ or "").strip():
        fail("the package class has no docstring (spack audit requires one)")
    for boilerplate in ("FIXME", "remove this boilerplate", "example.com"):
        if boilerplate in source_text:
            fail(f"package.py still holds template boilerplate: {boilerplate!r}")
    for name, kw in directives.versions:
        if not ({"sha256", "branch", "tag", "commit"} & kw.keys()):
            fail(f"version({name!r}) has neither a sha256 nor a git reference")
        for weak in ("md5", "sha1", "sha224", "sha384", "sha512"):
            if weak in kw:
                fail(f"version({name!r}) uses {weak}: Spack's audit accepts sha256 only")
    for name, v in directives.variants.items():
        if not v["description"].strip():
            fail(f"variant {name!r} has no description")
    used = [d["when"] for d in directives.depends + directives.conflicting]
    used += [v["when"] for v in directives.variants.values()]
    for when in filter(None, used):
        for name in re.findall(r"[+~](\w+)", when):
            if name not in directives.variants:
                fail(f"when={when!r} names a variant the package does not have: {name}")
    if any(m.startswith("test") for m in getattr(cls, "build_time_test_callbacks", [])):
        fail("a test_* method is in build_time_test_callbacks (spack audit forbids it)")
    tests = [m for m in vars(cls) if m.startswith("test_")]
    if not tests:
        fail("no stand-alone test_* methods")
    for m in tests:
        if not (getattr(cls, m).__doc__ or "").strip():
            fail(f"{m} has no docstring (Spack prints it as the test's purpose)")


def all_specs():
    for cuda, nccl, prolog in itertools.product((False, True), repeat=3):
        values = {"cuda": cuda, "prolog": prolog, "cuda_arch": "90" if cuda else "none"}
        if cuda:
            values["nccl"] = nccl
        elif nccl:
            continue
        yield Spec(values)


def defines_of(args):
    out = {}
    for arg in filter(None, args):
        m = re.match(r"-D(\w+)(?::\w+)?=(.*)", arg)
        if not m:
            fail(f"cmake_args() passed {arg!r}, which is not a -DNAME=VALUE")
            continue
        out[m.group(1)] = m.group(2)
    return out


def check_cmake_args(cls, options):
    known = options | {"BUILD_TESTING"}  # BUILD_TESTING comes from include(CTest)
    passed = set()
    for spec in all_specs():
        for run_tests in (False, True):
            pkg = cls.__new__(cls)
            pkg.spec, pkg.run_tests = spec, run_tests
            defines = defines_of(pkg.cmake_args())
            passed |= defines.keys()
            for name in defines.keys() - known:
                fail(f"cmake_args() sets {name}, which no CMake file of ours defines (renamed?)")
            expect = {
                "BATCHAI_CUDA": "ON" if spec.values["cuda"] else "OFF",
                "BATCHAI_PROLOG": "ON" if spec.values["prolog"] else "OFF",
                "BUILD_TESTING": "ON" if run_tests else "OFF",
            }
            if spec.values["cuda"]:
                expect["BATCHAI_NCCL"] = "ON" if spec.values["nccl"] else "OFF"
            for name, value in expect.items():
                if defines.get(name) != value:
                    fail(f"{spec.values} run_tests={run_tests}: {name} is {defines.get(name)}, want {value}")
    for name in sorted(options - passed - DEVELOPER_ONLY.keys()):
        fail(f"CMake option {name} is never set by cmake_args(): pass it, or list it as developer-only here")
    for name in sorted(DEVELOPER_ONLY.keys() - options):
        fail(f"developer-only option {name} no longer exists in CMake: drop it from {PROGRAM}")


def dependency(name):
    for d in directives.depends:
        if re.match(rf"{re.escape(name)}(?![\w-])", d["spec"]):
            return d
    return None


def check_dependencies(packages, libraries, minimum):
    reached = set(BUILD_TOOLS)
    for name, facts in sorted(packages.items()):
        if name not in FIND_PACKAGE:
            fail(f"CMake finds {name}: add it to FIND_PACKAGE in {PROGRAM} with the Spack package behind it")
            continue
        dep_name = FIND_PACKAGE[name]
        if dep_name is None:
            continue
        reached.add(dep_name)
        dep = dependency(dep_name)
        if dep is None:
            fail(f"CMake finds {name} but package.py has no depends_on({dep_name!r})")
            continue
        if facts["version"] and f"@{facts['version']}:" not in dep["spec"]:
            fail(f"CMake wants {name} {facts['version']}, package.py says {dep['spec']!r}")
        for component in facts["components"]:
            if f"+{component}" not in dep["spec"]:
                fail(f"CMake needs {name} component {component}, package.py says {dep['spec']!r}")
    for lib in sorted(libraries):
        if lib not in FIND_LIBRARY:
            fail(f"CMake looks for library {lib}: add it to FIND_LIBRARY in {PROGRAM}")
            continue
        reached.add(FIND_LIBRARY[lib])
        if dependency(FIND_LIBRARY[lib]) is None:
            fail(f"CMake looks for {lib} but package.py has no depends_on({FIND_LIBRARY[lib]!r})")
    for d in directives.depends:
        name = re.match(r"[\w-]+", d["spec"]).group(0)
        if name not in reached:
            fail(f"package.py depends on {name}, which no CMake file finds")
    cmake = dependency("cmake")
    if minimum and (cmake is None or f"@{minimum}:" not in cmake["spec"]):
        fail(f"cmake_minimum_required is {minimum}; package.py says {cmake and cmake['spec']!r}")
    hdf5 = dependency("hdf5")
    if hdf5 and not re.search(r"[+~]mpi", hdf5["spec"]):
        fail("depends_on('hdf5') must state its MPI variant (hdf5 defaults to +mpi)")
    gtest = dependency("googletest")
    if gtest and gtest["type"] not in ("test", ("test",)):
        fail("googletest must be a test-only dependency")


def run_stand_alone_tests(cls, build, variants):
    with tempfile.TemporaryDirectory(prefix="batchai-spack-test.") as work:
        prefix = os.path.join(work, "prefix")
        subprocess.run(["cmake", "--install", build, "--prefix", prefix], check=True, stdout=subprocess.DEVNULL)
        pkg = cls.__new__(cls)
        pkg.prefix, pkg.spec, pkg.run_tests = Prefix(prefix), Spec(variants), False
        for path in getattr(cls, "sanity_check_is_file", []):
            if not os.path.isfile(os.path.join(prefix, path)):
                fail(f"sanity_check_is_file: {path} is not in the installed prefix")
        names = sorted(m for m in vars(cls) if m.startswith("test_"))
        for name in names:
            stage = os.path.join(work, "stage", name)
            os.makedirs(stage)
            cwd = os.getcwd()
            os.chdir(stage)  # Spack runs each test in its own stage directory
            try:
                getattr(pkg, name)()
                print(f"{PROGRAM}: {name}: PASSED")
            except Exception as e:  # noqa: BLE001 - Spack counts any exception as a failure
                fail(f"{name}: {type(e).__name__}: {e}")
            finally:
                os.chdir(cwd)


def parse_variant(text):
    name, value = text.split("=", 1)
    return name, {"ON": True, "OFF": False, "TRUE": True, "FALSE": False, "1": True, "0": False}.get(value.upper(), value)


def main():
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="the source tree")
    parser.add_argument("--build", help="a build to install and run the test_* methods against")
    parser.add_argument("--variant", action="append", default=[], type=parse_variant,
                        help="the build's variants, e.g. cuda=ON (for the tests' spec)")
    args = parser.parse_args()

    path = os.path.join(args.source, "spack", "packages", "batchai-slurm", "package.py")
    with open(path) as f:
        source_text = f.read()
    ast.parse(source_text, path)  # a syntax error names the line
    cls = load_package(path)
    options, packages, libraries, minimum = cmake_facts(args.source)

    check_audit_rules(cls, source_text)
    check_cmake_args(cls, options)
    check_dependencies(packages, libraries, minimum)
    if args.build:
        run_stand_alone_tests(cls, args.build, dict(args.variant))

    if failures:
        print(f"{PROGRAM}: {len(failures)} problem(s) in {path}")
        return 1
    print(f"{PROGRAM}: package.py matches CMake: {len(options)} options, {len(directives.depends)} dependencies, "
          f"{len(directives.variants)} variants")
    return 0


if __name__ == "__main__":
    sys.exit(main())
