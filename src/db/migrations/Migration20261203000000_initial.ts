import { Migration } from "@mikro-orm/migrations";

// Generated from the entities with the schema generator, then reviewed by hand.
export class Migration20261203000000_initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "organization" ("id" bigserial primary key, "name" text not null, "auth_mode" text not null default 'API_KEY', "default_region" text null, "strict_phone_validation" boolean not null default false, "require_signature_timestamp" boolean not null default false, "created_at" timestamptz(6) not null default now());`);

    this.addSql(`create table "api_key" ("id" uuid not null, "organization_id" bigint not null, "name" text not null, "prefix" text not null, "key_hash" text not null, "scopes" text[] not null, "created_at" timestamptz(6) not null default now(), "last_used_at" timestamptz(6) null, "revoked_at" timestamptz(6) null, constraint "api_key_pkey" primary key ("id"));`);
    this.addSql(`create index "api_key_organization_id_index" on "api_key" ("organization_id");`);
    this.addSql(`alter table "api_key" add constraint "api_key_key_hash_unique" unique ("key_hash");`);
    this.addSql(`alter table "api_key" add constraint "api_key_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on update cascade;`);

    this.addSql(`create table "signing_key" ("id" uuid not null, "organization_id" bigint not null, "prefix" text not null, "secret_ciphertext" text not null, "created_at" timestamptz(6) not null default now(), "last_used_at" timestamptz(6) null, "revoked_at" timestamptz(6) null, constraint "signing_key_pkey" primary key ("id"));`);
    this.addSql(`create index "signing_key_organization_id_index" on "signing_key" ("organization_id");`);
    this.addSql(`alter table "signing_key" add constraint "signing_key_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on update cascade;`);

    this.addSql(`create table "lead_event" ("organization_id" bigint not null, "phone_e164" text not null, "event_type" text not null, "occurred_at" timestamptz(6) not null, "metadata" jsonb null, "received_at" timestamptz(6) not null default now(), constraint "lead_event_pkey" primary key ("organization_id", "phone_e164", "event_type", "occurred_at"));`);
    this.addSql(`create index "lead_event_org_type_time_idx" on "lead_event" ("organization_id", "event_type", "occurred_at");`);
    this.addSql(`create index "lead_event_org_time_idx" on "lead_event" ("organization_id", "occurred_at");`);

    this.addSql(`create table "erasure_tombstone" ("organization_id" bigint not null, "phone_e164" text not null, "event_type" text not null, "erased_before" timestamptz(6) not null, constraint "erasure_tombstone_pkey" primary key ("organization_id", "phone_e164", "event_type"));`);
  }
}
