#!/usr/bin/env bash
# run_all.sh — build dlbricks-mpi twice (release and ASan+UBSan) and run every CTest test in both.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -LE bench -j"$jobs"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDLB_SANITIZE=ON
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -LE bench -j"$jobs"
