// The Drizzle schema of the sample bot after its migration from Enmap.
// examples/plan/drizzle/ was generated from this file with `drizzle-kit generate`.
import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from "drizzle-orm/pg-core";

// The global settings enmap: free-form values, so jsonb is the honest type.
export const botSettings = pgTable("bot_settings", {
  key: text("key").primaryKey(),
  value: jsonb("value").notNull(),
});

export const guildSettings = pgTable("guild_settings", {
  guildId: text("guild_id").primaryKey(),
  prefix: text("prefix").notNull().default("!"),
  modLogChannelId: text("mod_log_channel_id"),
  modRoleId: text("mod_role_id"),
  adminRoleId: text("admin_role_id"),
  welcomeChannelId: text("welcome_channel_id"),
  welcomeMessage: text("welcome_message"),
  disabledCommands: text("disabled_commands").array().notNull().default(sql`'{}'::text[]`),
  language: text("language").notNull().default("en"),
  autoRoleIds: text("auto_role_ids").array().notNull().default(sql`'{}'::text[]`),
  maxWarns: integer("max_warns"),
  slowmode: integer("slowmode"),
  createdAt: timestamp("created_at", { withTimezone: true }),
});

export const memberLevels = pgTable(
  "member_levels",
  {
    guildId: text("guild_id").notNull(),
    userId: text("user_id").notNull(),
    points: integer("points").notNull().default(0),
    level: integer("level").notNull().default(0),
    lastSeen: timestamp("last_seen", { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.guildId, t.userId] })],
);

export const tags = pgTable(
  "tags",
  {
    guildId: text("guild_id").notNull(),
    name: text("name").notNull(),
    content: text("content").notNull(),
    authorId: text("author_id").notNull(),
    uses: integer("uses").notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.guildId, t.name] })],
);

export const reminders = pgTable(
  "reminders",
  {
    id: integer("id").primaryKey(),
    userId: text("user_id").notNull(),
    channelId: text("channel_id").notNull(),
    message: text("message").notNull(),
    dueAt: timestamp("due_at", { withTimezone: true }).notNull(),
    repeatMs: bigint("repeat_ms", { mode: "number" }),
  },
  // The reminder loop asks for what is due next.
  (t) => [index("reminders_due_at_idx").on(t.dueAt)],
);

export const warnings = pgTable(
  "warnings",
  {
    guildId: text("guild_id").notNull(),
    userId: text("user_id").notNull(),
    seq: integer("seq").notNull(),
    moderatorId: text("moderator_id").notNull(),
    reason: text("reason").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.guildId, t.userId, t.seq] })],
);

export const giveaways = pgTable("giveaways", {
  messageId: text("message_id").primaryKey(),
  prize: text("prize").notNull(),
  endsAt: timestamp("ends_at", { withTimezone: true }).notNull(),
  ended: boolean("ended").notNull().default(false),
});

export const giveawayEntrants = pgTable(
  "giveaway_entrants",
  {
    messageId: text("message_id")
      .notNull()
      .references(() => giveaways.messageId, { onDelete: "cascade" }),
    userId: text("user_id").notNull(),
    won: boolean("won").notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.messageId, t.userId] })],
);

export const economy = pgTable("economy", {
  userId: text("user_id").primaryKey(),
  wallet: bigint("wallet", { mode: "number" }).notNull().default(0),
  // Enmap 5.9 and 6 keep the bank as a BigInt: exact, so numeric, not a double.
  bank: numeric("bank").notNull().default("0"),
  // Item name -> count; the item list is open-ended, so jsonb.
  inventory: jsonb("inventory").notNull().default(sql`'{}'::jsonb`),
  dailyAt: timestamp("daily_at", { withTimezone: true }),
});
