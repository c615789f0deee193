# plain.sh: the kexwatch to measure RSS with (sourced by memory.sh and memcap.sh).
#
# plain_kexwatch KEXWATCH BUILD SRC prints KEXWATCH when it is a plain build,
# else a plain (Release, no sanitizers) kexwatch built from SRC: ASan's
# shadow memory and quarantine make RSS measure the sanitizer. The plain
# build lives in BUILD/robustness-plain and is shared: the tests that need
# it take a lock, so it is built once per run and only brought up to date
# (an incremental build) by the next.
plain_kexwatch() {
    local kexwatch=$1 build=$2 src=$3 dir
    if ! { nm "$kexwatch" 2>/dev/null | grep -q __asan_init || ldd "$kexwatch" | grep -q libasan; }; then
        echo "$kexwatch"
        return 0
    fi
    dir="$build/robustness-plain"
    mkdir -p "$dir"
    echo "$(basename "$0"): $kexwatch is an ASan build; using a plain one for the RSS measurement" >&2
    (
        flock 9
        cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null &&
            cmake --build "$dir" --target kexwatch -j"$(nproc)" >/dev/null
    ) 9>"$build/robustness-plain.lock" || return 1
    echo "$dir/kexwatch"
}
