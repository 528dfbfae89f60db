#!/usr/bin/env bash
# Make the committed reports in reports/: the whole model zoo compared at the papers' settings (under
# the time budget of digitrec.report.comparison.BUDGET: an estimated 48 minutes on 2 idle cores, from
# `python scripts/estimate_compare_time.py --calibrate`), then every study once at its defaults.
#
#   bash scripts/make_reports.sh            # everything, in this order
#   bash scripts/make_reports.sh compare    # or only some of: compare hidden-layers epochs ablation noise transfer
#
# Run it on an otherwise idle machine: training times, latency and throughput are part of the
# results, and two trainings sharing 2 cores slow each other down many times over. Runs are cached
# in runs/cache (by a hash of their config), so an interrupted script picks up where it stopped and
# a rerun only redraws the reports. reports/ receives Markdown, HTML, JSON and PNG files, no weights.
set -euo pipefail
cd "$(dirname "$0")/.."

DIGITREC=.venv/bin/digitrec
USPS=${USPS_SOURCE:-../shared/data/usps}
RUNS=runs/cache
mkdir -p reports
STEPS=("$@")
[ ${#STEPS[@]} -gt 0 ] || STEPS=(compare hidden-layers epochs ablation noise transfer)

"$DIGITREC" data fetch mnist
"$DIGITREC" data fetch usps --source "$USPS"

for step in "${STEPS[@]}"; do
    started=$(date +%s)
    if [ "$step" = compare ]; then
        "$DIGITREC" compare --models zoo --seeds 3 --runs "$RUNS" --out reports/compare
    else
        "$DIGITREC" study "$step" --runs "$RUNS" --usps-source "$USPS" --out "reports/$step"
    fi
    echo "$step: $(( $(date +%s) - started )) s" | tee -a reports/timings.txt
done
