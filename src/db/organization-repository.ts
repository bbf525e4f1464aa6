// Organizations and their inbound settings.
import type { EntityManager } from "@mikro-orm/postgresql";
import { LockMode, type InferEntity } from "@mikro-orm/core";
import { Organization, SigningKey } from "./entities.js";

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

type OrganizationRow = InferEntity<typeof Organization>;

function toSettings(row: OrganizationRow): OrganizationSettings {
  return {
    id: Number(row.id),
    name: row.name,
    authMode: row.authMode as AuthMode,
    defaultRegion: row.defaultRegion ?? undefined,
    strictPhoneValidation: row.strictPhoneValidation,
    requireSignatureTimestamp: row.requireSignatureTimestamp,
  };
}

export class OrganizationRepository {
  constructor(private readonly em: () => EntityManager) {}

  async create(name: string, defaultRegion: string | undefined): Promise<OrganizationSettings> {
    const em = this.em();
    const org = em.create(Organization, { name, defaultRegion: defaultRegion ?? null, authMode: "API_KEY", strictPhoneValidation: false, requireSignatureTimestamp: false } as never);
    await em.flush();
    return toSettings(org as OrganizationRow);
  }

  async find(id: number): Promise<OrganizationSettings | undefined> {
    const row = await this.em().findOne(Organization, { id } as never);
    return row ? toSettings(row as OrganizationRow) : undefined;
  }

  /**
   * Applies the patch. Switching to HMAC needs an active signing key: checked under a lock on
   * the organization row, which signing-key revocation takes too, so the two cannot race into
   * an organization that nobody can send to.
   */
  async update(id: number, patch: OrganizationPatch): Promise<UpdateOutcome> {
    return this.em().transactional(async (em) => {
      const row = (await em.findOne(Organization, { id } as never, { lockMode: LockMode.PESSIMISTIC_WRITE })) as OrganizationRow | null;
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
