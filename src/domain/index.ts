// Public API of the pure domain layer: no I/O, no transport, no database.

export * from "./types.js";
export { normalizePhone, createPhoneNormalizer, isSupportedRegion } from "./phone.js";
export {
  parseRfc3339,
  formatTimestamp,
  parseOccurredAt,
  MICROS_PER_SECOND,
  MICROS_PER_MINUTE,
  MICROS_PER_HOUR,
  MAX_FUTURE_SKEW_MICROS,
} from "./timestamp.js";
export { daysFromCivil, civilFromDays, daysInMonth, isLeapYear } from "./calendar.js";
export { checkEventType, EVENT_TYPE_MAX_CHARACTERS } from "./event-type.js";
export { checkMetadata, checkMetadataJson, METADATA_MAX_BYTES } from "./metadata.js";
export { validateEvent, type ValidationContext, type EventResult } from "./validate-event.js";
export {
  planBatch,
  BatchValidation,
  chunksOf,
  type EventStream,
  firstOfEachKey,
  checkBatchEventType,
  MAX_EVENTS_PER_CALL,
  MAX_REPORTED_REJECTS,
  type BatchPlan,
} from "./batch.js";
export {
  checkEventFilter,
  resolveAsOf,
  filterWindow,
  keeps,
  parseAudience,
  comparePhones,
  MAX_AUDIENCE_PER_CALL,
  MAX_AUDIENCE_PER_STREAM,
  MAX_STREAM_UNPARSEABLE,
  type FilterMode,
  type EventFilterSpec,
  type RawEventFilter,
  type FilterWindow,
  type ParsedAudience,
  type Checked,
} from "./audience.js";
export { applyTombstones, isErased, tombstoneIndex, distinctPhones, ERASED_REASON, type ErasureTombstone } from "./erasure.js";
