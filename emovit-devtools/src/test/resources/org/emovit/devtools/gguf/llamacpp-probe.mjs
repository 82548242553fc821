// What llama.cpp makes of a GGUF file: node llamacpp-probe.mjs NODE_LLAMA_CPP_DIR MODEL.gguf TEXT
// Prints one JSON line: the file's training context, TEXT's token ids, and the log-probabilities of every
// vocabulary entry for the token after BOS + TEXT (one forward pass over every weight of the model).
import {createRequire} from "node:module";
import {join} from "node:path";
import {pathToFileURL} from "node:url";

const [dir, modelPath, text] = process.argv.slice(2);
// the package is found in its own install folder, so this script can live anywhere
const {getLlama} = await import(pathToFileURL(createRequire(join(dir, "/")).resolve("node-llama-cpp")).href);
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath, gpuLayers: 0});
const context = await model.createContext({contextSize: 64, batchSize: 64, threads: 1, sequences: 1});
const tokens = model.tokenize(text, false);
const logProbs = [];
for await (const out of context.getSequence().evaluateWithMetadata([1, ...tokens], {probabilities: true}, {temperature: 0})) {
  for (const [token, p] of out.probabilities) logProbs[token] = Math.log(p);
  break;
}
console.log(JSON.stringify({trainContextSize: model.trainContextSize, tokens, logProbs}));
await context.dispose(); await model.dispose(); await llama.dispose();
