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

# librocksdb-sys generates its bindings with libclang. bindgen (clang-sys) loads `libclang.so` or
# `libclang-<N>.so*`; `libclang-cpp.so*` (on a fresh image, from libclang-cpp14) is a different
# library and does not count. Prints the first usable path; exits 1 when there is none.
# $1: directories to search (default: LIBCLANG_PATH, then the usual system locations).
find_libclang() {
    local dirs="${1:-${LIBCLANG_PATH:-} /usr/lib/llvm-*/lib /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib}"
    local d f
    for d in $dirs; do
        for f in "$d"/libclang.so "$d"/libclang.so.* "$d"/libclang-[0-9]*.so*; do
            [ -e "$f" ] && { echo "$f"; return 0; }
        done
    done
    return 1
}

ensure_build_deps() {
    if ! find_libclang >/dev/null; then
        echo "installing libclang-dev (bindgen needs it to build the bundled RocksDB)"
        apt_install libclang-dev
        find_libclang >/dev/null || { echo "libclang still missing after installing libclang-dev" >&2; return 1; }
    fi
    command -v cc >/dev/null || apt_install gcc g++
    command -v c++ >/dev/null || apt_install g++
}

# The TLS tests make certificates and PKCS12/JKS stores at test time with openssl and the JDK's
# keytool (the Java tests need the same JDK).
ensure_test_tools() {
    command -v openssl >/dev/null || apt_install openssl
    local jdk="${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"
    if [ ! -x "$jdk/bin/keytool" ] || [ ! -x "$jdk/bin/javac" ]; then
        echo "installing openjdk-17-jdk-headless (keytool for the TLS tests, javac for the Java tests)"
        apt_install openjdk-17-jdk-headless
    fi
}

# The admin endpoint's tests check /metrics with a real scraper's parser: `promtool check metrics`,
# which Debian's `prometheus` package ships. scripts/test makes those tests require it.
# Installs packages that ship a system service (nginx, prometheus, zookeeper) without starting it:
# the tests and benchmarks start their own instances on free loopback ports. A policy-rc.d that
# refuses service starts is put in place for the install (if none is there).
apt_install_no_start() {
    local policy= rc=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        policy=1
    fi
    apt_install "$@" || rc=$?
    [ -z "$policy" ] || rm -f /usr/sbin/policy-rc.d
    return "$rc"
}

ensure_promtool() {
    if ! command -v promtool >/dev/null; then
        echo "installing prometheus (promtool checks the admin endpoint's /metrics)"
        apt_install_no_start prometheus
    fi
    export VBT_REQUIRE_PROMTOOL=1
}

# The Helix discovery tests run a real ZooKeeper server (Debian's package; the test starts
# ZooKeeperServerMain itself on a loopback port, no system service).
ensure_zookeeper() {
    if [ ! -f /usr/share/java/zookeeper.jar ]; then
        echo "installing zookeeper (a real ZooKeeper for the Helix discovery tests)"
        apt_install_no_start zookeeper
    fi
}

# The first build compiles the bundled RocksDB for 12-17 minutes on 2 cores (a --release one at
# -O3 for longer); say so and show cargo's progress then, instead of a silent --quiet build that
# looks like a hang. Each profile (debug, release) builds RocksDB once.
cargo_build() {
    local profile=debug what="first build" minutes=12-17 a
    for a in "$@"; do
        if [ "$a" = --release ]; then profile=release what="first release build" minutes=25-60; fi
    done
    if [ ! -d "$CARGO_TARGET_DIR/$profile/build" ] || ! ls "$CARGO_TARGET_DIR/$profile"/build/librocksdb-sys-*/out >/dev/null 2>&1; then
        echo "$what: compiling the bundled RocksDB into $CARGO_TARGET_DIR ($minutes minutes on 2 cores; later builds take seconds)"
        cargo build "$@"
    else
        cargo build --quiet "$@"
    fi
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

# The tests build with the crash/fault points compiled in (inactive unless a test sets one), and
# every test script uses the same features so the crate is built once.
TEST_FEATURES=(--features failpoints)
