CREATE TABLE `api_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`secret_hash` text NOT NULL,
	`username` text NOT NULL,
	`created_at` text NOT NULL,
	`last_used_at` text,
	FOREIGN KEY (`username`) REFERENCES `users`(`username`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_secret` ON `api_tokens` (`secret_hash`);--> statement-breakpoint
CREATE TABLE `audit` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` text NOT NULL,
	`user` text NOT NULL,
	`action` text NOT NULL,
	`target` text,
	`sandbox` text,
	`input` text,
	`result` text NOT NULL,
	`error` text
);
--> statement-breakpoint
CREATE INDEX `audit_sandbox` ON `audit` (`sandbox`);--> statement-breakpoint
CREATE INDEX `audit_user` ON `audit` (`user`);--> statement-breakpoint
CREATE TABLE `ports` (
	`id` text PRIMARY KEY NOT NULL,
	`sandbox_id` text NOT NULL,
	`protocol` text NOT NULL,
	`host_port` integer NOT NULL,
	`sandbox_port` integer NOT NULL,
	FOREIGN KEY (`sandbox_id`) REFERENCES `sandboxes`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ports_host` ON `ports` (`protocol`,`host_port`);--> statement-breakpoint
CREATE TABLE `processes` (
	`id` text PRIMARY KEY NOT NULL,
	`sandbox` text NOT NULL,
	`argv` text NOT NULL,
	`user` text NOT NULL,
	`cwd` text,
	`env` text,
	`pid` integer,
	`pid_start_time` text,
	`state` text NOT NULL,
	`exit_code` integer,
	`signal` text,
	`started_at` text NOT NULL,
	`ended_at` text,
	`started_by` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `processes_sandbox` ON `processes` (`sandbox`);--> statement-breakpoint
CREATE TABLE `rules` (
	`id` text PRIMARY KEY NOT NULL,
	`sandbox_id` text NOT NULL,
	`position` integer NOT NULL,
	`direction` text NOT NULL,
	`action` text NOT NULL,
	`protocol` text NOT NULL,
	`peer` text,
	`ports` text,
	`comment` text DEFAULT '' NOT NULL,
	FOREIGN KEY (`sandbox_id`) REFERENCES `sandboxes`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `rules_sandbox` ON `rules` (`sandbox_id`,`position`);--> statement-breakpoint
CREATE TABLE `sandboxes` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`owner` text NOT NULL,
	`mode` text NOT NULL,
	`subnet` text,
	`host_address` text,
	`address` text,
	`nat` integer NOT NULL,
	`egress` text,
	`dns` text DEFAULT '[]' NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`policy_egress` text DEFAULT 'accept' NOT NULL,
	`policy_ingress` text DEFAULT 'drop' NOT NULL,
	`rules_revision` integer DEFAULT 0 NOT NULL,
	`adopted` integer DEFAULT false NOT NULL,
	`state` text DEFAULT 'creating' NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sandboxes_name_unique` ON `sandboxes` (`name`);--> statement-breakpoint
CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`secret_hash` text NOT NULL,
	`username` text NOT NULL,
	`created_at` text NOT NULL,
	`expires_at` text NOT NULL,
	FOREIGN KEY (`username`) REFERENCES `users`(`username`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `sessions_username` ON `sessions` (`username`);--> statement-breakpoint
CREATE TABLE `users` (
	`username` text PRIMARY KEY NOT NULL,
	`password_hash` text NOT NULL,
	`role` text NOT NULL,
	`run_as` text DEFAULT '[]' NOT NULL,
	`created_at` text NOT NULL
);
