// The agent a user of openai-node (npm `openai`) writes for background responses, driven by bgr
// over the cmd: protocol (docs/cmd-protocol.md). Plain on purpose: `responses.create` with
// `background: true`, `responses.retrieve(id)` to poll, `responses.retrieve(id, {stream: true,
// starting_after})` to resume, the SDK's defaults (two retries) and no poller of its own.
// Its token is JSON {response_id, sequence_number}, the last event's cursor.
import { createInterface } from "node:readline";
import OpenAI from "openai";

const TERMINAL_EVENTS = new Set(["response.completed", "response.failed", "response.incomplete"]);
const PENDING = new Set(["queued", "in_progress"]);

let client = null;
let model = "gpt-4o";

function send(message) {
  process.stdout.write(JSON.stringify({ protocol: 1, ...message }) + "\n");
}

function oneLine(error) {
  return `${error?.constructor?.name ?? "Error"}: ${String(error?.message ?? error)}`.replace(/\s+/g, " ").slice(0, 300);
}

function dumpToken(responseId, sequenceNumber) {
  if (!responseId) return null;
  const state = { response_id: responseId };
  if (sequenceNumber !== null && sequenceNumber !== undefined) state.sequence_number = sequenceNumber;
  return JSON.stringify(state);
}

function loadToken(token) {
  try {
    const state = JSON.parse(token);
    return state && typeof state.response_id === "string" && state.response_id.startsWith("resp_") ? state : null;
  } catch {
    return null;
  }
}

function ending(response) {
  if (response.status === "failed") return `response failed: ${response.error?.message ?? "no error given"}`;
  if (response.status === "incomplete") return `response incomplete: ${response.incomplete_details?.reason ?? "unknown"}`;
  if (response.status === "cancelled") return "response cancelled";
  return null;
}

async function plainCall(id, prompt, state) {
  const response = state
    ? await client.responses.retrieve(state.response_id)
    : await client.responses.create({ model, input: prompt ?? "", background: true });
  const token = PENDING.has(response.status) ? dumpToken(response.id, null) : null;
  const text = ["completed", "incomplete"].includes(response.status) ? response.output_text ?? "" : "";
  send({ type: "result", id, text, token, status: response.status, error: ending(response), kind: response.status });
}

async function streamCall(id, prompt, state, token, maxUpdates) {
  let responseId = state?.response_id ?? null;
  const stream = state
    ? await client.responses.retrieve(
        responseId,
        state.sequence_number === undefined ? { stream: true } : { stream: true, starting_after: state.sequence_number },
      )
    : await client.responses.create({ model, input: prompt ?? "", background: true, stream: true });
  let last = token;
  let count = 0;
  let status = null;
  let error = null;
  if (maxUpdates === 0) {
    if (last === null) {
      // Asked to deliver nothing of a new run: its first event names the response, resumable from the start.
      for await (const event of stream) {
        last = dumpToken(event.response?.id ?? null, null);
        break;
      }
    }
    stream.controller.abort();
    send({ type: "result", id, token: last, cut: true });
    return;
  }
  try {
    for await (const event of stream) {
      if (event.type === "response.created") responseId = event.response.id;
      if (TERMINAL_EVENTS.has(event.type)) {
        status = event.response.status;
        error = ending(event.response);
        last = null;
      } else {
        last = dumpToken(responseId, event.sequence_number);
      }
      const text = event.type === "response.output_text.delta" ? event.delta : "";
      send({ type: "update", id, text, token: last, kind: event.type });
      count += 1;
      if (maxUpdates !== null && count >= maxUpdates && last !== null) {
        stream.controller.abort();
        send({ type: "result", id, token: last, cut: true });
        return;
      }
    }
  } catch (dropped) {
    send({ type: "result", id, token: last, error: `stream dropped: ${oneLine(dropped)}` });
    return;
  }
  send({ type: "result", id, token: last, status, error });
}

async function handle(request) {
  const { id } = request;
  if (request.type === "hello") {
    const environment = request.environment;
    model = environment.model;
    client = new OpenAI({ baseURL: environment.base_url, apiKey: environment.api_key });
    send({ type: "ready", id, name: "openai-node", sdk: `openai-node ${OpenAI.VERSION ?? ""}`.trim() });
    return;
  }
  if (request.type !== "run") {
    send({ type: "unsupported", id, message: `openai-node has no ${request.type} of its own` });
    return;
  }
  let state = null;
  if (request.token !== null) {
    state = loadToken(request.token);
    if (!state) {
      send({ type: "result", id, token: request.token, error: `not a token of this agent: ${request.token.slice(0, 60)}` });
      return;
    }
  }
  try {
    if (request.stream) await streamCall(id, request.prompt, state, request.token, request.max_updates);
    else await plainCall(id, request.prompt, state);
  } catch (failure) {
    send({ type: "result", id, token: request.token, error: oneLine(failure) });
  }
}

// One request at a time, as the protocol says: each is answered before the next line is read.
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (line.trim()) await handle(JSON.parse(line));
}
