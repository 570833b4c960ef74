"""bench.sh's helper (run by /usr/bin/python3): timestamps, parsing, the table.

usage: python3 bench_helper.py COMMAND ARGS...
  stamp                          prefix each line of stdin with its arrival time
  cpus T                         the first T CPUs this process may use (for taskset -c)
  dltrain MODEL LOG TIME B T E   one result line from a dltrain run's timestamped log
  python FW MODEL OUT TIME B T   one result line from a Python run's stdout
  table RESULTS KERAS_NOTE       the markdown tables of results.jsonl, one section per model
"""
import json
import os
import sys
import time

MODELS = {
    "mlp": "Fashion-MNIST MLP (784-256-128-10, Adam 1e-3)",
    "cnn": "Fashion-MNIST CNN (Conv2D 32 3x3, max-pool, Conv2D 64 3x3, max-pool, "
           "Dense 128, Dropout 0.3, Dense 10; Adam 1e-3)",
}
NAMES = {"dltrain": "dltrain", "pytorch": "PyTorch", "pytorch-cl": "PyTorch channels_last",
         "keras": "Keras"}


def time_file(path):
    """GNU time's '-f %M %e %U %S %x %R' line: the last line of the file."""
    try:
        with open(path) as f:
            last = [l for l in f.read().split("\n") if l.strip()][-1].split()
        kib, wall, user, sys_, status, faults = last[:6]
        return {"max_rss_kib": int(kib), "wall_s": float(wall),
                "cpu_pct": 100.0 * (float(user) + float(sys_)) / max(float(wall), 1e-9),
                "exit": int(status), "minor_faults": int(faults)}
    except Exception as e:
        return {"exit": -1, "time_error": str(e)}


def stamp():
    inp = sys.stdin.buffer
    while True:
        line = inp.readline()
        if not line:
            break
        sys.stdout.write("%.6f %s" % (time.time(), line.decode("utf-8", "replace")))
        sys.stdout.flush()


def cpus(t):
    t = int(t)
    avail = sorted(os.sched_getaffinity(0))
    print(",".join(map(str, avail[:t])) if t <= len(avail) else "")


def dltrain(model, log, tfile, batch, threads, epochs):
    """Epoch k = stamp of its JSON line - stamp of its 'Epoch k/E' line."""
    starts, ends, final = {}, {}, None
    for raw in open(log, encoding="utf-8", errors="replace"):
        ts, _, line = raw.rstrip("\n").partition(" ")
        ts = float(ts)
        if line.startswith("Epoch ") and "/" in line:
            starts[int(line.split()[1].split("/")[0])] = ts
        elif line.startswith("{"):
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if "epoch" in obj and "status" not in obj:
                ends[obj["epoch"]] = ts
            elif "test" in obj:
                final = obj
    r = {"framework": "dltrain", "model": model, "batch": int(batch), "threads": int(threads),
         "epochs": int(epochs)}
    r.update(time_file(tfile))
    secs = [ends[k] - starts.get(k, ends.get(k - 1)) for k in sorted(ends)
            if starts.get(k, ends.get(k - 1)) is not None]
    r["epoch_seconds"] = secs
    if final is None or len(secs) != int(epochs) or r.get("exit") != 0:
        r["error"] = "dltrain run failed or printed no final 'test' line (exit %s)" % r.get("exit")
    else:
        r["test_accuracy"] = final["test"]["accuracy"]
        r["first_epoch_s"] = secs[0]
        r["rest_mean_s"] = sum(secs[1:]) / len(secs[1:]) if len(secs) > 1 else None
    print(json.dumps(r))


def python(fw, model, outfile, tfile, batch, threads):
    try:
        r = json.loads([l for l in open(outfile) if l.strip().startswith("{")][-1])
    except Exception:
        r = None
    t = time_file(tfile)
    if r is None or t.get("exit") != 0:
        r = {"error": "run failed (exit %s)" % t.get("exit")}
    r.update({"framework": fw, "model": model, "batch": int(batch), "threads": int(threads)})
    r["self_max_rss_kib"] = r.pop("max_rss_kib", None)
    r.update(t)
    print(json.dumps(r))


def median(vals):
    vals = sorted(v for v in vals if v is not None)
    if not vals:
        return None
    n = len(vals)
    return vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2


def fmt(v, f):
    return "–" if v is None else f % v


def summarise(runs):
    """Median (and range of s/epoch) over the repeats of one setting."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {"error": runs[0]["error"]}
    pe = [r["rest_mean_s"] if r.get("rest_mean_s") is not None else r.get("first_epoch_s")
          for r in ok]
    return {"s": median(pe), "lo": min(pe), "hi": max(pe), "n": len(ok),
            "failed": len(runs) - len(ok), "epochs": ok[0].get("epochs"),
            "e1": median(r.get("first_epoch_s") for r in ok),
            "acc": median(r.get("test_accuracy") for r in ok),
            "rss": median(r.get("max_rss_kib") for r in ok),
            "cpu": median(r.get("cpu_pct") for r in ok),
            "faults": median(r.get("minor_faults") for r in ok)}


def model_tables(model, rows, keras_note):
    groups, order = {}, []  # (framework, batch, threads) in the order first run
    for r in rows:
        key = (r["framework"], r["batch"], r["threads"])
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(r)
    summary = {key: summarise(groups[key]) for key in order}
    epochs = sorted({r.get("epochs") for r in rows if r.get("epochs")})
    ep = "/".join(map(str, epochs)) or "?"
    out = ["### %s" % MODELS.get(model, model), "",
           "| framework | batch | threads | s/epoch | epoch 1 s | test acc (after %s epochs) "
           "| peak RSS MiB | CPU %% | page faults k |" % ep,
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key in order:
        fw, b, t = key
        m, name = summary[key], NAMES.get(fw, fw)
        if "error" in m:
            out.append("| %s | %d | %d | %s | | | | | |" % (name, b, t, m["error"]))
            continue
        s_txt = fmt(m["s"], "%.3f")
        if m["n"] > 1:
            s_txt += " (%.3f–%.3f)" % (m["lo"], m["hi"])
        if m["failed"]:
            s_txt += " [%d run(s) failed]" % m["failed"]
        out.append("| %s | %d | %d | %s | %s | %s | %s | %s | %s |" % (
            name, b, t, s_txt, fmt(m["e1"], "%.3f"), fmt(m["acc"], "%.4f"),
            fmt(m["rss"] and m["rss"] / 1024, "%.0f"), fmt(m["cpu"], "%.0f"),
            fmt(m["faults"] and m["faults"] / 1000, "%.0f")))
    if keras_note:
        out.append("| Keras: not available (%s) | | | | | | | | |" % keras_note)

    # ratios: every other framework's s/epoch over dltrain's (above 1: dltrain is faster)
    peers = []
    for fw, _, _ in order:
        if fw != "dltrain" and fw not in peers:
            peers.append(fw)
    out += ["", "| batch | threads | " + " | ".join(
        "%s s/epoch ÷ dltrain s/epoch" % NAMES.get(p, p) for p in peers) +
        " | dltrain RSS ÷ PyTorch RSS |",
        "|---:|---:|" + "---:|" * (len(peers) + 1)]

    def ratio(a, c):
        return "–" if a is None or not c else "%.2f" % (a / c)
    for fw, b, t in order:
        d = summary[(fw, b, t)]
        if fw != "dltrain" or "error" in d:
            continue
        cells = [ratio(summary.get((p, b, t), {}).get("s"), d["s"]) for p in peers]
        cells.append(ratio(d["rss"], summary.get(("pytorch", b, t), {}).get("rss")))
        out.append("| %d | %d | %s |" % (b, t, " | ".join(cells)))
    return out


def table(results_path, keras_note):
    rows = [json.loads(l) for l in open(results_path) if l.strip()]
    out = []
    for model in [m for m in MODELS if any(r.get("model") == m for r in rows)]:
        out += model_tables(model, [r for r in rows if r.get("model") == model], keras_note)
        out.append("")
    print("\n".join(out).rstrip("\n"))


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    fn = {"stamp": stamp, "cpus": cpus, "dltrain": dltrain, "python": python,
          "table": table}.get(cmd)
    if fn is None:
        sys.exit(__doc__)
    fn(*sys.argv[2:])
