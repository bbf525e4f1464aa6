// ListEventTypes: the organization's event catalog, so a person configuring a send picks a type
// that really exists (types are case-sensitive; a misspelled one silently matches nobody).
import type { EventTypeSummary } from "../db/lead-event-store.js";
import { authorize, type Caller } from "./auth.js";
import type { ServiceContext } from "./context.js";

export interface ListEventTypesInput {
  organizationId: number | undefined;
}

export async function listEventTypes(ctx: ServiceContext, caller: Caller, input: ListEventTypesInput): Promise<EventTypeSummary[]> {
  const organizationId = authorize(caller, "read", input.organizationId);
  return ctx.db.withClient((c) => ctx.events.eventTypeSummaries(c, organizationId));
}
