#!/usr/bin/env python3
"""Changes a share of the rows of a sample bot (`enmap-migrate sample-data --scale N`) the way a
running bot does between the pre-seed and migration day, for `scripts/bench downtime`:

    mutate_bot.py ENMAP_SQLITE FRACTION SEED

In every enmap but `global`, FRACTION of its rows (rounded up) change: 80% of them are updates (the
first ISO date in the value moves back a century, "20xx-" to "19xx-", which keeps the value valid
in every encoding), 10% deletes, and 10% inserts (a copy of a random row under a new key of the
same pattern: a new user id for `<guild>-<user>` keys, a new tag name, a new snowflake, or the next
autonum number, with `internal::autonum` bumped). `guildsettings` rows are updated and inserted but
not deleted: the example plan's verify query refuses points of a guild without settings, as a bot
that leaves a guild deletes both. All in one SQLite transaction, as one writer that
then closes. Prints one JSON object: per table, how many rows were updated, deleted and inserted.
"""
import json
import math
import random
import re
import sqlite3
import sys

DATE = re.compile(r'"20(\d\d-\d\d-\d\dT)')


def new_snowflake(rng, taken):
    while True:
        s = str(rng.randrange(10**17, 10**19))
        if s not in taken:
            taken.add(s)
            return s


def main():
    path, fraction, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    db = sqlite3.connect(path)
    tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
              if t != "global" and not t.startswith("internal::") and not t.startswith("sqlite_")]
    summary = {}
    db.execute("BEGIN")
    for table in sorted(tables):
        q = '"' + table.replace('"', '""') + '"'
        keys = [k for (k,) in db.execute(f"SELECT key FROM {q}")]
        if not keys:
            continue
        n = math.ceil(len(keys) * fraction)
        n_delete = 0 if table == "guildsettings" else max(1, n // 10)
        n_insert = max(1, n // 10)
        n_update = max(0, n - n_delete - n_insert)
        chosen = rng.sample(keys, min(len(keys), n_update + n_delete))
        updated = 0
        for key in chosen[:n_update]:
            (value,) = db.execute(f"SELECT value FROM {q} WHERE key = ?", (key,)).fetchone()
            changed, count = DATE.subn(r'"19\1', value, count=1)
            if count:
                db.execute(f"UPDATE {q} SET value = ? WHERE key = ?", (changed, key))
                updated += 1
        deleted = chosen[n_update:]
        db.executemany(f"DELETE FROM {q} WHERE key = ?", [(k,) for k in deleted])
        taken = set(keys)
        inserted = 0
        autonum = None
        # An autonum enmap: its counter is set and its keys are numbers up to it.
        row = db.execute("SELECT lastnum FROM 'internal::autonum' WHERE enmap = ?", (table,)).fetchone()
        if row and row[0] and all(k.isdigit() and int(k) <= row[0] for k in keys[:100]):
            autonum = row[0]
        for _ in range(n_insert):
            source = rng.choice(keys)
            (value,) = db.execute(f"SELECT value FROM {q} WHERE key = ?", (source,)).fetchone() or (None,)
            if value is None:
                continue
            if autonum is not None:
                autonum += 1
                key = str(autonum)
            elif "-" in source:
                guild, user = source.split("-", 1)
                fresh = new_snowflake(rng, taken)
                key = guild + "-" + fresh
                value = value.replace(user, fresh)
            elif ":" in source:
                key = source.split(":", 1)[0] + ":bench" + str(rng.randrange(10**9))
            else:
                fresh = new_snowflake(rng, taken)
                key = fresh
                value = value.replace(source, fresh)
            if key in taken and autonum is None and ":" in key:
                continue
            taken.add(key)
            db.execute(f"INSERT INTO {q} (key, value) VALUES (?, ?)", (key, value))
            inserted += 1
        if autonum is not None:
            db.execute("UPDATE 'internal::autonum' SET lastnum = ? WHERE enmap = ?", (autonum, table))
        summary[table] = {"rows": len(keys), "updated": updated, "deleted": len(deleted), "inserted": inserted}
    db.commit()
    db.close()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
