// Command-line bootstrap: organizations and API keys, against the same database as the server.
//   org create --name N [--default-region US]      -> {"organizationId": 1, "apiKey": "lek_..."}
//   org update --org ID [--default-region GB|none] [--strict-phones true|false]
//   key create --org ID --scopes ingest,read [--name N]
//   key list --org ID
//   key revoke --org ID --key KEY_ID
import { parseArgs } from "node:util";
import { readConfig } from "../config.js";
import { createLogger } from "../logger.js";
import { openDatabase, type Database } from "../db/database.js";
import { createServiceContext, type ServiceContext } from "../service/context.js";
import { createApiKey } from "../service/api-keys.js";
import { parseScopes } from "../domain/api-key.js";
import { checkRegion } from "../domain/region.js";
import { createSecretBox, loadServerKey } from "../service/secret-box.js";

const USAGE = `usage: leadevents <command>
  org create --name NAME [--default-region US]
  org update --org ID [--default-region GB|none] [--strict-phones true|false]
  key create --org ID --scopes ingest,read,admin [--name NAME]
  key list   --org ID
  key revoke --org ID --key KEY_ID`;

class UsageError extends Error {}

export async function runCli(argv: string[], ctx: ServiceContext): Promise<unknown> {
  const [noun, verb, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      name: { type: "string" },
      org: { type: "string" },
      "default-region": { type: "string" },
      "strict-phones": { type: "string" },
      scopes: { type: "string" },
      key: { type: "string" },
    },
    strict: true,
  });
  const orgId = () => {
    const n = Number(values.org);
    if (!values.org || !Number.isSafeInteger(n) || n <= 0) throw new UsageError("--org ID is required (a positive integer)");
    return n;
  };
  const region = (raw: string | undefined) => {
    if (raw === undefined) return undefined;
    if (raw.toLowerCase() === "none" || raw === "") return null;
    const r = checkRegion(raw);
    if (!r.ok) throw new UsageError(`--default-region: ${r.detail}`);
    return r.value;
  };
  const found = async <T>(value: T | undefined): Promise<T> => {
    if (value === undefined) throw new UsageError(`organization ${values.org} does not exist`);
    return value;
  };

  switch (`${noun} ${verb}`) {
    case "org create": {
      if (!values.name?.trim()) throw new UsageError("--name NAME is required");
      const org = await ctx.organizations.create(values.name.trim(), region(values["default-region"]) ?? undefined);
      // The bootstrap key can do everything, so a newcomer can follow the README with it.
      const { secret } = await createApiKey(ctx, org.id, "bootstrap", ["ingest", "read", "admin"]);
      return { organizationId: org.id, apiKey: secret };
    }
    case "org update": {
      const strict = values["strict-phones"];
      if (strict !== undefined && strict !== "true" && strict !== "false") throw new UsageError("--strict-phones must be true or false");
      const outcome = await ctx.organizations.update(orgId(), {
        defaultRegion: region(values["default-region"]),
        strictPhoneValidation: strict === undefined ? undefined : strict === "true",
      });
      const org = await found(outcome.status === "updated" ? outcome.settings : undefined);
      return { organizationId: org.id, defaultRegion: org.defaultRegion ?? null, strictPhoneValidation: org.strictPhoneValidation, authMode: org.authMode };
    }
    case "key create": {
      const id = orgId();
      await found(await ctx.organizations.find(id));
      const scopes = parseScopes((values.scopes ?? "").split(",").filter((s) => s.trim() !== ""));
      if (!scopes.ok) throw new UsageError(`--scopes: ${scopes.detail}`);
      const { key, secret } = await createApiKey(ctx, id, values.name?.trim() || "cli", scopes.scopes);
      return { keyId: key.id, apiKey: secret, prefix: key.prefix, scopes: key.scopes };
    }
    case "key list":
      return { keys: await ctx.apiKeys.list(orgId()) };
    case "key revoke": {
      if (!values.key) throw new UsageError("--key KEY_ID is required");
      const key = await ctx.apiKeys.revoke(orgId(), values.key);
      if (!key) throw new UsageError(`no key ${values.key} in organization ${values.org}`);
      return { keyId: key.id, revokedAt: key.revokedAt };
    }
    default:
      throw new UsageError(USAGE);
  }
}

async function main(): Promise<void> {
  const config = readConfig(process.env);
  // Logs go to stderr: stdout carries only the command's JSON answer.
  const log = createLogger(config.logLevel === "info" ? "warn" : config.logLevel, { service: "leadevents-cli" }, (l) => process.stderr.write(l + "\n"));
  let db: Database | undefined;
  try {
    const argv = process.argv.slice(2);
    if (argv.length < 2 || argv.includes("--help")) throw new UsageError(USAGE);
    db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2, log });
    const secrets = createSecretBox(loadServerKey(config.secretKey, config.dataDir));
    const result = await runCli(argv, createServiceContext(db, log, secrets));
    process.stdout.write(JSON.stringify(result, null, 2) + "\n");
  } catch (err) {
    process.stderr.write(`${err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") ? "" : "error: "}${(err as Error).message}\n`);
    process.exitCode = 2;
  } finally {
    await db?.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.env.LEADEVENTS_CLI_MAIN === "1") {
  void main();
}
