#!/usr/bin/env python3
"""Writes N decoded Enmap rows twice: as `enmap-migrate dump` JSON lines and as the CSV the
practical-limit psql \\copy reads. Values imitate a levels table: ~140 bytes (the 5.7
generation) or ~350 bytes (6.x, which keeps more per row).
  gen_replay_rows.py N SIZE(140|350) OUT.jsonl OUT.csv"""
import csv
import json
import random
import sys

n, size, jsonl_path, csv_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
rng = random.Random(42)
with open(jsonl_path, "w") as jl, open(csv_path, "w", newline="") as cf:
    w = csv.writer(cf)
    for i in range(n):
        guild = str(rng.randrange(10**17, 10**18))
        user = str(rng.randrange(10**17, 10**18))
        key = f"{guild}-{user}"
        value = {"guild": guild, "user": user, "xp": rng.randrange(100000), "level": rng.randrange(100),
                 "lastSeen": "2024-07-10T16:07:01.671Z"}
        if size >= 350:
            value.update({"roles": [str(rng.randrange(10**17, 10**18)) for _ in range(3)],
                          "settings": {"notify": True, "dm": False, "color": "#5865F2", "locale": "en-US"},
                          "streak": rng.randrange(50), "nickname": "user\u00e9 \"quoted\" " + str(i)})
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        jl.write(json.dumps({"table": "levels", "key": key}, separators=(",", ":"))[:-1] + ',"value":' + text + "}\n")
        w.writerow([key, text])
