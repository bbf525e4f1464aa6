// API keys: stored as SHA-256 hashes with a visible prefix and scopes.
import { randomUUID } from "node:crypto";
import type { SqlClient } from "./database.js";
import type { ApiKeyScope } from "../domain/api-key.js";
import { ORGANIZATION_COLUMNS, organizationFromRow, type OrganizationRow, type OrganizationSettings } from "./organization-repository.js";

export interface ApiKeyRecord {
  id: string;
  organizationId: number;
  name: string;
  prefix: string;
  scopes: ApiKeyScope[];
  createdAt: string;
  lastUsedAt: string | undefined;
  revokedAt: string | undefined;
}

/** What an authenticated key may do, with its organization's settings (read in the same query). */
export interface ApiKeyGrant {
  keyId: string;
  organizationId: number;
  scopes: ReadonlySet<ApiKeyScope>;
  organization: OrganizationSettings;
}

const COLUMNS = `id, organization_id, name, prefix, scopes,
  to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as created_at,
  to_char(last_used_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as last_used_at,
  to_char(revoked_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as revoked_at`;

interface Row { id: string; organization_id: string; name: string; prefix: string; scopes: string[]; created_at: string; last_used_at: string | null; revoked_at: string | null }

function toRecord(r: Row): ApiKeyRecord {
  return {
    id: r.id,
    organizationId: Number(r.organization_id),
    name: r.name,
    prefix: r.prefix,
    scopes: r.scopes as ApiKeyScope[],
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at ?? undefined,
    revokedAt: r.revoked_at ?? undefined,
  };
}

export class ApiKeyRepository {
  constructor(private readonly withClient: <T>(fn: (c: SqlClient) => Promise<T>) => Promise<T>) {}

  create(input: { organizationId: number; name: string; prefix: string; keyHash: string; scopes: ApiKeyScope[] }): Promise<ApiKeyRecord> {
    return this.withClient(async (c) => {
      const { rows } = await c.query<Row>(
        `insert into api_key (id, organization_id, name, prefix, key_hash, scopes) values ($1, $2, $3, $4, $5, $6) returning ${COLUMNS}`,
        [randomUUID(), input.organizationId, input.name, input.prefix, input.keyHash, input.scopes],
      );
      return toRecord(rows[0]!);
    });
  }

  /**
   * The active key with this hash and its organization's settings, in one round trip (every
   * authenticated call needs both); marks the key used at most once a minute, to spare writes.
   */
  findActiveByHash(keyHash: string): Promise<ApiKeyGrant | undefined> {
    return this.withClient(async (c) => {
      const { rows } = await c.query<{ key_id: string; scopes: string[]; stale: boolean } & OrganizationRow>(
        `select k.id as key_id, k.scopes, (k.last_used_at is null or k.last_used_at < now() - interval '1 minute') as stale, ${ORGANIZATION_COLUMNS("o")}
           from api_key k join organization o on o.id = k.organization_id
          where k.key_hash = $1 and k.revoked_at is null`,
        [keyHash],
      );
      const row = rows[0];
      if (!row) return undefined;
      if (row.stale) await c.query("update api_key set last_used_at = now() where id = $1", [row.key_id]);
      const organization = organizationFromRow(row);
      return { keyId: row.key_id, organizationId: organization.id, scopes: new Set(row.scopes as ApiKeyScope[]), organization };
    });
  }

  list(organizationId: number): Promise<ApiKeyRecord[]> {
    return this.withClient(async (c) => {
      const { rows } = await c.query<Row>(`select ${COLUMNS} from api_key where organization_id = $1 order by created_at desc, id`, [organizationId]);
      return rows.map(toRecord);
    });
  }

  /** Revokes the key if it belongs to the organization; undefined when it does not exist there. */
  revoke(organizationId: number, keyId: string): Promise<ApiKeyRecord | undefined> {
    return this.withClient(async (c) => {
      const { rows } = await c.query<Row>(
        `update api_key set revoked_at = coalesce(revoked_at, now()) where organization_id = $1 and id::text = $2 returning ${COLUMNS}`,
        [organizationId, keyId],
      );
      return rows[0] ? toRecord(rows[0]) : undefined;
    });
  }
}
