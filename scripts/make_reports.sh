#!/usr/bin/env bash
# Make the committed reports in reports/: the whole model zoo compared at the papers' settings (under
# the time budget of digitrec.report.comparison.BUDGET: an estimated 48 minutes on 2 idle cores, from
# `python scripts/estimate_compare_time.py --calibrate`), then every study once at its defaults.
#
#   bash scripts/make_reports.sh            # everything, in this order
#   bash scripts/make_reports.sh compare    # or only some of: compare hidden-layers epochs ablation noise transfer
#   THREADS=1 bash scripts/make_reports.sh epochs &   # one CPU thread each, for steps run side by side
#
# Run it on an otherwise idle machine: training times, latency and throughput are part of the
# results, and two trainings sharing 2 cores slow each other down many times over. Runs are cached
# in runs/cache (by a hash of their config), so an interrupted script picks up where it stopped and
# a rerun only redraws the reports — which also means a run trained or measured on a busy machine
# keeps its timings: start from an empty runs/cache for the committed reports. reports/ receives
# Markdown, HTML, JSON and PNG files, no weights; each step's wall time goes to reports/timings.txt.
#
# Rough times on 2 idle cores, from the same per-epoch estimates as the budget: compare 48 min,
# hidden-layers 20, epochs 35, ablation 30, noise 20 (its clean cnn-small run comes from compare),
# transfer 10 (its MNIST model is compare's cnn-small): about 2 h 45 min in all.
set -euo pipefail
cd "$(dirname "$0")/.."

DIGITREC=.venv/bin/digitrec
USPS=${USPS_SOURCE:-../shared/data/usps}
RUNS=runs/cache
mkdir -p reports
STEPS=("$@")
EXTRA=(${THREADS:+--threads "$THREADS"})
[ ${#STEPS[@]} -gt 0 ] || STEPS=(compare hidden-layers epochs ablation noise transfer)

"$DIGITREC" data fetch mnist
"$DIGITREC" data fetch usps --source "$USPS"

for step in "${STEPS[@]}"; do
    started=$(date +%s)
    rm -rf "reports/$step"  # no plots left over from an earlier version of the report
    if [ "$step" = compare ]; then
        "$DIGITREC" compare --models zoo --seeds 3 --runs "$RUNS" "${EXTRA[@]}" --out reports/compare
    else
        "$DIGITREC" study "$step" --runs "$RUNS" --usps-source "$USPS" "${EXTRA[@]}" --out "reports/$step"
    fi
    echo "$step: $(( $(date +%s) - started )) s" | tee -a reports/timings.txt
done
