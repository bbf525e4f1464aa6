// MikroORM owns the schema: after the committed migrations, the entities and the database
// must agree exactly (a new column or index without a migration fails here).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/test-server.js";

describe("schema", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it("matches the entities after the migrations, with nothing left to generate", async () => {
    const diff = await server.app.db.orm.schema.getUpdateSchemaSQL({ wrap: false });
    expect(diff.trim()).toBe("");
  });

  it("makes the idempotency key the primary key of lead_event", async () => {
    const { rows } = await server.app.db.withClient((c) =>
      c.query(`select pg_get_constraintdef(oid) as def from pg_constraint where conrelid = 'lead_event'::regclass and contype = 'p'`),
    );
    expect(rows[0].def).toBe("PRIMARY KEY (organization_id, phone_e164, event_type, occurred_at)");
  });

  // Every index on lead_event costs each ingested row an entry (test/bench/RESULTS.md): the
  // primary key is the only one, and the migration that dropped the last secondary index
  // recreates it on the way down.
  it("gives lead_event no index but its primary key", async () => {
    const indexes = async (s: TestServer) =>
      (await s.app.db.withClient((c) => c.query(`select indexname from pg_indexes where tablename = 'lead_event' order by 1`))).rows.map((r) => r.indexname);
    expect(await indexes(server)).toEqual(["lead_event_pkey"]);
    const own = await startTestServer();
    try {
      const migrator = own.app.db.orm.getMigrator();
      await migrator.down({ to: "Migration20261204110000_lead_event_metadata_json" });
      expect(await indexes(own)).toEqual(["lead_event_org_type_time_idx", "lead_event_pkey"]);
      await migrator.up();
      expect(await indexes(own)).toEqual(["lead_event_pkey"]);
    } finally {
      await own.close();
    }
  });

  it("keeps stored metadata when lead_event.metadata goes from jsonb to json", async () => {
    const own = await startTestServer();
    try {
      const migrator = own.app.db.orm.getMigrator();
      await migrator.down({ to: "Migration20261203190000_drop_lead_event_org_time_idx" });
      const type = async () => (await own.app.db.withClient((c) => c.query(`select format_type(atttypid, atttypmod) as t from pg_attribute where attrelid = 'lead_event'::regclass and attname = 'metadata'`))).rows[0].t;
      expect(await type()).toBe("jsonb");
      await own.app.db.withClient((c) =>
        c.query(`insert into lead_event (organization_id, phone_e164, event_type, occurred_at, metadata) values (1, '+14155550100', 'x', now(), '{"b": [1, 2.50], "a": {"z": null}}'), (1, '+14155550101', 'x', now(), null)`),
      );
      await migrator.up();
      expect(await type()).toBe("json");
      const { rows } = await own.app.db.withClient((c) => c.query(`select metadata::text as m from lead_event order by phone_e164`));
      expect(rows.map((r) => r.m === null ? null : JSON.parse(r.m))).toEqual([{ a: { z: null }, b: [1, 2.5] }, null]);
    } finally {
      await own.close();
    }
  });
});
