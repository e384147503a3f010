// Runs the real drizzle-orm migrate() (node-postgres) once and reports what it did.
//   node drizzle_migrate.mjs DATABASE_URL MIGRATIONS_FOLDER
// prints {"before": rows, "after": rows, "tables": [public tables]} of drizzle.__drizzle_migrations
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";

const [url, folder] = process.argv.slice(2);
const client = new pg.Client({ connectionString: url });
await client.connect();
try {
  const count = async () => {
    const exists = (await client.query("select to_regclass('drizzle.__drizzle_migrations') as t")).rows[0].t;
    return exists ? Number((await client.query("select count(*) from drizzle.__drizzle_migrations")).rows[0].count) : 0;
  };
  const before = await count();
  await migrate(drizzle(client), { migrationsFolder: folder });
  const after = await count();
  const tables = (
    await client.query("select tablename from pg_tables where schemaname = 'public' order by tablename")
  ).rows.map((r) => r.tablename);
  console.log(JSON.stringify({ before, after, tables }));
} finally {
  await client.end();
}
