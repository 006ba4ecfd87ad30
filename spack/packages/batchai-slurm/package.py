# Spack package for batchai-slurm, in this repository's own package repo:
#   spack repo add <clone>/spack && spack install batchai-slurm
#   spack test run batchai-slurm     (the test_* methods below)
# tests/spack/check_package.py keeps this file in step with CMakeLists.txt
# and runs the test_* methods against a real install.
import os
import re

from spack.package import *


class BatchaiSlurm(CMakePackage, CudaPackage):
    """Azure Batch AI job.json workflows on Slurm: the batchai CLI, the
    batchai-prolog node helper and the batchai-train MPI/CUDA trainer."""

    # The project is not published yet: point these at its public repository
    # when it is, and add released versions with their sha256.
    homepage = "https://github.com/batchai-slurm/batchai-slurm"
    git = "https://github.com/batchai-slurm/batchai-slurm.git"

    license("MIT")

    version("main", branch="main")

    variant("nccl", default=True, when="+cuda", description="NCCL allreduce between GPUs")
    variant("prolog", default=True, description="Build and install batchai-prolog")

    depends_on("c", type="build")
    depends_on("cxx", type="build")
    depends_on("cmake@3.25:", type="build")
    # Finds libyaml through its yaml-0.1.pc.
    depends_on("pkgconfig", type="build")
    # Slurm's libslurm changes ABI every release: declare the site's Slurm
    # as an external (spack external find slurm) so an upgrade forces a rebuild.
    depends_on("slurm@21.08:")
    depends_on("boost@1.81: +json")
    # Only rank 0 writes checkpoints, so serial HDF5 is enough.
    depends_on("hdf5~mpi")
    depends_on("mpi")
    depends_on("sqlite")
    # -o yaml: libyaml writes the YAML, as PyYAML's emitter (a port of it)
    # does for az.
    depends_on("libyaml")
    # The CPU trainer keeps OpenBLAS single-threaded under its own OpenMP
    # threads (openblas_set_num_threads), so it needs OpenBLAS itself, not
    # any BLAS; the compiler provides OpenMP.
    depends_on("openblas")
    depends_on("nccl", when="+nccl")
    depends_on("googletest", type="test")

    conflicts("cuda_arch=none", when="+cuda", msg="set cuda_arch, e.g. cuda_arch=90 for H100")

    sanity_check_is_file = [join_path("bin", "batchai"), join_path("bin", "batchai-train")]

    def cmake_args(self):
        return [
            self.define("BATCHAI_CUDA", "ON" if self.spec.satisfies("+cuda") else "OFF"),
            self.define_from_variant("BATCHAI_NCCL", "nccl"),
            self.define_from_variant("BATCHAI_PROLOG", "prolog"),
            # Boost.JSON, SQLite and libstdc++ from their archives where the
            # dependencies have them (a shorter start for each CLI call);
            # shared, through RPATH, where they do not.
            self.define("BATCHAI_STATIC_DEPS", True),
            self.define("BUILD_TESTING", self.run_tests),
        ]

    # Stand-alone tests (spack test run batchai-slurm). They need no Slurm
    # allocation, no daemons and no GPU: the CLI translates without Slurm.

    def _batchai(self):
        return Executable(self.prefix.bin.batchai)

    def test_version(self):
        """batchai --version names the program and the features it was built with"""
        out = self._batchai()("--version", output=str)
        lines = out.splitlines()
        assert lines and lines[0].startswith("batchai "), out
        # "features: cuda=13.0.88 nccl=yes mpi=Open MPI v4.1.4 libslurm=22.05.8"
        features = lines[1] if len(lines) > 1 else ""
        for name in ("cuda", "nccl", "mpi", "libslurm"):
            assert re.search(rf"\b{name}=", features), f"--version lacks {name}: {out}"
        assert ("cuda=no" not in features) == self.spec.satisfies("+cuda"), out

    def test_validate_example(self):
        """the installed tutorial job.json passes job validate"""
        example = join_path(self.prefix.share.batchai.examples, "cifar10-horovod.json")
        out = self._batchai()("job", "validate", "-f", example, output=str)
        assert out.strip() == "valid", out

    def test_dry_run_example(self):
        """job create --dry-run turns the tutorial job into an sbatch script, secrets masked"""
        example = join_path(self.prefix.share.batchai.examples, "cifar10-horovod.json")
        key = "c3BhY2stdGVzdC1rZXk="
        # output=str with error=str returns both streams: the key may be in neither.
        out = self._batchai()(
            "job", "create", "--dry-run",
            "-g", "spack", "-w", "test", "-e", "smoke", "-n", "cifar",
            "-c", "gpu", "-f", example,
            "--storage-account-name", "spacktest", "--storage-account-key", key,
            output=str, error=str,
            extra_env={
                "BATCHAI_CONF": join_path(self.prefix.etc.batchai, "site.json.example"),
                "BATCHAI_STATE_DIR": os.path.join(os.getcwd(), "state"),
            },
        )
        assert "#!/bin/bash" in out and "--partition=gpu" in out and "--nodes=4" in out, out
        assert key not in out, "the storage key was printed"
