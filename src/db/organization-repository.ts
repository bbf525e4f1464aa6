// Organizations and their inbound settings.
import type { EntityManager } from "@mikro-orm/postgresql";
import type { InferEntity } from "@mikro-orm/core";
import { Organization } from "./entities.js";

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

  async update(id: number, patch: OrganizationPatch): Promise<OrganizationSettings | undefined> {
    const em = this.em();
    const row = (await em.findOne(Organization, { id } as never)) as OrganizationRow | null;
    if (!row) return undefined;
    if (patch.authMode !== undefined) row.authMode = patch.authMode;
    if (patch.defaultRegion !== undefined) row.defaultRegion = patch.defaultRegion;
    if (patch.strictPhoneValidation !== undefined) row.strictPhoneValidation = patch.strictPhoneValidation;
    if (patch.requireSignatureTimestamp !== undefined) row.requireSignatureTimestamp = patch.requireSignatureTimestamp;
    await em.flush();
    return toSettings(row);
  }
}
