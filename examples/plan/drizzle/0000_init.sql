CREATE TABLE "bot_settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "economy" (
	"user_id" text PRIMARY KEY NOT NULL,
	"wallet" bigint DEFAULT 0 NOT NULL,
	"bank" numeric DEFAULT '0' NOT NULL,
	"inventory" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"daily_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "giveaway_entrants" (
	"message_id" text NOT NULL,
	"user_id" text NOT NULL,
	"won" boolean DEFAULT false NOT NULL,
	CONSTRAINT "giveaway_entrants_message_id_user_id_pk" PRIMARY KEY("message_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "giveaways" (
	"message_id" text PRIMARY KEY NOT NULL,
	"prize" text NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"ended" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE "guild_settings" (
	"guild_id" text PRIMARY KEY NOT NULL,
	"prefix" text DEFAULT '!' NOT NULL,
	"mod_log_channel_id" text,
	"mod_role_id" text,
	"admin_role_id" text,
	"welcome_channel_id" text,
	"welcome_message" text,
	"disabled_commands" text[] DEFAULT '{}'::text[] NOT NULL,
	"language" text DEFAULT 'en' NOT NULL,
	"auto_role_ids" text[] DEFAULT '{}'::text[] NOT NULL,
	"max_warns" integer,
	"slowmode" integer,
	"created_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "member_levels" (
	"guild_id" text NOT NULL,
	"user_id" text NOT NULL,
	"points" integer DEFAULT 0 NOT NULL,
	"level" integer DEFAULT 0 NOT NULL,
	"last_seen" timestamp with time zone,
	CONSTRAINT "member_levels_guild_id_user_id_pk" PRIMARY KEY("guild_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "reminders" (
	"id" integer PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"channel_id" text NOT NULL,
	"message" text NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"repeat_ms" bigint
);
--> statement-breakpoint
CREATE TABLE "tags" (
	"guild_id" text NOT NULL,
	"name" text NOT NULL,
	"content" text NOT NULL,
	"author_id" text NOT NULL,
	"uses" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone,
	CONSTRAINT "tags_guild_id_name_pk" PRIMARY KEY("guild_id","name")
);
--> statement-breakpoint
CREATE TABLE "warnings" (
	"guild_id" text NOT NULL,
	"user_id" text NOT NULL,
	"seq" integer NOT NULL,
	"moderator_id" text NOT NULL,
	"reason" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "warnings_guild_id_user_id_seq_pk" PRIMARY KEY("guild_id","user_id","seq")
);
--> statement-breakpoint
ALTER TABLE "giveaway_entrants" ADD CONSTRAINT "giveaway_entrants_message_id_giveaways_message_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."giveaways"("message_id") ON DELETE cascade ON UPDATE no action;