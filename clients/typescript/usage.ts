// A small typed client for the four operations, written only against the types that
// openapi-typescript generates from openapi.yaml ("jiguang-growth-api", see tsconfig.json).
// `make types` type-checks it in strict mode, so a spec change that breaks TypeScript callers
// fails there. The @ts-expect-error lines must stay errors: if the generated types grew
// loose (for example `any`), tsc would report them as unused and fail.

import type { components, operations } from "jiguang-growth-api";

type Schemas = components["schemas"];
type OperationId = keyof operations;

/** The JSON body an operation takes. */
export type RequestBody<Op extends OperationId> =
  operations[Op]["requestBody"]["content"]["application/json"];

/** The JSON body of an operation's HTTP 200 answer: the envelope with the operation's data. */
export type SuccessBody<Op extends OperationId> =
  operations[Op]["responses"][200]["content"]["application/json"];

/** Where each operation lives. `satisfies` makes tsc fail when the spec gains an operation. */
const OPERATIONS = {
  reportEvents: { method: "POST", path: "/events/report" },
  setUserAttributes: { method: "PUT", path: "/user/attribute" },
  getCuids: { method: "POST", path: "/user/register" },
  setUserChannels: { method: "PUT", path: "/user/channel/batch" },
} as const satisfies Record<OperationId, { method: "POST" | "PUT"; path: string }>;

export interface GrowthCredentials {
  /** Server URL including /smartop/api/v1, e.g. the local sandbox's. */
  readonly baseUrl: string;
  readonly projectId: string;
  readonly projectSecret: string;
}

/** A non-2xx status or an envelope whose `code` is not 0. */
export class GrowthApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = "GrowthApiError";
  }
}

function isEnvelope(value: unknown): value is Schemas["Envelope"] {
  return typeof value === "object" && value !== null && typeof (value as { code?: unknown }).code === "number";
}

export async function call<Op extends OperationId>(
  credentials: GrowthCredentials,
  operation: Op,
  body: RequestBody<Op>,
): Promise<SuccessBody<Op>> {
  const { method, path } = OPERATIONS[operation];
  const response = await fetch(credentials.baseUrl + path, {
    method,
    headers: {
      Authorization: "Basic " + btoa(`${credentials.projectId}:${credentials.projectSecret}`),
      "Content-Type": "application/json",
    },
    body: JSON.stringify(body),
  });
  const answer: unknown = await response.json();
  if (!isEnvelope(answer)) {
    throw new GrowthApiError(response.status, undefined, `not an envelope (HTTP ${response.status})`);
  }
  if (!response.ok || answer.code !== 0) {
    throw new GrowthApiError(response.status, answer.code, answer.msg ?? "");
  }
  return answer as SuccessBody<Op>;
}

/** One CUID per requested value, in request order; `undefined` where the item failed. */
export async function cuidsFor(
  credentials: GrowthCredentials,
  identityName: string,
  values: readonly Schemas["IdentityValue"][],
): Promise<Map<string, number | undefined>> {
  const answer = await call(credentials, "getCuids", { identityName, identityValues: [...values] });
  const found = new Map<string, number | undefined>();
  for (const item of answer.data ?? []) {
    if (item.identityValues !== undefined && !found.has(item.identityValues)) {
      found.set(item.identityValues, item.errorCode === 0 ? (item.cuid ?? undefined) : undefined);
    }
  }
  return found;
}

export function openAppEvent(cuid: Schemas["Cuid"], at: Date): Schemas["Event"] {
  return {
    cuid,
    eventName: "open_app",
    itime: at.getTime(),
    randomId: crypto.randomUUID(),
    properties: { is_first_open: "true", screen_width: 1080, tags: ["a", "b"] },
  };
}

export async function reportOpenApp(credentials: GrowthCredentials, cuid: number): Promise<void> {
  await call(credentials, "reportEvents", { data: [openAppEvent(cuid, new Date())] });
}

export async function setLevel(credentials: GrowthCredentials, cuid: number, level: number): Promise<void> {
  await call(credentials, "setUserAttributes", { cuid, data: { user_level: level, is_vip: 1 } });
}

export async function setPhone(credentials: GrowthCredentials, cuid: number, phone: string): Promise<void> {
  await call(credentials, "setUserChannels", [{ cuid, channels: [{ id: 210, channelValues: { 默认联系: phone } }] }]);
}

// --- what the types must refuse ----------------------------------------------------------------

export const refused: readonly unknown[] = [
  // @ts-expect-error itime is a number of milliseconds, not a string
  { cuid: 1, eventName: "open_app", itime: "1654076420772" } satisfies Schemas["Event"],
  // @ts-expect-error cuid is required on an event
  { eventName: "open_app", itime: 1654076420772 } satisfies Schemas["Event"],
  // @ts-expect-error a BOOL event value is one of "true", "false", "0", "1"
  "yes" satisfies Schemas["EventBoolValue"],
  // @ts-expect-error a BOOL user attribute is 0 or 1
  2 satisfies Schemas["UserBoolValue"],
  // @ts-expect-error identityValues is required
  { identityName: "phone" } satisfies RequestBody<"getCuids">,
  // @ts-expect-error setUserChannels takes an array, not one user
  { cuid: 1, channels: [] } satisfies RequestBody<"setUserChannels">,
  // @ts-expect-error the envelope's code is a number
  { code: "0", msg: "ok" } satisfies SuccessBody<"setUserAttributes">,
  // @ts-expect-error a CUID result's cuid is a number
  { identityValues: "1", cuid: "10000091198", errorCode: 0 } satisfies Schemas["CuidResult"],
];
