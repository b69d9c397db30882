// A real client for the four operations: openapi-fetch over the types openapi-typescript makes
// from openapi.yaml. `make clients` compiles it with tsc --strict and runs it under Node:
//
//   node client.js roundtrip EXAMPLES.json          every example parsed and serialised again
//   node client.js live EXAMPLES.json BASE_URL USER PASSWORD
//                                                   every operation against the sandbox
//
// Both print one JSON object; tests/clients compares it with the spec.

import createClient from "openapi-fetch";
import { readFileSync } from "node:fs";
import type { components, operations, paths } from "jiguang-growth-api";

type Schemas = components["schemas"];
type Body<Op extends keyof operations> = operations[Op]["requestBody"]["content"]["application/json"];

interface Example {
  readonly name: string;
  readonly operation: string;
  readonly kind: "request" | "response";
  readonly schema: string;
  readonly value: unknown;
}

interface Outcome {
  status: number;
  code: number | null;
  msg: string | null;
  data?: unknown;
  extra: string[];
  www_authenticate?: string;
  cuid?: number;
  error?: string;
}

function readExamples(path: string): Example[] {
  return JSON.parse(readFileSync(path, "utf8")) as Example[];
}

function documented<Op extends keyof operations>(examples: readonly Example[], operation: Op): Body<Op> {
  const found = examples.find((example) => example.name === `${operation} request documented`);
  if (found === undefined) throw new Error(`no documented request example for ${operation}`);
  return found.value as Body<Op>;
}

function roundTrip(examples: readonly Example[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const example of examples) {
    out[example.name] = JSON.parse(JSON.stringify(example.value)) as unknown;
  }
  return out;
}

/** Fields an answer model names: the envelope's, and a success's typed `data`. */
const NAMED_SUCCESS = ["code", "msg", "data"];
const NAMED_ENVELOPE = ["code", "msg"];

/** The status, code, msg and unnamed fields of an answer (a failure's data too); a 5XX may be a
 *  proxy's HTML or text instead of an envelope. */
function outcome(
  response: Response,
  data: Schemas["Envelope"] | undefined,
  error: Schemas["Envelope"] | Schemas["ProxyErrorBody"] | undefined,
): Outcome {
  const failure = typeof error === "string" ? undefined : error;
  const envelope = data ?? failure;
  const named = data === undefined ? NAMED_ENVELOPE : NAMED_SUCCESS;
  const fields: Record<string, unknown> = envelope === undefined ? {} : { ...envelope };
  const result: Outcome = {
    status: response.status,
    code: envelope?.code ?? null,
    msg: envelope?.msg ?? null,
    extra: Object.keys(fields).filter((name) => !named.includes(name)).sort(),
  };
  if (failure !== undefined && "data" in fields) result.data = fields["data"];
  if (typeof error === "string") result.error = `not an envelope: ${error.slice(0, 80)}`;
  const challenge = response.headers.get("WWW-Authenticate");
  if (challenge !== null) result.www_authenticate = challenge;
  return result;
}

async function live(examples: readonly Example[], baseUrl: string, user: string, password: string) {
  const basic = (secret: string) => ({ Authorization: `Basic ${btoa(`${user}:${secret}`)}` });
  const client = createClient<paths>({ baseUrl, headers: basic(password) });
  const out: Record<string, Outcome> = {};

  const reported = await client.POST("/events/report", { body: documented(examples, "reportEvents") });
  out["reportEvents"] = outcome(reported.response, reported.data, reported.error);

  const written = await client.PUT("/user/attribute", { body: documented(examples, "setUserAttributes") });
  out["setUserAttributes"] = outcome(written.response, written.data, written.error);

  const lookup = documented(examples, "getCuids");
  const found = await client.POST("/user/register", { body: lookup });
  const identified = outcome(found.response, found.data, found.error);
  const cuid = found.data?.data?.[0]?.cuid;
  if (typeof cuid === "number") identified.cuid = cuid;
  out["getCuids"] = identified;

  const set = await client.PUT("/user/channel/batch", { body: documented(examples, "setUserChannels") });
  out["setUserChannels"] = outcome(set.response, set.data, set.error);

  // A 400 with its data: an event name the spec's pattern refuses (the types cannot check it).
  const events = documented(examples, "reportEvents");
  const [first, ...others] = events.data;
  if (first === undefined) throw new Error("the documented reportEvents example has no event");
  const refused = await client.POST("/events/report", {
    body: { ...events, data: [{ ...first, eventName: "Bad-Name" }, ...others] },
  });
  out["failure"] = outcome(refused.response, refused.data, refused.error);

  // A 401: the right user with a wrong password.
  const denied = await client.POST("/user/register", { body: lookup, headers: basic(`wrong-${password}`) });
  out["unauthorized"] = outcome(denied.response, denied.data, denied.error);
  return out;
}

async function main(args: readonly string[]): Promise<unknown> {
  const [command, file, ...rest] = args;
  if (command === "roundtrip" && file !== undefined && rest.length === 0) {
    return roundTrip(readExamples(file));
  }
  const [baseUrl, user, password] = rest;
  if (command === "live" && file !== undefined && baseUrl && user && password && rest.length === 3) {
    return live(readExamples(file), baseUrl, user, password);
  }
  throw new Error("usage: client.js roundtrip EXAMPLES.json | live EXAMPLES.json BASE_URL USER PASSWORD");
}

main(process.argv.slice(2)).then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (error: unknown) => {
    process.stderr.write(`client.js: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
