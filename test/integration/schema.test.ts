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
});
