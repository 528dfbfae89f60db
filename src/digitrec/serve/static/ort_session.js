// ONNX Runtime Web (WebAssembly, served from this server's /static/ort/, fetched from npm at
// install by scripts/vendor_onnxruntime_web.sh) and a model from this server, for the in-browser
// readers (local_reader.js, local_digit.js).
"use strict";

const ORT_MODULE = "/static/ort/ort.wasm.min.mjs";

// -> {ort, session, input, output, response}: the session of the model at `url` and the response
// it came in (its headers carry the model's settings); throws when either cannot be had.
export async function openSession(url) {
  const ort = await import(ORT_MODULE);
  ort.env.wasm.numThreads = 1; // no cross-origin isolation here: one thread, no workers
  ort.env.wasm.wasmPaths = "/static/ort/";
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  const model = new Uint8Array(await response.arrayBuffer());
  const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"] });
  const [input] = session.inputNames;
  const [output] = session.outputNames;
  return { ort, session, input, output, response };
}
