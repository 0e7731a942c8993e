// An agent for the bgr harness on the `openai` npm package, speaking the cmd protocol
// (docs/cmd-protocol.md) on stdin/stdout: `bgr run --agent "cmd:node examples/node_driver/driver.mjs"`.
//
// Every call goes through the SDK's Responses API with `background: true`, the way a Node.js
// application would use it. The harness starts this program with OPENAI_BASE_URL, OPENAI_API_KEY,
// BGR_MODEL and BGR_TIME_SCALE set, sends one JSON request per line on stdin and reads JSON lines
// from stdout. Stdout is for protocol lines only: logs go to stderr.
//
// The continuation token is JSON text: {"response_id": "resp_...", "sequence_number": 12}
// (sequence_number only when streaming). It holds everything needed to continue, so a token
// written by one process works in the next one. It is null once the response is terminal.
//
// Install with `npm ci` in this folder (package-lock.json pins the SDK).

import { createInterface } from "node:readline";
import OpenAI, { APIError } from "openai";

const PROTOCOL = 1;
const NAME = "node-openai-responses";
const TERMINAL_STATUSES = new Set(["completed", "failed", "cancelled", "incomplete"]);
// The events that end a stream; they carry the final Response. (A cancel ends a stream with none.)
const TERMINAL_EVENTS = new Set(["response.completed", "response.failed", "response.incomplete"]);
const CAP_SECONDS = 30;
const MAX_FAILURES = 3;
// Real seconds per scenario second: every wait below is in scenario seconds.
const TIME_SCALE = Number(process.env.BGR_TIME_SCALE ?? "1");

function send(message) {
  // Writes to a pipe are synchronous on POSIX, so each line leaves whole and in order.
  process.stdout.write(JSON.stringify({ protocol: PROTOCOL, ...message }) + "\n");
}

function makeToken(responseId, sequenceNumber = null) {
  const token = { response_id: responseId };
  if (sequenceNumber !== null) token.sequence_number = sequenceNumber;
  return JSON.stringify(token);
}

function readToken(token) {
  const data = JSON.parse(token);
  return [data.response_id, data.sequence_number ?? null];
}

function oneLine(text) {
  return String(text).split(/\s+/).filter(Boolean).join(" ");
}

function describe(error) {
  return oneLine(`${error?.constructor?.name ?? "Error"}: ${error?.message ?? error}`);
}

function failure(response) {
  if (response.status === "failed") {
    const error = response.error;
    return error ? oneLine(`${error.code}: ${error.message}`) : "the response failed";
  }
  if (response.status === "incomplete") {
    return `the response is incomplete: ${response.incomplete_details?.reason ?? "no reason given"}`;
  }
  if (response.status === "cancelled") return "the response was cancelled";
  return null;
}

function sleep(scenarioSeconds) {
  return new Promise((resolve) => setTimeout(resolve, scenarioSeconds * TIME_SCALE * 1000));
}

async function runOnce(client, model, prompt, token) {
  const response =
    token === null
      ? await client.responses.create({ model, input: prompt ?? "", background: true })
      : await client.responses.retrieve(readToken(token)[0]); // a sequence number does not matter to a poll
  if (!TERMINAL_STATUSES.has(response.status)) {
    return { text: "", token: makeToken(response.id), status: response.status, error: null };
  }
  return { text: response.output_text ?? "", token: null, status: response.status, error: failure(response) };
}

async function runStream(client, model, prompt, token, requestId, maxUpdates) {
  let responseId = null;
  let stream;
  if (token === null) {
    stream = await client.responses.create({ model, input: prompt ?? "", background: true, stream: true });
  } else {
    // Resume: the server sends only the events after `sequence_number`, so nothing repeats.
    const [id, after] = readToken(token);
    responseId = id;
    const query = after === null ? { stream: true } : { stream: true, starting_after: after };
    stream = await client.responses.retrieve(id, query);
  }
  const events = stream[Symbol.asyncIterator]();
  if (maxUpdates === 0) {
    // Asked to deliver nothing: on a start the first event still says which response now exists.
    if (token === null) {
      const first = await events.next();
      token = !first.done && first.value.response ? makeToken(first.value.response.id) : null;
    }
    stream.controller.abort();
    return { token, status: null, error: null, cut: true };
  }
  let sent = 0;
  let status = null;
  let error = null;
  let cut = false;
  let finished = false;
  let lastToken = token;
  // The last sequence number delivered: an event repeated after a reconnect is dropped, a gap reported.
  let delivered = token === null ? null : readToken(token)[1];
  try {
    for (;;) {
      const next = await events.next();
      if (next.done) break;
      const event = next.value;
      if (delivered !== null && event.sequence_number <= delivered) continue;
      if (delivered !== null && event.sequence_number > delivered + 1) {
        error = `events ${delivered + 1}..${event.sequence_number - 1} never arrived (a sequence gap)`;
        break;
      }
      delivered = event.sequence_number;
      if (event.response) {
        responseId = event.response.id;
        status = event.response.status;
      }
      if (TERMINAL_EVENTS.has(event.type)) {
        finished = true;
        lastToken = null;
        error = failure(event.response);
      } else {
        lastToken = makeToken(responseId, event.sequence_number);
      }
      const text = event.type === "response.output_text.delta" ? event.delta : "";
      send({ type: "update", id: requestId, text, token: lastToken, kind: event.type });
      sent += 1;
      if (finished) break;
      if (maxUpdates !== null && maxUpdates !== undefined && sent >= maxUpdates) {
        cut = true; // stop reading, as if the connection had dropped here
        break;
      }
    }
  } catch (exc) {
    // A dropped connection, an HTTP error: report it, keep the position.
    error = describe(exc);
  } finally {
    stream.controller.abort(); // closes the HTTP connection (how a cut looks to the server)
  }
  if (!finished && !cut && error === null && responseId !== null) {
    // The stream ended without a closing event (a cancel ends it so): ask where the response stands.
    const response = await client.responses.retrieve(responseId);
    status = response.status;
    if (TERMINAL_STATUSES.has(response.status)) {
      lastToken = null;
      error = failure(response);
    } else {
      error = "the stream ended before the response finished";
    }
  }
  return { token: lastToken, status, error, cut };
}

function retryAfterSeconds(error) {
  // Real seconds on the wire (`retry-after-ms`, else `Retry-After`), once the SDK's own retries are spent.
  const headers = error.headers;
  const ms = headers?.get?.("retry-after-ms");
  if (ms != null && !Number.isNaN(Number(ms))) return Number(ms) / 1000;
  const seconds = headers?.get?.("retry-after");
  if (seconds != null && !Number.isNaN(Number(seconds))) return Number(seconds);
  return null;
}

// The lesson's Demo 3 with its bounds: wait 1 s, poll, double the wait up to 30 s. Every request counts
// toward maxPolls. A 429 pauses the doubling (the next wait is the longer of its Retry-After and the
// pending one); a 5xx or a dropped connection is an unsuccessful poll, and the doubling goes on, up to 3
// failures in a row. The deadline bounds the scenario time spent, waits and polls alike.
async function pollUntilDone(client, model, token, maxPolls, deadline) {
  const started = performance.now();
  let delay = 1;
  let wait = 1;
  let failures = 0;
  for (let polls = 0; polls < maxPolls; polls += 1) {
    const elapsed = (performance.now() - started) / 1000 / TIME_SCALE;
    if (deadline !== null && deadline !== undefined && elapsed + wait > deadline) {
      const error = `timed out at the deadline of ${deadline} s after ${polls} polls; resume with the token`;
      return { token, status: null, error };
    }
    await sleep(wait);
    let result;
    try {
      result = await runOnce(client, model, null, token);
    } catch (exc) {
      failures += 1;
      if (!(exc instanceof APIError) || failures > MAX_FAILURES) throw exc;
      const asked = exc.status === 429 ? retryAfterSeconds(exc) : null;
      if (asked !== null) {
        wait = Math.max(asked / TIME_SCALE, delay);
        continue;
      }
      delay = Math.min(delay * 2, CAP_SECONDS);
      wait = delay;
      continue;
    }
    failures = 0;
    if (result.token === null || result.error) return result;
    token = result.token;
    delay = Math.min(delay * 2, CAP_SECONDS);
    wait = delay;
  }
  return { token, status: null, error: `timed out after ${maxPolls} polls; resume with the token` };
}

async function handle(client, model, request) {
  const requestId = request.id;
  const prompt = request.prompt ?? null;
  const token = request.token ?? null;
  let result;
  if (request.type === "poll_until_done") {
    try {
      result = await pollUntilDone(client, model, token, request.max_polls, request.deadline_seconds ?? null);
    } catch (exc) {
      result = { token, status: null, error: describe(exc) };
    }
    send({ type: "result", id: requestId, ...result });
    return;
  }
  if (request.type !== "run") {
    // Requests this driver does not know (a later protocol may add some) are declined, not fatal.
    send({ type: "unsupported", id: requestId, message: `unknown request type ${JSON.stringify(request.type)}` });
    return;
  }
  if ((prompt === null) === (token === null)) {
    // The contract's poll-without-input rule: a prompt starts a run, a token continues one, never both.
    const problem = prompt !== null ? "a prompt together with a continuation token" : "neither prompt nor token";
    send({ type: "result", id: requestId, token, status: null, error: `got ${problem}` });
    return;
  }
  try {
    result = request.stream
      ? await runStream(client, model, prompt, token, requestId, request.max_updates ?? null)
      : await runOnce(client, model, prompt, token);
  } catch (exc) {
    // The SDK raised (HTTP 4xx/5xx, connection): an error result, token unchanged.
    result = { token, status: null, error: describe(exc) };
  }
  send({ type: "result", id: requestId, ...result });
}

async function main() {
  // new OpenAI() reads OPENAI_BASE_URL and OPENAI_API_KEY from the environment the harness set.
  const client = new OpenAI();
  const model = process.env.BGR_MODEL ?? "gpt-4o";
  // One request per line, handled in order; the harness closes stdin when it wants the program to exit.
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const request = JSON.parse(line);
    if (request.type === "hello") {
      send({ type: "ready", id: request.id, name: NAME });
    } else {
      await handle(client, model, request);
    }
  }
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
