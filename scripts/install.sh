#!/usr/bin/env bash
# Install everything icebench needs on Debian 12 (run as root, or with sudo available):
#   Debian packages -> PETSc (built from the PyPI sdist against Debian's libraries, cached)
#   -> one virtual environment with mpi4py, petsc4py, h5py (MPI HDF5), Firedrake,
#      TensorFlow/Keras, zarr, xarray, dask, MLflow, Snakemake and icebench itself.
#
# Idempotent: the PETSc build is cached under $ICEBENCH_CACHE (default ~/.cache/icebench) in a
# folder named after a hash of its version and configure options, and reused while that hash
# matches; pip's wheel cache sits beside it, so a fresh environment over a kept cache takes
# seconds. The environment is $ICEBENCH_ENV (default .venv in the checkout).
#
# Each step's wall time is printed and written to $ICEBENCH_ENV/install-times.tsv.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ENV_DIR=${ICEBENCH_ENV:-$REPO/.venv}
CACHE=${ICEBENCH_CACHE:-$HOME/.cache/icebench}
PYTHON=${ICEBENCH_PYTHON:-python3}
PETSC_VERSION=3.26.0
PETSC4PY_VERSION=3.26.0
FIREDRAKE_VERSION=2026.10.0
H5PY_VERSION=3.14.0  # tensorflow-cpu 2.21 requires h5py<3.15
MPI4PY_VERSION=4.1.2

APT_PACKAGES=(build-essential gfortran cmake ninja-build pkg-config bison flex python3-dev
  python3-venv libopenmpi-dev openmpi-bin libopenblas-dev libhdf5-mpi-dev
  libscalapack-openmpi-dev libmumps-ptscotch-dev libmetis-dev libptscotch-dev
  libsuitesparse-dev libsuperlu-dev libsuperlu-dist-dev libfftw3-dev libfftw3-mpi-dev
  libhwloc-dev zlib1g-dev)

MULTIARCH=x86_64-linux-gnu
command -v dpkg-architecture >/dev/null && MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
HDF5_MPI_DIR=/usr/lib/$MULTIARCH/hdf5/openmpi
PETSC_FLAGS="-O3 -mtune=generic -I/usr/include/hdf5/openmpi -I/usr/include/scotch -I/usr/include/superlu -I/usr/include/superlu-dist -L$HDF5_MPI_DIR"
# MUMPS: Debian's PT-SCOTCH build. Its plain build has no METIS or SCOTCH and silently orders
# with PORD, which costs 1.6x the factorization flops of SCOTCH on the Stokes Jacobians.
PETSC_CONFIGURE=(--with-cc=mpicc --with-cxx=mpicxx --with-fc=mpifort
  "COPTFLAGS=$PETSC_FLAGS" "CXXOPTFLAGS=$PETSC_FLAGS" "FOPTFLAGS=$PETSC_FLAGS"
  --with-c2html=0 --with-debugging=0 --with-fortran-bindings=0 --with-shared-libraries=1
  --with-strict-petscerrorcode --with-bison --with-fftw --with-hdf5 --with-hwloc --with-metis
  --with-mumps-include=/usr/include
  "--with-mumps-lib=-ldmumps_ptscotch -lmumps_common_ptscotch -lpord_ptscotch"
  --with-ptscotch --with-scalapack-lib=-lscalapack-openmpi --with-suitesparse
  --with-superlu_dist --with-zlib --with-blaslapack-lib=-lopenblas --with-cuda=0 --with-cudac=0
  --with-x=0)

# OpenMPI refuses to start as root unless told; PETSc's checks and our tests run mpiexec.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

log() { printf '[install] %s\n' "$*"; }
TIMES=()
timed() {  # timed NAME CMD...: run a step, record its wall time
  local name=$1 t0 t1
  shift
  t0=$(date +%s)
  log "step '$name' ..."
  "$@"
  t1=$(date +%s)
  TIMES+=("$name	$((t1 - t0))")
  log "step '$name' done in $((t1 - t0)) s"
}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_apt() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then log "Debian packages already installed"; return; fi
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get update -q
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
}

petsc_hash() {
  { echo "$PETSC_VERSION"; printf '%s\n' "${PETSC_CONFIGURE[@]}"; mpicc --version | head -1; } \
    | sha256sum | cut -c1-12
}

build_petsc() {
  if [ -f "$PETSC_DIR/.icebench-complete" ]; then
    log "reusing cached PETSc build $PETSC_DIR"
    return
  fi
  if [ ! -f "$PETSC_DIR/.icebench-built" ]; then
    log "building PETSc $PETSC_VERSION in $PETSC_DIR (about 4 minutes on 2 cores)"
    rm -rf "$PETSC_DIR"
    local tmp
    tmp=$(mktemp -d "$CACHE/petsc-src.XXXXXX")
    "$PYTHON" -m pip download -q --no-deps --no-binary petsc -d "$tmp" "petsc==$PETSC_VERSION"
    tar -xzf "$tmp"/petsc-"$PETSC_VERSION".tar.gz -C "$tmp"
    mv "$tmp/petsc-$PETSC_VERSION" "$PETSC_DIR"
    rm -rf "$tmp"
    (cd "$PETSC_DIR" &&
      "$PYTHON" ./configure PETSC_ARCH="$PETSC_ARCH" "${PETSC_CONFIGURE[@]}" &&
      make PETSC_DIR="$PETSC_DIR" PETSC_ARCH="$PETSC_ARCH" all)
    touch "$PETSC_DIR/.icebench-built"
  fi
  make -C "$PETSC_DIR" PETSC_DIR="$PETSC_DIR" PETSC_ARCH="$PETSC_ARCH" check
  rm -rf "${PETSC_DIR:?}/$PETSC_ARCH/obj"
  touch "$PETSC_DIR/.icebench-complete"
}

env_stamp() {
  { echo "$PETSC_HASH $FIREDRAKE_VERSION $PETSC4PY_VERSION $H5PY_VERSION $MPI4PY_VERSION";
    cat "$REPO/requirements/stack.txt" "$REPO/pyproject.toml"; "$PYTHON" --version; } \
    | sha256sum | cut -c1-16
}

build_requirements() {
  pip install -q --upgrade pip
  pip install -q --no-binary mpi4py "mpi4py==$MPI4PY_VERSION" numpy cython pkgconfig pybind11 \
    "setuptools>=77" wheel petsctools rtree firedrake-rtree libsupermesh
}
install_petsc4py() {
  pip install -q --no-build-isolation --no-binary petsc4py "petsc4py==$PETSC4PY_VERSION"
}
install_h5py() {
  pip install -q --no-build-isolation --no-binary h5py "h5py==$H5PY_VERSION"
}
install_firedrake() {
  pip install -q --no-build-isolation --no-deps "firedrake==$FIREDRAKE_VERSION"
  pip install -q "firedrake[check]==$FIREDRAKE_VERSION"
}
install_stack() {
  pip install -q -r "$REPO/requirements/stack.txt"
}
install_project() {
  pip install -q --no-build-isolation --no-deps -e "$REPO"
  pip check
}

main() {
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock 9   # one install at a time shares the cache
  local t_start
  t_start=$(date +%s)
  timed apt install_apt

  PETSC_HASH=$(petsc_hash)
  export PETSC_DIR="$CACHE/petsc-$PETSC_VERSION-$PETSC_HASH"
  export PETSC_ARCH=arch-icebench
  timed petsc build_petsc

  export CC=mpicc CXX=mpicxx FC=mpifort MPICC=mpicc HDF5_MPI=ON HDF5_DIR="$HDF5_MPI_DIR"
  export OMP_NUM_THREADS=1 PIP_CACHE_DIR="$CACHE/pip-$PETSC_HASH" PIP_DISABLE_PIP_VERSION_CHECK=1

  local stamp
  stamp=$(env_stamp)
  if [ -f "$ENV_DIR/.icebench-stamp" ] && [ "$(cat "$ENV_DIR/.icebench-stamp")" = "$stamp" ]; then
    log "environment $ENV_DIR is up to date"
  else
    rm -f "$ENV_DIR/.icebench-stamp"
    [ -x "$ENV_DIR/bin/python" ] || "$PYTHON" -m venv "$ENV_DIR"
    # shellcheck disable=SC1091
    source "$ENV_DIR/bin/activate"
    timed build-requirements build_requirements
    timed petsc4py install_petsc4py
    timed h5py install_h5py
    timed firedrake install_firedrake
    timed python-stack install_stack
    timed icebench install_project
    write_activation_hook
    echo "$stamp" > "$ENV_DIR/.icebench-stamp"
  fi
  TIMES+=("total	$(($(date +%s) - t_start))")
  printf '%s\n' "${TIMES[@]}" > "$ENV_DIR/install-times.tsv"
  log "wall times (s):"; printf '  %s\n' "${TIMES[@]}"
  log "ready: $ENV_DIR/bin/icebench"
}

write_activation_hook() {
  # Firedrake and OpenMPI need these variables in every process of the environment: a .pth
  # startup hook sets them for the venv's python, so `snakemake`, `pytest` and `icebench` need
  # no activation step.
  local site
  site=$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  cat > "$site/icebench_env.pth" <<EOF
import os; [os.environ.setdefault(k, v) for k, v in {'PETSC_DIR': '$PETSC_DIR', 'PETSC_ARCH': '$PETSC_ARCH', 'OMP_NUM_THREADS': '1', 'OMPI_ALLOW_RUN_AS_ROOT': '1', 'OMPI_ALLOW_RUN_AS_ROOT_CONFIRM': '1', 'OMPI_MCA_rmaps_base_oversubscribe': '1', 'TF_CPP_MIN_LOG_LEVEL': '2'}.items()]
EOF
}

main "$@"
