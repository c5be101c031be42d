#!/usr/bin/env bash
# Install everything icebench needs on Debian 12 (run as root, or with sudo available):
#   Debian packages -> PETSc (built from the PyPI sdist against Debian's libraries, cached)
#   -> one virtual environment with mpi4py, petsc4py, h5py (MPI HDF5), Firedrake,
#      TensorFlow/Keras, zarr, xarray, dask, MLflow, Snakemake and icebench itself.
#
# Idempotent: the PETSc build is cached under $ICEBENCH_CACHE (default ~/.cache/icebench) in a
# folder named after a hash of its version and configure options, and reused while that hash
# matches; pip's wheel cache sits beside it, so a fresh environment over a kept cache takes a
# minute or two. The environment is $ICEBENCH_ENV (default .venv in the checkout); a stamp in it
# skips an environment that is up to date.
#
# Quiet: the terminal gets one line per stage with its wall time, and a progress line while a
# long stage runs (every $ICEBENCH_PROGRESS_EVERY s, default 60; updated in place on a
# terminal). All build output goes to the log, $ICEBENCH_ENV/install.log (or
# $ICEBENCH_INSTALL_LOG). On failure the script names the stage and the log, prints the log's
# last 30 lines and exits non-zero. Stage times are also written to $ICEBENCH_ENV/install-times.tsv.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ENV_DIR=${ICEBENCH_ENV:-$REPO/.venv}
CACHE=${ICEBENCH_CACHE:-$HOME/.cache/icebench}
PYTHON=${ICEBENCH_PYTHON:-python3}
LOG=${ICEBENCH_INSTALL_LOG:-$ENV_DIR/install.log}
PROGRESS_EVERY=${ICEBENCH_PROGRESS_EVERY:-60}
# mpi4py: PyPI's wheel carries an Open MPI build of its extension that loads the system
# libmpi.so.40 (checked below against mpirun's version); 1 builds it from source instead.
MPI4PY_FROM_SOURCE=${ICEBENCH_MPI4PY_FROM_SOURCE:-0}
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

# ---- terminal output: fd 3 is the caller's stdout; every stage writes to $LOG ----------------
exec 3>&1
TTY=0 COLS=100
if [ -t 3 ]; then
  TTY=1
  COLS=$(stty size <&3 2>/dev/null | cut -d' ' -f2) || true
  [[ $COLS =~ ^[0-9]+$ ]] && [ "$COLS" -ge 40 ] || COLS=100
fi
say() {  # one line on the terminal (wiping an in-place progress line first)
  if [ "$TTY" = 1 ]; then printf '\r\033[K' >&3; fi
  printf '[install] %s\n' "$*" >&3
}
fmt_s() {  # 75 -> "1 min 15 s"
  if [ "$1" -lt 60 ]; then echo "$1 s"; else printf '%d min %02d s' $(($1 / 60)) $(($1 % 60)); fi
}

STAGE="" STAGE_T0=0 STAGE_NOTE="" STAGE_PROGRESS="" HEARTBEAT_PID="" BG_PID="" BUILT=0
TIMES=()

last_log_line() {  # the log's last non-blank line, without carriage returns or colours
  tail -c 4000 "$LOG" 2>/dev/null | tr '\r' '\n' \
    | sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g' -e 's/^[[:space:]]*//' -e '/^$/d' -e '/^=====/d' \
    | tail -n 1 || true
}
heartbeat() {  # runs in the background while a stage runs: a progress line now and then
  local every=$PROGRESS_EVERY line what
  [ "$TTY" = 1 ] && every=2
  NAP=""
  trap 'kill "$NAP" 2>/dev/null; exit 0' TERM
  while :; do
    sleep "$every" >/dev/null 2>&1 3>&- &
    NAP=$!
    wait "$NAP"
    what=""
    if [ -n "$STAGE_PROGRESS" ]; then what=$("$STAGE_PROGRESS" 2>/dev/null) || true
    else what=$(last_log_line); fi
    line="  $STAGE: $(fmt_s $(($(date +%s) - STAGE_T0))) so far; ${what:-...}"
    if [ "$TTY" = 1 ]; then
      printf '\r\033[K[install] %s' "${line:0:$((COLS - 11))}" >&3
    else
      printf '[install] %s\n' "${line:0:150}" >&3
    fi
  done
}
stop_pid() {  # stop a background process (and its process group, if it leads one)
  kill -- "-$1" 2>/dev/null || true
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

stage() {  # stage KEY LABEL COMMAND...: run COMMAND with its output in the log, print one line
  local key=$1 label=$2 dt
  shift 2
  STAGE=$label STAGE_NOTE="" STAGE_T0=$(date +%s)
  printf '\n===== %s  %s: %s\n' "$(date '+%F %T')" "$label" "$*" >>"$LOG"
  heartbeat 9>&- &  # not holding the cache lock (fd 9)
  HEARTBEAT_PID=$!
  # fd 3 stays open in COMMAND: when a signal stops the script inside it, on_exit needs it
  "$@" >>"$LOG" 2>&1 9>&- </dev/null
  stop_pid "$HEARTBEAT_PID"
  HEARTBEAT_PID=""
  dt=$(($(date +%s) - STAGE_T0))
  TIMES+=("$key	$dt")
  say "$(printf '%-36s %11s' "$label" "$(fmt_s "$dt")")${STAGE_NOTE:+  $STAGE_NOTE}"
  STAGE="" STAGE_PROGRESS=""
}

on_exit() {
  local rc=$?
  if [ -n "$HEARTBEAT_PID" ]; then stop_pid "$HEARTBEAT_PID"; fi
  if [ -n "$BG_PID" ]; then stop_pid "$BG_PID"; fi
  [ "$rc" -eq 0 ] && return
  if [ -n "$STAGE" ]; then
    say "FAILED: $STAGE (exit status $rc after $(fmt_s $(($(date +%s) - STAGE_T0))))"
  else
    say "FAILED (exit status $rc)"
  fi
  if [ -s "$LOG" ]; then
    say "last 30 lines of $LOG:"
    tr '\r' '\n' <"$LOG" | tail -n 30 | sed 's/^/    /' >&3
    say "full log: $LOG"
  fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- stages ---------------------------------------------------------------------------------
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_apt() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then STAGE_NOTE="all ${#APT_PACKAGES[@]} installed"; return; fi
  STAGE_NOTE="installed ${#missing[@]}: ${missing[*]}"
  echo "installing Debian packages: ${missing[*]}"
  as_root apt-get update
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y --no-install-recommends "${missing[@]}"
}

petsc_hash() {
  { echo "$PETSC_VERSION"; printf '%s\n' "${PETSC_CONFIGURE[@]}"; mpicc --version | head -1; } \
    | sha256sum | cut -c1-12
}

petsc_download() {
  rm -rf "$PETSC_DIR"
  local tmp
  tmp=$(mktemp -d "$CACHE/petsc-src.XXXXXX")
  "$PYTHON" -m pip download --no-deps --no-binary petsc -d "$tmp" "petsc==$PETSC_VERSION"
  tar -xzf "$tmp"/petsc-"$PETSC_VERSION".tar.gz -C "$tmp"
  mv "$tmp/petsc-$PETSC_VERSION" "$PETSC_DIR"
  rm -rf "$tmp"
}
petsc_configure() {
  (cd "$PETSC_DIR" && "$PYTHON" ./configure PETSC_ARCH="$PETSC_ARCH" "${PETSC_CONFIGURE[@]}")
}
petsc_make() {  # configure picked MAKE_NP (the number of cores) for the parallel compile
  make -C "$PETSC_DIR" PETSC_DIR="$PETSC_DIR" PETSC_ARCH="$PETSC_ARCH" all
  touch "$PETSC_DIR/.icebench-built"
}
petsc_make_progress() {  # "412 of 984 files compiled", from PETSc's own make.log and file list
  local conf=$PETSC_DIR/$PETSC_ARCH/lib/petsc/conf total compiled
  total=$(awk '/^srcs-[^ ]*\.(c|cxx|F|F90) :=/ {n += NF - 2} END {print n + 0}' "$conf/files")
  compiled=$(grep -cE '^ +(CC|CXX|FC) ' "$conf/make.log" || true)
  if [ "${total:-0}" -gt 0 ]; then echo "$compiled of $total files compiled"
  else echo "$compiled files compiled"; fi
}
petsc_check() {
  make -C "$PETSC_DIR" PETSC_DIR="$PETSC_DIR" PETSC_ARCH="$PETSC_ARCH" check
  rm -rf "${PETSC_DIR:?}/$PETSC_ARCH/obj"
  touch "$PETSC_DIR/.icebench-complete"
}

env_stamp() {
  { echo "$PETSC_HASH $FIREDRAKE_VERSION $PETSC4PY_VERSION $H5PY_VERSION $MPI4PY_VERSION";
    cat "$REPO/requirements/stack.txt" "$REPO/pyproject.toml"; "$PYTHON" --version; } \
    | sha256sum | cut -c1-16
}

make_venv() {
  [ -x "$ENV_DIR/bin/python" ] || "$PYTHON" -m venv "$ENV_DIR"
  "$ENV_DIR/bin/python" -m pip install --upgrade pip
}
build_requirements() {
  local mpi4py_binary=(--only-binary mpi4py)
  [ "$MPI4PY_FROM_SOURCE" = 1 ] && mpi4py_binary=(--no-binary mpi4py)
  pip install "${mpi4py_binary[@]}" "mpi4py==$MPI4PY_VERSION" numpy cython pkgconfig pybind11 \
    "setuptools>=77" wheel petsctools rtree firedrake-rtree libsupermesh
  check_mpi4py
}
check_mpi4py() {  # mpi4py must run on the Open MPI that PETSc links (Debian's libmpi.so.40)
  local want got
  want=$(mpirun --version | sed -n 's/.*(Open MPI) \([0-9.]*\).*/\1/p' | head -1)
  got=$(python -c 'from mpi4py import MPI; print(MPI.Get_library_version().strip(" \0\n"))')
  echo "mpirun: Open MPI $want; mpi4py runs on: $got"
  if [[ $got != "Open MPI v$want"* ]]; then
    echo "mpi4py does not run on the system's Open MPI $want: set ICEBENCH_MPI4PY_FROM_SOURCE=1"
    return 1
  fi
  STAGE_NOTE="mpi4py $MPI4PY_VERSION on Open MPI $want"
}
install_petsc4py_and_h5py() {
  # h5py needs MPI and HDF5 but not PETSc: it compiles beside petsc4py, whose one big C file
  # keeps a single core busy for minutes. Its output goes to the log once it is done.
  local h5log=$LOG.h5py rc=0 h5s
  setsid pip install --no-build-isolation --no-deps --no-binary h5py "h5py==$H5PY_VERSION" \
    >"$h5log" 2>&1 </dev/null 3>&- 9>&- &
  BG_PID=$!
  pip install --no-build-isolation --no-binary petsc4py "petsc4py==$PETSC4PY_VERSION"
  wait "$BG_PID" || rc=$?
  BG_PID=""
  h5s=$(($(stat -c %Y "$h5log") - STAGE_T0))  # its log's last write: when h5py was done
  STAGE_NOTE="h5py took $(fmt_s "$h5s") of it"
  printf '\n----- h5py %s, built beside petsc4py in %s (exit status %s) -----\n' \
    "$H5PY_VERSION" "$(fmt_s "$h5s")" "$rc"
  cat "$h5log"
  rm -f "$h5log"
  return "$rc"
}
install_firedrake() {
  pip install --no-build-isolation --no-deps "firedrake==$FIREDRAKE_VERSION"
  pip install "firedrake[check]==$FIREDRAKE_VERSION"
}
install_stack() {
  pip install -r "$REPO/requirements/stack.txt"
}
install_project() {
  pip install --no-build-isolation --no-deps -e "$REPO"
  pip check
  write_activation_hook
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

main() {
  local t_start stamp
  mkdir -p "$CACHE" "$ENV_DIR" "$(dirname "$LOG")"
  exec 9>"$CACHE/.lock"
  if ! flock -n 9; then  # one install at a time shares the cache
    say "waiting for another install to release $CACHE/.lock"
    flock 9
  fi
  t_start=$(date +%s)
  : >"$LOG"
  say "log: $LOG"

  stage apt "Debian packages" install_apt

  PETSC_HASH=$(petsc_hash)
  export PETSC_DIR="$CACHE/petsc-$PETSC_VERSION-$PETSC_HASH"
  export PETSC_ARCH=arch-icebench
  if [ -f "$PETSC_DIR/.icebench-complete" ]; then
    say "$(printf '%-36s %11s' "PETSc $PETSC_VERSION" cached)  $PETSC_DIR"
  else
    BUILT=1
    say "PETSc $PETSC_VERSION: building into $PETSC_DIR"
    if [ ! -f "$PETSC_DIR/.icebench-built" ]; then
      stage petsc-download "PETSc download" petsc_download
      stage petsc-configure "PETSc configure" petsc_configure
      STAGE_PROGRESS=petsc_make_progress
      stage petsc-make "PETSc make" petsc_make
    fi
    stage petsc-check "PETSc make check" petsc_check
  fi

  export CC=mpicc CXX=mpicxx FC=mpifort MPICC=mpicc HDF5_MPI=ON HDF5_DIR="$HDF5_MPI_DIR"
  export OMP_NUM_THREADS=1 PIP_CACHE_DIR="$CACHE/pip-$PETSC_HASH" PIP_DISABLE_PIP_VERSION_CHECK=1
  export PIP_PROGRESS_BAR=off

  stamp=$(env_stamp)
  if [ -f "$ENV_DIR/.icebench-stamp" ] && [ "$(cat "$ENV_DIR/.icebench-stamp")" = "$stamp" ]; then
    say "$(printf '%-36s %11s' "environment" "up to date")  $ENV_DIR"
  else
    BUILT=1
    rm -f "$ENV_DIR/.icebench-stamp"
    stage venv "venv + pip" make_venv
    # shellcheck disable=SC1091
    source "$ENV_DIR/bin/activate"
    stage build-requirements "mpi4py, numpy, libsupermesh, ..." build_requirements
    stage petsc4py+h5py "petsc4py + h5py (side by side)" install_petsc4py_and_h5py
    stage firedrake "Firedrake" install_firedrake
    stage python-stack "TensorFlow, JAX, zarr, MLflow, ..." install_stack
    stage icebench "icebench + pip check" install_project
    echo "$stamp" > "$ENV_DIR/.icebench-stamp"
  fi
  TIMES+=("total	$(($(date +%s) - t_start))")
  # A run that built nothing keeps the times of the run that did.
  if [ "$BUILT" = 1 ]; then printf '%s\n' "${TIMES[@]}" > "$ENV_DIR/install-times.tsv"; fi
  say "ready in $(fmt_s $(($(date +%s) - t_start))): $ENV_DIR/bin/icebench"
}

# `source scripts/install.sh` only defines the stages (tests/test_install_files.py does that).
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
