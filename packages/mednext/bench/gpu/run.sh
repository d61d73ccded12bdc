#!/usr/bin/env bash
# MedNeXt GPU benchmark: one command on an x86-64 Linux machine with an NVIDIA GPU (driver installed; PyTorch with
# CUDA for the comparison). No Node, no network needed. Usage: ./run.sh [benchmark options]   (./run.sh --help)
#
# What it does: unpacks the Node binary and the Dawn addon into a temporary folder (removed at exit), makes the
# Vulkan/EGL loader libraries that the machine lacks visible from the packed Debian packages, points the Vulkan
# loader at the NVIDIA driver's ICD file (writing one if the driver ships none), and runs the benchmark.
# Environment: PYTHON (python3) for the PyTorch side; MEDNEXT_GPU_BENCH_TMP (a folder for the temporary files).
set -euo pipefail

pack="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { echo "run.sh: $*" >&2; exit 1; }
[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || die "this pack runs on x86-64 Linux (this is $(uname -s)-$(uname -m))"

tmp="$(mktemp -d "${MEDNEXT_GPU_BENCH_TMP:-${TMPDIR:-/tmp}}/mednext-gpu-bench.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# decompress FILE DEST: xz or gzip; Python's lzma/gzip modules where the tools are missing.
decompress() {
  case "$1" in
    *.xz) if command -v xz >/dev/null; then xz -dc "$1" >"$2"; else "${PYTHON:-python3}" -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi ;;
    *.gz) if command -v gzip >/dev/null; then gzip -dc "$1" >"$2"; else "${PYTHON:-python3}" -c 'import gzip,shutil,sys; shutil.copyfileobj(gzip.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi ;;
    *) die "unknown compression: $1" ;;
  esac
}
node_file="$(ls "$pack"/node.xz "$pack"/node.gz 2>/dev/null | head -n1)" || true
dawn_file="$(ls "$pack"/dawn.node.xz "$pack"/dawn.node.gz 2>/dev/null | head -n1)" || true
[ -n "$node_file" ] && [ -n "$dawn_file" ] || die "$pack is incomplete (node.* or dawn.node.* missing): pack it again"
decompress "$node_file" "$tmp/node" && chmod +x "$tmp/node"
"$tmp/node" --version >/dev/null 2>&1 ||
  die "the packed Node does not start in $tmp (a noexec mount? set MEDNEXT_GPU_BENCH_TMP to another folder)"
# Dawn's addon needs glibc 2.34 or newer (Debian 12, Ubuntu 22.04 and later).
glibc="$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')" || true
if [ -n "$glibc" ] && [ "$(printf '%s\n2.34\n' "$glibc" | sort -V | head -n1)" != "2.34" ]; then
  echo "run.sh: warning: glibc $glibc is older than 2.34, which Dawn's addon needs: the WebGPU rows will fail" >&2
fi
cp -R "$pack/app" "$tmp/app"
mkdir -p "$tmp/app/node_modules/webgpu/dist/linux-x64"
decompress "$dawn_file" "$tmp/app/node_modules/webgpu/dist/linux-x64/dawn.node"

# The loader libraries: only those the system lacks are taken from the packages (system ones are never shadowed).
ldconfig="$(command -v ldconfig || echo /sbin/ldconfig)"  # /sbin is not on every user's PATH
have_lib() { "$ldconfig" -p 2>/dev/null | grep -q "$1 (.*x86-64"; }
missing=()
for lib in libvulkan.so.1 libEGL.so.1 libGLdispatch.so.0 libGLX.so.0 libOpenGL.so.0 libGL.so.1 libGLESv2.so.2; do
  have_lib "$lib" || missing+=("$lib")
done
if [ "${#missing[@]}" -gt 0 ]; then
  mkdir -p "$tmp/debs" "$tmp/lib"
  for deb in "$pack"/vulkan/*.deb; do
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$deb" "$tmp/debs"
    else
      member="$(cd "$tmp" && ar t "$deb" | grep '^data\.tar')" || die "$deb: no data.tar member"
      (cd "$tmp" && ar x "$deb" "$member" && tar -xf "$member" -C "$tmp/debs" && rm -f "$member")
    fi
  done
  for lib in "${missing[@]}"; do
    found="$(find "$tmp/debs" -name "$lib" | head -n1)"
    [ -n "$found" ] && ln -sf "$(readlink -f "$found")" "$tmp/lib/$lib"
  done
  export LD_LIBRARY_PATH="$tmp/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "run.sh: loader libraries from the pack: ${missing[*]}"
fi

# The NVIDIA Vulkan ICD (driver file), when an NVIDIA driver is loaded and the user has not chosen one.
if [ -e /proc/driver/nvidia/version ] && [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  icd=""
  for dir in /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d /usr/local/share/vulkan/icd.d; do
    for f in "$dir"/nvidia_icd*.json; do [ -e "$f" ] && icd="$f" && break 2; done
  done
  if [ -z "$icd" ]; then
    # No ICD file: write one for the driver's library that carries Vulkan.
    icd_lib=""
    for l in libGLX_nvidia.so.0 libEGL_nvidia.so.0; do have_lib "$l" && icd_lib="$l" && break; done
    [ -n "$icd_lib" ] || die "an NVIDIA driver is loaded but neither its Vulkan ICD file nor libGLX_nvidia.so.0 was found"
    mkdir -p "$tmp/icd"
    icd="$tmp/icd/nvidia_icd.json"
    printf '{ "file_format_version": "1.0.0", "ICD": { "library_path": "%s", "api_version": "1.3.0" } }\n' "$icd_lib" >"$icd"
  fi
  export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"
  echo "run.sh: Vulkan ICD $icd"
  if [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ]; then
    for f in /usr/share/glvnd/egl_vendor.d/10_nvidia.json /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json; do
      [ -e "$f" ] && export __EGL_VENDOR_LIBRARY_FILENAMES="$f" && break
    done
  fi
fi

# Dawn's OpenGL ES backend (the software adapter of machines without a GPU) needs surfaceless EGL.
export EGL_PLATFORM="${EGL_PLATFORM:-surfaceless}" XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$tmp}"
"$tmp/node" "$tmp/app/gpu-bench.mjs" --python "${PYTHON:-python3}" "$@"
