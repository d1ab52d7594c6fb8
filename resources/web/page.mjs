// The demo page's own code: it loads ONNX Runtime Web, tokenizers.js and the model, from the page itself
// (demo.html: gzip + base64 in the payload) or from files beside it (web/index.html), then classifies texts in
// the browser. Tests and benchmarks drive it through `window.demo` and read the element with id "label".

const payload = JSON.parse(document.getElementById("payload").textContent);
const $ = (id) => document.getElementById(id);

async function bytes(part) {
  if (part.file) {
    const response = await fetch(part.file);
    if (!response.ok) throw new Error(`${part.file}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  }
  const packed = Uint8Array.from(atob(part.gzip), (c) => c.charCodeAt(0));
  const stream = new Blob([packed]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function importModule(part) {
  if (part.file) return import(new URL(part.file, document.baseURI).href);
  return import(URL.createObjectURL(new Blob([await bytes(part)], { type: "text/javascript" })));
}

async function load() {
  const files = payload.files;
  const [ort, { Tokenizer }, { textEncoder }, wasm, model, tokenizer] = await Promise.all([
    importModule(files.ort), importModule(files.tokenizers), importModule(files.encode),
    bytes(files.wasm), bytes(files.model), bytes(files.tokenizer)]);
  ort.env.wasm.wasmBinary = wasm;
  // A page opened from disk cannot share memory between threads; a host that isolates it lets ORT choose.
  if (!self.crossOriginIsolated) ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"] });
  const encode = textEncoder(Tokenizer, JSON.parse(new TextDecoder().decode(tokenizer)));
  return { ort, session, encode, threads: ort.env.wasm.numThreads };
}

function softmax(logits) {
  const top = Math.max(...logits);
  const exp = logits.map((x) => Math.exp(x - top));
  const sum = exp.reduce((a, b) => a + b, 0);
  return exp.map((x) => x / sum);
}

async function classify(runtime, text) {
  const started = performance.now();
  const ids = runtime.encode(text);
  const columns = { input_ids: ids, attention_mask: ids.map(() => 1), token_type_ids: ids.map(() => 0) };
  const feeds = {};
  for (const name of runtime.session.inputNames) {
    if (!(name in columns)) throw new Error(`the model needs input '${name}', which this page cannot make`);
    feeds[name] = new runtime.ort.Tensor("int64", BigInt64Array.from(columns[name], BigInt), [1, ids.length]);
  }
  const output = await runtime.session.run(feeds);
  const probabilities = softmax(Array.from(output[runtime.session.outputNames[0]].data));
  const best = probabilities.indexOf(Math.max(...probabilities));
  return { label: payload.labels[best], probabilities, ms: performance.now() - started };
}

function show(result, threads) {
  $("label").textContent = result.label;
  $("latency").textContent = `${result.ms.toFixed(1)} ms in this browser (tokenizer and model, WebAssembly, ` +
    `${threads} thread${threads === 1 ? "" : "s"})`;
  $("bars").replaceChildren(...payload.labels.map((name, i) => {
    const bar = document.createElement("div");
    bar.className = name === result.label ? "bar best" : "bar";
    const percent = (100 * result.probabilities[i]).toFixed(1);
    bar.innerHTML = `<span></span><div class="track"><div class="fill" style="width:${percent}%"></div></div>` +
      `<span>${percent}%</span>`;
    bar.firstChild.textContent = name;
    return bar;
  }));
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function fillCard() {
  document.title = `${payload.title}: text classifier demo`;
  $("title").textContent = `${payload.title}: ${payload.labels.join(" / ")}`;
  $("headline").textContent = payload.figures.headline;
  $("basis").textContent = payload.figures.basis;
  const rows = [...payload.figures.rows, ["Quality gate", payload.gate],
    ["Input", `the first ${payload.max_length} tokens of a text`]];
  $("card").replaceChildren(...rows.map(([name, value]) => {
    const row = document.createElement("tr");
    row.append(...[name, value].map((text) => Object.assign(document.createElement("td"), { textContent: text })));
    return row;
  }));
}

async function start() {
  fillCard();
  const runtime = await load();
  const classifyBox = async () => {
    const text = $("text").value;
    $("share").href = `#text=${encodeURIComponent(text)}`;
    const result = await classify(runtime, text);
    show(result, runtime.threads);
    window.demo.firstLabelMs ??= performance.now(); // since the page was opened (navigation start)
    return result;
  };
  const classifyText = async (text) => {
    $("text").value = text;
    await classifyBox();
    return $("label").textContent;
  };
  const runSamples = async () => {
    await classify(runtime, payload.samples[0].text); // the first run allocates; not what a running page sees
    const times = [];
    let agree = 0;
    for (const sample of payload.samples) {
      const result = await classify(runtime, sample.text);
      times.push(result.ms);
      agree += result.label === sample.label;
    }
    const n = payload.samples.length;
    $("samples-result").textContent = `Median ${median(times).toFixed(2)} ms a text over ${n} texts, one at a time ` +
      `(${runtime.threads} thread${runtime.threads === 1 ? "" : "s"}); the same label as the workbench on ${agree} ` +
      `of ${n} (${(100 * agree / n).toFixed(0)}%).`;
    return { medianMs: median(times), agreement: agree / n };
  };
  Object.assign(window.demo, { classifyText, runSamples });
  $("classify").onclick = classifyBox;
  $("samples").onclick = runSamples;
  $("classify").disabled = $("samples").disabled = false;
  $("status").textContent = `Ready: the model runs in this browser, offline (${performance.now().toFixed(0)} ms from ` +
    "opening the page).";
  const example = new URLSearchParams(location.hash.slice(1)).get("text");
  if (example !== null) await classifyText(example);
}

window.demo = {};
window.demo.ready = start().catch((error) => {
  $("status").textContent = `This page could not start: ${error.message || error}`;
  $("status").className = "error";
  throw error;
});
