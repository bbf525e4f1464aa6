// Migrations listed explicitly: no file-system scanning, works the same under tsx and vitest.
import { Migration20261203000000_initial } from "./Migration20261203000000_initial.js";
import { Migration20261203190000_drop_lead_event_org_time_idx } from "./Migration20261203190000_drop_lead_event_org_time_idx.js";
import { Migration20261204110000_lead_event_metadata_json } from "./Migration20261204110000_lead_event_metadata_json.js";
import { Migration20261204130000_drop_lead_event_org_type_time_idx } from "./Migration20261204130000_drop_lead_event_org_type_time_idx.js";

export const migrationsList = [
  { name: "Migration20261203000000_initial", class: Migration20261203000000_initial },
  { name: "Migration20261203190000_drop_lead_event_org_time_idx", class: Migration20261203190000_drop_lead_event_org_time_idx },
  { name: "Migration20261204110000_lead_event_metadata_json", class: Migration20261204110000_lead_event_metadata_json },
  { name: "Migration20261204130000_drop_lead_event_org_type_time_idx", class: Migration20261204130000_drop_lead_event_org_type_time_idx },
];
