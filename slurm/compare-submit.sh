#!/bin/bash
# compare-submit.sh — compare machines: submits slurm/compare-systems.sbatch once per partition
# (or node feature), each recorded as its own system, then a report job that runs after all of
# them and prints the comparison.
#
# Usage (from the repository root): slurm/compare-submit.sh [-C] [--wait] NAME...
#   NAME      a partition (sbatch -p NAME); with -C a node feature (sbatch -C NAME); the system
#             name is NAME (characters other than letters, digits, . _ - + become _)
#   -C        NAMEs are node features (constraints), jobs go to the default partition
#   --wait    wait for the report job and exit with its status (the report fails when a system
#             has no results)
# Variables: everything compare-systems.sbatch reads (DLB_ZOO, DLB_OUT, DLB_BIN, DLB_ARGS,
# DLB_LAUNCH, ...), passed on to the jobs; DLB_SBATCH_ARGS: extra sbatch options for every job
# (e.g. "--time=02:00:00 -A ACCOUNT"). With one shared DLB_OUT (the default) the runs go one
# after another (--dependency=singleton on a job name made from the file), since only one job
# may write a results file at a time; with DLB_OUT=results-%s.h5 they run in parallel.
set -euo pipefail

usage() { echo "usage: $0 [-C] [--wait] PARTITION|FEATURE..." >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
template=$here/compare-systems.sbatch
by=partition
wait=()
while [ $# -gt 0 ]; do
    case $1 in
    -C | --constraint) by=constraint ;;
    --wait) wait=(--wait) ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    -*) usage ;;
    *) break ;;
    esac
    shift
done
[ $# -gt 0 ] || usage
command -v sbatch >/dev/null || { echo "error: sbatch not found" >&2; exit 1; }

out=${DLB_OUT:-results-compare.h5}
read -r -a extra <<<"${DLB_SBATCH_ARGS:-}"
dep=()
if [[ $out != *%s* ]]; then
    # Shared file: one writer at a time. Singleton = one job of this name (and user) at once.
    tag=$(basename "$out" .h5 | tr -c 'A-Za-z0-9._+\n-' '_')
    name=dlb-compare-$tag
    dep=(--dependency=singleton)
else
    name=dlb-compare
fi

ids=() systems=()
for target in "$@"; do
    system=$(printf '%s' "$target" | tr -c 'A-Za-z0-9._+-' '_')
    if [ "$by" = partition ]; then where=(--partition="$target"); else where=(--constraint="$target"); fi
    id=$(sbatch --parsable --job-name="$name" "${where[@]}" "${dep[@]}" "${extra[@]}" \
        --export=ALL,DLB_SYSTEM="$system" "$template")
    id=${id%%;*}
    echo "submitted job $id: system $system ($by $target)"
    ids+=("$id") systems+=("$system")
done

# The report: after all runs, whatever their outcome (it names the systems without results).
deps=$(IFS=:; echo "${ids[*]}")
list=$(IFS=,; echo "${systems[*]}")
echo "report job after $deps (output: dlb-compare-report-<job>.out):"
sbatch --parsable "${wait[@]}" --job-name=dlb-compare-report --dependency="afterany:$deps" \
    --nodes=1 --ntasks=1 --cpus-per-task=1 --time=00:30:00 "${extra[@]}" \
    --output=dlb-compare-report-%j.out --export=ALL,DLB_COMPARE_SYSTEMS="$list" \
    --wrap="bash '$template' report"
