#!/bin/sh
# The shipped example configs: each one validates, and the CSV example
# (Seattle weather, from Debian's python3-vega-datasets) trains to a useful
# model: validation MAE well under what predicting the mean would give.
. tests/e2e/lib.sh
for cfg in configs/examples/*.yaml; do
    run_dl 0 check "$cfg"
done
csv=/usr/lib/python3/dist-packages/vega_datasets/_data/seattle-weather.csv
if [ ! -f "$csv" ]; then
    bad "python3-vega-datasets is not installed (make deps)"
    finish
    exit 1
fi
run_dl 0 fit configs/examples/seattle_weather_csv.yaml --run-dir "$WORK/sea" --json -q
# the mean predictor's MAE on the validation rows (the last 20%)
baseline=$(python3 - "$csv" <<'PY'
import csv, sys
rows = [float(r["temp_max"]) for r in csv.DictReader(open(sys.argv[1]))]
split = int(len(rows) * 0.8)
mean = sum(rows[:split]) / split
print(sum(abs(v - mean) for v in rows[split:]) / (len(rows) - split))
PY
)
mae=$(tail -n 1 "$WORK/out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["best"]["val_mae"])')
echo "validation MAE $mae (predicting the mean: $baseline)"
check "MAE $mae < half the baseline $baseline" python3 -c "import sys; sys.exit(0 if $mae < 0.5 * $baseline else 1)"
check "history.csv written" test -s "$WORK/sea/history.csv"
finish
