import { Migration } from "@mikro-orm/migrations";

// lead_event.metadata becomes json: the service validates and compacts metadata itself, and
// building jsonb's binary tree was about a fifth of PostgreSQL's time for a 50,000-row write
// (measured, test/bench/RESULTS.md). Rewrites the table once; stored values keep their meaning
// (jsonb's text form is valid json).
export class Migration20261204110000_lead_event_metadata_json extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "lead_event" alter column "metadata" type json using "metadata"::json;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "lead_event" alter column "metadata" type jsonb using "metadata"::jsonb;`);
  }
}
