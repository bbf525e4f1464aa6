// Everything a request handler needs, built once at start (tests may override parts).
import type { Database } from "../db/database.js";
import type { Logger } from "../logger.js";
import { OrganizationRepository } from "../db/organization-repository.js";
import { ApiKeyRepository } from "../db/api-key-repository.js";
import { LeadEventStore } from "../db/lead-event-store.js";
import { SigningKeyRepository } from "../db/signing-key-repository.js";
import type { SecretBox } from "./secret-box.js";
import { ErasureStore } from "../db/erasure-store.js";

export interface Clock {
  /** Microseconds since the epoch. Millisecond resolution is enough for "now" checks. */
  nowMicros(): number;
}

export const systemClock: Clock = { nowMicros: () => Date.now() * 1000 };

export interface ServiceContext {
  db: Database;
  log: Logger;
  clock: Clock;
  organizations: OrganizationRepository;
  apiKeys: ApiKeyRepository;
  signingKeys: SigningKeyRepository;
  events: LeadEventStore;
  erasures: ErasureStore;
  /** Seals signing secrets at rest with the server key. */
  secrets: SecretBox;
  /** Acknowledge sends before their WAL is on disk (Config.asyncCommit). */
  asyncCommit: boolean;
}

export function createServiceContext(db: Database, log: Logger, secrets: SecretBox, overrides: Partial<ServiceContext> = {}): ServiceContext {
  return {
    db,
    log,
    clock: systemClock,
    organizations: new OrganizationRepository(() => db.orm.em.fork(), db.withClient),
    apiKeys: new ApiKeyRepository(db.withClient),
    signingKeys: new SigningKeyRepository(db.withClient, db.transaction),
    events: new LeadEventStore(),
    secrets,
    asyncCommit: false,
    erasures: new ErasureStore(),
    ...overrides,
  };
}
