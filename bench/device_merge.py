#!/usr/bin/env python3
"""Merges the parts written by bench/device-check.sh into ONE JSON file (rewritten after every step, so that a
run cut short still returns what it measured).

  python3 bench/device_merge.py PARTS_DIR OUT_JSON

PARTS_DIR holds: meta.json, steps.jsonl (one {"step", "status", "rc", "seconds"} per line), and per step
either NAME.json (a JSON document), NAME.jsonl (JSON lines) or NAME.csv (the official perf_main.py CSV).
"""
import csv
import json
import os
import sys


def read_part(path):
    try:
        if path.endswith(".json"):
            with open(path) as f:
                return json.load(f)
        if path.endswith(".jsonl"):
            with open(path) as f:
                return [json.loads(line) for line in f if line.strip().startswith("{")]
        if path.endswith(".csv"):
            with open(path, newline="") as f:
                rows = list(csv.reader(f, delimiter=";"))
            head, body = rows[0], rows[1:]
            out = [dict(zip(head, map(float, r))) for r in body if r]
            # perf_main.py's column "tflops" holds GFLOPs (spec section 11).
            return {"columns": head, "rows": out, "note": "first cycle dropped by perf_main.py itself; 'tflops' is GFLOPs"}
    except Exception as e:  # a half-written part: say so, keep the rest
        return {"unreadable": str(e)}
    return None


def main():
    parts, out = sys.argv[1], sys.argv[2]
    merged = {"meta": {}, "steps": [], "results": {}}
    for name in sorted(os.listdir(parts)):
        path = os.path.join(parts, name)
        if name == "meta.json":
            merged["meta"] = read_part(path)
        elif name == "steps.jsonl":
            merged["steps"] = read_part(path)
        else:
            value = read_part(path)
            if value is not None:
                merged["results"][os.path.splitext(name)[0]] = value
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(merged, f, indent=1)
        f.write("\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
