// The agent a user of openai-node (npm `openai`) writes for background responses, driven by bgr
// over the cmd: protocol (docs/cmd-protocol.md). Plain on purpose: `responses.create` with
// `background: true`, `responses.retrieve(id)` to poll, `responses.retrieve(id, {stream: true,
// starting_after})` to resume, the SDK's defaults (two retries) and no poller of its own.
// Its token is JSON {response_id, sequence_number}, the last event's cursor.
//
// Protocol version 2 (taken when `hello` offers it): the model is offered the harness's tools and this
// program runs the tool loop, as a user of openai-node does (the SDK has no loop of its own). When a
// response ends `completed` with function calls, it runs each call once (a `tool_call` line, answered by
// `tool_output`) and creates the follow-up with `previous_response_id` and the outputs in the same
// request, so its token moves on to the follow-up: a token naming a response means its calls are not
// submitted yet.
import { createInterface } from "node:readline";
import OpenAI from "openai";

const TERMINAL_EVENTS = new Set(["response.completed", "response.failed", "response.incomplete"]);
const PENDING = new Set(["queued", "in_progress"]);

let client = null;
let model = "gpt-4o";
let protocol = 1;
let tools = [];
// One line reader for requests and, during a run, the harness's `tool_output` answers.
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();

function send(message) {
  process.stdout.write(JSON.stringify({ protocol, ...message }) + "\n");
}

async function readMessage() {
  for (;;) {
    const { value, done } = await lines.next();
    if (done) return null;
    if (value.trim()) return JSON.parse(value);
  }
}

function offered() {
  return tools.length ? { tools } : {};
}

function functionCalls(response) {
  if (response?.status !== "completed") return [];
  return (response.output ?? []).filter((item) => item.type === "function_call");
}

// Protocol 2: the harness runs its tool. Ask with a `tool_call` line, read its `tool_output` line.
async function runTool(id, call) {
  send({ type: "tool_call", id, call_id: call.call_id, name: call.name, arguments: call.arguments });
  const answer = await readMessage();
  if (answer === null) throw new Error("stdin closed while waiting for a tool_output line");
  return String(answer.output);
}

// Run each of the response's calls once, then create the follow-up with their outputs.
async function submitOutputs(id, response, stream) {
  const input = [];
  for (const call of functionCalls(response)) {
    input.push({ type: "function_call_output", call_id: call.call_id, output: await runTool(id, call) });
  }
  return client.responses.create({
    model, input, previous_response_id: response.id, background: true, stream, ...offered(),
  });
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
  let response = state
    ? await client.responses.retrieve(state.response_id)
    : await client.responses.create({ model, input: prompt ?? "", background: true, ...offered() });
  while (functionCalls(response).length) response = await submitOutputs(id, response, false);
  const token = PENDING.has(response.status) ? dumpToken(response.id, null) : null;
  const text = ["completed", "incomplete"].includes(response.status) ? response.output_text ?? "" : "";
  send({ type: "result", id, text, token, status: response.status, error: ending(response), kind: response.status });
}

// `opened`: a tool loop's follow-up stream, after `count` updates of this request; until its first event
// the position is still the end of the response that called the tool (`token`).
async function streamCall(id, prompt, state, token, maxUpdates, count = 0, opened = null) {
  let responseId = state?.response_id ?? null;
  let stream = opened;
  if (stream === null) {
    stream = state
      ? await client.responses.retrieve(
          responseId,
          state.sequence_number === undefined ? { stream: true } : { stream: true, starting_after: state.sequence_number },
        )
      : await client.responses.create({ model, input: prompt ?? "", background: true, stream: true, ...offered() });
  }
  let last = token;
  let status = null;
  let error = null;
  let calling = null; // the response ended with function calls: the tool loop goes on
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
      if (TERMINAL_EVENTS.has(event.type) && !functionCalls(event.response).length) {
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
      if (event.type === "response.completed" && functionCalls(event.response).length) {
        calling = event.response;
        break; // leaving the loop closes this stream; the follow-up is another one
      }
    }
  } catch (dropped) {
    send({ type: "result", id, token: last, error: `stream dropped: ${oneLine(dropped)}` });
    return;
  }
  if (calling !== null) {
    const followUp = await submitOutputs(id, calling, true);
    await streamCall(id, null, loadToken(last), last, maxUpdates, count, followUp);
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
    // Protocol 2 when the harness offers it: its tools, and `tool_call` lines to run them.
    if ((request.protocols ?? []).includes(2)) [protocol, tools] = [2, request.tools ?? []];
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
for (let request = await readMessage(); request !== null; request = await readMessage()) {
  await handle(request);
}
