import { Migration } from "@mikro-orm/migrations";

// lead_event keeps only its primary key. The (organization, type, occurred_at) index served
// QueryLeadEvents pages without a phone; every 50,000-row batch paid an entry per row for it
// (about 0.5x of a COPY of the same rows at 1-2M stored rows, measured, test/bench/RESULTS.md),
// which is more than those pages are worth. They now read the organization's primary-key range.
export class Migration20261204130000_drop_lead_event_org_type_time_idx extends Migration {
  override async up(): Promise<void> {
    this.addSql(`drop index if exists "lead_event_org_type_time_idx";`);
  }

  override async down(): Promise<void> {
    this.addSql(`create index if not exists "lead_event_org_type_time_idx" on "lead_event" ("organization_id", "event_type", "occurred_at");`);
  }
}
