// The real-client test: after enmap-migrate replayed a plan with a Drizzle folder, the bot's own
// drizzle-orm migrate() (node-postgres driver) must find nothing to apply, and a normalized table
// must read back through Drizzle.
//   node drizzle_client.mjs DATABASE_URL MIGRATIONS_FOLDER EXPECTED_ROWS
import assert from "node:assert/strict";
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import { pgTable, text, integer } from "drizzle-orm/pg-core";
import { asc } from "drizzle-orm";

const [url, folder, expectedRows] = process.argv.slice(2);
const levels = pgTable("levels", {
  id: text("id").primaryKey(),
  xp: integer("xp").notNull(),
  guild: text("guild"),
});

const client = new pg.Client({ connectionString: url });
await client.connect();
try {
  const db = drizzle(client);
  const count = async () =>
    Number((await client.query("select count(*) from drizzle.__drizzle_migrations")).rows[0].count);
  const before = await count();
  await migrate(db, { migrationsFolder: folder });
  const after = await count();
  assert.equal(after, before, `migrate() applied ${after - before} migration(s); it should find none pending`);

  const rows = await db.select().from(levels).orderBy(asc(levels.id));
  assert.equal(rows.length, Number(expectedRows));
  const k0 = rows.find((r) => r.id === "k0");
  assert.deepEqual(k0, { id: "k0", xp: 0, guild: "100000" });
  const k3 = rows.find((r) => r.id === "k3");
  assert.deepEqual(k3, { id: "k3", xp: 21, guild: "100003" });
  console.log(JSON.stringify({ ok: true, migrations: after, rows: rows.length }));
} finally {
  await client.end();
}
