# Spack package for batchai-slurm, in this repository's own package repo:
#   spack repo add <clone>/spack && spack install batchai-slurm
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
    # Slurm's libslurm changes ABI every release: declare the site's Slurm
    # as an external (spack external find slurm) so an upgrade forces a rebuild.
    depends_on("slurm@21.08:")
    depends_on("boost@1.81: +json")
    # Only rank 0 writes checkpoints, so serial HDF5 is enough.
    depends_on("hdf5~mpi")
    depends_on("mpi")
    depends_on("sqlite")
    # The CPU trainer keeps OpenBLAS single-threaded under its own OpenMP
    # threads (openblas_set_num_threads), so it needs OpenBLAS itself, not
    # any BLAS; the compiler provides OpenMP.
    depends_on("openblas")
    depends_on("nccl", when="+nccl")
    depends_on("googletest", type="test")

    conflicts("cuda_arch=none", when="+cuda", msg="set cuda_arch, e.g. cuda_arch=90 for H100")

    def cmake_args(self):
        return [
            self.define("BATCHAI_CUDA", "ON" if self.spec.satisfies("+cuda") else "OFF"),
            self.define_from_variant("BATCHAI_NCCL", "nccl"),
            self.define_from_variant("BATCHAI_PROLOG", "prolog"),
            self.define("BUILD_TESTING", self.run_tests),
        ]
