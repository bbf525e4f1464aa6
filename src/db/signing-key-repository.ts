// HMAC signing keys: secrets sealed with the server key, a visible prefix, revocation.
import { randomUUID } from "node:crypto";
import type { SqlClient } from "./database.js";

export interface SigningKeyRecord {
  id: string;
  organizationId: number;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | undefined;
  revokedAt: string | undefined;
}

const TS = (col: string) => `to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as ${col}`;
const COLUMNS = `id, organization_id, prefix, ${TS("created_at")}, ${TS("last_used_at")}, ${TS("revoked_at")}`;

interface Row { id: string; organization_id: string; prefix: string; created_at: string; last_used_at: string | null; revoked_at: string | null }

function toRecord(r: Row): SigningKeyRecord {
  return { id: r.id, organizationId: Number(r.organization_id), prefix: r.prefix, createdAt: r.created_at, lastUsedAt: r.last_used_at ?? undefined, revokedAt: r.revoked_at ?? undefined };
}

type Run = <T>(fn: (c: SqlClient) => Promise<T>) => Promise<T>;

export type RevokeOutcome = { status: "revoked"; key: SigningKeyRecord } | { status: "not_found" } | { status: "last_key_in_hmac_mode" };

export class SigningKeyRepository {
  constructor(
    private readonly withClient: Run,
    private readonly transaction: Run,
  ) {}

  create(organizationId: number, prefix: string, secretCiphertext: string): Promise<SigningKeyRecord> {
    return this.withClient(async (c) => {
      const { rows } = await c.query<Row>(
        `insert into signing_key (id, organization_id, prefix, secret_ciphertext) values ($1, $2, $3, $4) returning ${COLUMNS}`,
        [randomUUID(), organizationId, prefix, secretCiphertext],
      );
      return toRecord(rows[0]!);
    });
  }

  /** The active keys' sealed secrets, to verify a signature with. */
  activeSecrets(organizationId: number): Promise<{ id: string; secretCiphertext: string }[]> {
    return this.withClient(async (c) => {
      const { rows } = await c.query<{ id: string; secret_ciphertext: string }>(
        "select id, secret_ciphertext from signing_key where organization_id = $1 and revoked_at is null order by created_at, id",
        [organizationId],
      );
      return rows.map((r) => ({ id: r.id, secretCiphertext: r.secret_ciphertext }));
    });
  }

  countActive(organizationId: number): Promise<number> {
    return this.withClient(async (c) => {
      const { rows } = await c.query<{ n: number }>("select count(*)::int as n from signing_key where organization_id = $1 and revoked_at is null", [organizationId]);
      return rows[0]!.n;
    });
  }

  markUsed(id: string): Promise<void> {
    return this.withClient(async (c) => {
      await c.query("update signing_key set last_used_at = now() where id = $1 and (last_used_at is null or last_used_at < now() - interval '1 minute')", [id]);
    });
  }

  list(organizationId: number): Promise<SigningKeyRecord[]> {
    return this.withClient(async (c) => {
      const { rows } = await c.query<Row>(`select ${COLUMNS} from signing_key where organization_id = $1 order by created_at desc, id`, [organizationId]);
      return rows.map(toRecord);
    });
  }

  /**
   * Revokes a key unless it is the organization's last active one while it is in HMAC mode
   * (that would lock ingest out). The organization row is locked so that a concurrent mode
   * switch or revocation cannot slip between the check and the update.
   */
  revoke(organizationId: number, id: string): Promise<RevokeOutcome> {
    return this.transaction(async (c) => {
      const org = await c.query<{ auth_mode: string }>("select auth_mode from organization where id = $1 for update", [organizationId]);
      if (org.rowCount === 0) return { status: "not_found" };
      if (org.rows[0]!.auth_mode === "HMAC") {
        const others = await c.query<{ n: number }>(
          "select count(*)::int as n from signing_key where organization_id = $1 and revoked_at is null and id::text <> $2",
          [organizationId, id],
        );
        const target = await c.query("select 1 from signing_key where organization_id = $1 and id::text = $2 and revoked_at is null", [organizationId, id]);
        if (target.rowCount === 1 && others.rows[0]!.n === 0) return { status: "last_key_in_hmac_mode" };
      }
      const { rows } = await c.query<Row>(
        `update signing_key set revoked_at = coalesce(revoked_at, now()) where organization_id = $1 and id::text = $2 returning ${COLUMNS}`,
        [organizationId, id],
      );
      return rows[0] ? { status: "revoked", key: toRecord(rows[0]) } : { status: "not_found" };
    });
  }
}
