// Organizations and their inbound settings.
import type { EntityManager } from "@mikro-orm/postgresql";
import { LockMode, type InferEntity } from "@mikro-orm/core";
import { Organization, SigningKey } from "./entities.js";
import type { SqlClient } from "./database.js";

export type AuthMode = "API_KEY" | "HMAC";

export interface OrganizationSettings {
  id: number;
  name: string;
  authMode: AuthMode;
  defaultRegion: string | undefined;
  strictPhoneValidation: boolean;
  requireSignatureTimestamp: boolean;
}

export interface OrganizationPatch {
  authMode?: AuthMode;
  defaultRegion?: string | null;
  strictPhoneValidation?: boolean;
  requireSignatureTimestamp?: boolean;
}

export type UpdateOutcome =
  | { status: "updated"; settings: OrganizationSettings }
  | { status: "not_found" }
  | { status: "no_active_signing_key" };

type OrganizationEntity = InferEntity<typeof Organization>;

function toSettings(row: OrganizationEntity): OrganizationSettings {
  return {
    id: Number(row.id),
    name: row.name,
    authMode: row.authMode as AuthMode,
    defaultRegion: row.defaultRegion ?? undefined,
    strictPhoneValidation: row.strictPhoneValidation,
    requireSignatureTimestamp: row.requireSignatureTimestamp,
  };
}

/** The columns toSettings-from-SQL needs, for queries that join organization as `alias`. */
export const ORGANIZATION_COLUMNS = (alias: string) =>
  `${alias}.id as org_id, ${alias}.name as org_name, ${alias}.auth_mode, ${alias}.default_region, ${alias}.strict_phone_validation, ${alias}.require_signature_timestamp`;

export interface OrganizationRow {
  org_id: string;
  org_name: string;
  auth_mode: string;
  default_region: string | null;
  strict_phone_validation: boolean;
  require_signature_timestamp: boolean;
}

export function organizationFromRow(r: OrganizationRow): OrganizationSettings {
  return {
    id: Number(r.org_id),
    name: r.org_name,
    authMode: r.auth_mode as AuthMode,
    defaultRegion: r.default_region ?? undefined,
    strictPhoneValidation: r.strict_phone_validation,
    requireSignatureTimestamp: r.require_signature_timestamp,
  };
}

export class OrganizationRepository {
  constructor(
    private readonly em: () => EntityManager,
    private readonly withClient: <T>(fn: (c: SqlClient) => Promise<T>) => Promise<T>,
  ) {}

  async create(name: string, defaultRegion: string | undefined): Promise<OrganizationSettings> {
    const em = this.em();
    const org = em.create(Organization, { name, defaultRegion: defaultRegion ?? null, authMode: "API_KEY", strictPhoneValidation: false, requireSignatureTimestamp: false } as never);
    await em.flush();
    return toSettings(org as OrganizationEntity);
  }

  /** On every request's path: plain SQL, no unit of work. */
  find(id: number): Promise<OrganizationSettings | undefined> {
    return this.withClient(async (c) => {
      const { rows } = await c.query<OrganizationRow>(`select ${ORGANIZATION_COLUMNS("o")} from organization o where o.id = $1`, [id]);
      return rows[0] ? organizationFromRow(rows[0]) : undefined;
    });
  }

  /**
   * Applies the patch. Switching to HMAC needs an active signing key: checked under a lock on
   * the organization row, which signing-key revocation takes too, so the two cannot race into
   * an organization that nobody can send to.
   */
  async update(id: number, patch: OrganizationPatch): Promise<UpdateOutcome> {
    return this.em().transactional(async (em) => {
      const row = (await em.findOne(Organization, { id } as never, { lockMode: LockMode.PESSIMISTIC_WRITE })) as OrganizationEntity | null;
      if (!row) return { status: "not_found" };
      if (patch.authMode === "HMAC" && row.authMode !== "HMAC") {
        const active = await em.count(SigningKey, { organization: id, revokedAt: null } as never);
        if (active === 0) return { status: "no_active_signing_key" };
      }
      if (patch.authMode !== undefined) row.authMode = patch.authMode;
      if (patch.defaultRegion !== undefined) row.defaultRegion = patch.defaultRegion;
      if (patch.strictPhoneValidation !== undefined) row.strictPhoneValidation = patch.strictPhoneValidation;
      if (patch.requireSignatureTimestamp !== undefined) row.requireSignatureTimestamp = patch.requireSignatureTimestamp;
      await em.flush();
      return { status: "updated", settings: toSettings(row) };
    });
  }
}
