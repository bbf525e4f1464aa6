// WebhookSettingsService through the generated Connect client (JSON over HTTP/1.1).
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthMode, WebhookSettingsService } from "../../gen/leadevents/v1/webhook_settings_service_pb.js";

export function settingsClient(baseUrl: string, apiKey: string) {
  const client = createClient(WebhookSettingsService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
  const headers = { authorization: `Bearer ${apiKey}` };
  return { client, headers };
}

/** Creates `count` signing keys, switches the organization to HMAC, returns the keys. */
export async function enableHmac(baseUrl: string, orgId: number, adminKey: string, count = 2): Promise<{ id: string; secret: string }[]> {
  const { client, headers } = settingsClient(baseUrl, adminKey);
  const keys = [];
  for (let i = 0; i < count; i++) {
    const res = await client.createSigningKey({ organizationId: BigInt(orgId) }, { headers });
    keys.push({ id: res.key!.id, secret: res.secret });
  }
  await client.updateWebhookSettings({ organizationId: BigInt(orgId), authMode: AuthMode.HMAC }, { headers });
  return keys;
}
