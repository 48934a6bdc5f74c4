# Sourced by the scripts: one build directory outside the checkout (so CI and developers reuse
# the 15-minute bundled RocksDB build), and installers for what a fresh Debian machine lacks.

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vbt-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

apt_updated=
apt_install() {
    if [ -z "$apt_updated" ]; then
        apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# librocksdb-sys generates its bindings with libclang.
ensure_build_deps() {
    if ! ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 && ! ldconfig -p | grep -q libclang; then
        echo "installing libclang-dev (needed to build the bundled RocksDB)"
        apt_install libclang-dev
    fi
    command -v cc >/dev/null || apt_install gcc g++
}

# The independent RocksDB 9 (rocksdict bundles 9.8.4) the compatibility tests open partitions with.
ensure_rocksdb9_python() {
    local py="${VBT_PYTHON:-python3}"
    command -v "$py" >/dev/null || apt_install python3 python3-pip
    if ! "$py" -c 'import rocksdict' 2>/dev/null; then
        echo "installing rocksdict (RocksDB 9 for the compatibility tests)"
        "$py" -m pip install -q -r tests/rocksdb9/requirements.txt \
            || "$py" -m pip install -q --break-system-packages -r tests/rocksdb9/requirements.txt
    fi
}
