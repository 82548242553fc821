// One llama.cpp timing, through npm's node-llama-cpp (prebuilt CPU binaries), batch 1:
//   node bench.mjs NODE_LLAMA_CPP_DIR MODEL.gguf PROMPT_TOKENS NEW_TOKENS THREADS RUNS
// After loading and one warm-up (which also pages every weight in), RUNS times:
//   prefill = from handing over the prompt (BOS + PROMPT_TOKENS-1 fixed pseudo-random ids, one batch) to the first
//             sampled token: the prompt's forward pass, the last position's logits and a greedy pick;
//   decode  = the time from that token to NEW_TOKENS more, per token: each step one token's forward pass, logits
//             over the vocabulary and a greedy pick, as `emovit bench` times its decode steps.
// Prints one line "RESULT {json}" with the medians (and every run).
import {createRequire} from "node:module";
import {join} from "node:path";
import {pathToFileURL} from "node:url";

const [dir, modelPath, nPromptArg, nGenArg, threadsArg, runsArg] = process.argv.slice(2);
const nPrompt = +nPromptArg, nGen = +nGenArg, threads = +threadsArg, runs = +runsArg;
if (!(nPrompt > 1 && nGen > 0 && threads > 0 && runs > 0)) {
  console.error("bench.mjs: usage: NODE_LLAMA_CPP_DIR MODEL.gguf PROMPT_TOKENS(>1) NEW_TOKENS THREADS RUNS");
  process.exit(2);
}
// the package is taken from its install folder, so this script stays in the project
const {getLlama} = await import(pathToFileURL(createRequire(join(dir, "/")).resolve("node-llama-cpp")).href);
const now = () => Number(process.hrtime.bigint()) / 1e6;

let s = 12345;   // a fixed linear congruential sequence: the same prompt on every run and every machine
const next = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
const prompt = [1];
while (prompt.length < nPrompt) prompt.push(320 + Math.floor(next() * 31600));

const t0 = now();
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath, gpuLayers: 0});
const context = await model.createContext({
  contextSize: Math.max(256, nPrompt + nGen + 16), batchSize: nPrompt, threads, sequences: 1});
const seq = context.getSequence();
const loadMs = now() - t0;

async function once(newTokens) {
  const start = now();
  let first = 0, last = 0, n = 0;
  for await (const token of seq.evaluate(prompt, {temperature: 0})) {
    n++;
    if (n === 1) first = now();
    if (n === newTokens + 1) { last = now(); break; }
  }
  await seq.clearHistory();
  return {prefillMs: first - start, decodeMsPerToken: (last - first) / newTokens};
}
const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const w0 = now();
await once(2);
const warmupMs = now() - w0;
const timed = [];
for (let r = 0; r < runs; r++) timed.push(await once(nGen));
const round = x => Math.round(x * 10) / 10;
console.log("RESULT " + JSON.stringify({
  model: modelPath.split("/").pop(), threads: context.currentThreads ?? threads, promptTokens: nPrompt, newTokens: nGen,
  loadMs: Math.round(loadMs), warmupMs: Math.round(warmupMs),
  prefillMs: round(median(timed.map(t => t.prefillMs))), decodeMsPerToken: round(median(timed.map(t => t.decodeMsPerToken))),
  runs: timed.map(t => [round(t.prefillMs), round(t.decodeMsPerToken)])}));
await context.dispose(); await model.dispose(); await llama.dispose();
