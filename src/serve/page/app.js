// The whitebox viewer: talks to the server's /api requests (docs/viewer.md) and draws the maps
// itself, from their values, so that opacity, colour scale and the value under the cursor need
// no new request. The state that names a view (image, methods, target) lives in the URL's hash.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { info: null, offset: 0, limit: 48, total: 0, image: null, maps: [], concepts: [] };

// ---- requests --------------------------------------------------------------------------------

async function request(url, options) {
  const response = await fetch(url, options);
  if (!response.ok) {
    let reason = response.statusText;
    try { reason = (await response.json()).error; } catch (e) { /* not JSON */ }
    throw new Error(reason);
  }
  return response;
}
const getJson = async (url, options) => (await request(url, options)).json();

function query(fields) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined && value !== null && value !== "") q.set(key, value);
  }
  return q.toString();
}

// A .npy file of float32 values: {shape, data}.
function parseNpy(buffer) {
  const bytes = new Uint8Array(buffer);
  const headerLength = bytes[8] | (bytes[9] << 8);
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength));
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(",").filter((s) => s.trim()).map(Number);
  return { shape, data: new Float32Array(buffer, 10 + headerLength) };
}

// Runs a computation as a job, showing its progress in `bar`, until its result is ready. The
// returned promise fails when the job fails or is cancelled (`cancel` gets the function to do so).
async function runJob(fields, bar, cancel) {
  let job = await getJson("/api/jobs?" + query(fields), { method: "POST" });
  if (cancel) cancel(() => job.id && fetch("/api/jobs/" + job.id, { method: "DELETE" }));
  while (job.state === "queued" || job.state === "running") {
    if (bar && job.planned) bar.value = job.done / job.planned;
    else if (bar) bar.removeAttribute("value");  // indeterminate
    await new Promise((resolve) => setTimeout(resolve, 250));
    job = await getJson("/api/jobs/" + job.id);
  }
  if (job.state === "failed") throw new Error(job.error);
  if (job.state === "cancelled") throw new Error("cancelled");
}

// ---- colours ---------------------------------------------------------------------------------

// Jet and a red-white-blue diverging map, the colours of the report and `whitebox explain`.
function jet(t) {
  const c = (x) => Math.round(255 * Math.min(1, Math.max(0, x)));
  return [c(1.5 - Math.abs(4 * t - 3)), c(1.5 - Math.abs(4 * t - 2)), c(1.5 - Math.abs(4 * t - 1))];
}
function redBlue(t) {  // t in [-1, 1]
  const a = Math.min(1, Math.abs(t));
  return t >= 0 ? [255, Math.round(255 * (1 - a)), Math.round(255 * (1 - a))]
                : [Math.round(255 * (1 - a)), Math.round(255 * (1 - a)), 255];
}

// The value at the 99th percentile of a map's magnitudes (its positive part when unsigned).
function scaleOf(data, signed) {
  const magnitudes = Array.from(data, (v) => (signed ? Math.abs(v) : Math.max(v, 0))).sort((a, b) => a - b);
  return magnitudes[Math.min(magnitudes.length - 1, Math.floor(0.99 * magnitudes.length))] || 1;
}

// The scale a map of the image's maps is drawn with: its own, or with the shared colour scale
// the largest of them all.
function scaleFor(entry) {
  return $("shared").checked ? Math.max(...state.maps.filter((m) => m.values).map((m) => m.scale)) : entry.scale;
}

function draw(entry, scale = scaleFor(entry)) {
  const { canvas, values, meta } = entry;
  const [height, width] = values.shape;
  const context = canvas.getContext("2d");
  const alpha = Number($("opacity").value);
  context.drawImage(state.photo, 0, 0, width, height);
  const picture = context.getImageData(0, 0, width, height);
  const pixels = picture.data;
  for (let i = 0; i < width * height; ++i) {
    const v = values.data[i] / scale;
    // A signed map covers the photo in proportion to |v|: where it is zero, the photo shows.
    const clipped = meta.signed ? Math.max(-1, Math.min(1, v)) : Math.max(0, Math.min(1, v));
    const [r, g, b] = meta.signed ? redBlue(clipped) : jet(clipped);
    const a = meta.signed ? alpha * Math.abs(clipped) : alpha;
    pixels[4 * i] = (1 - a) * pixels[4 * i] + a * r;
    pixels[4 * i + 1] = (1 - a) * pixels[4 * i + 1] + a * g;
    pixels[4 * i + 2] = (1 - a) * pixels[4 * i + 2] + a * b;
  }
  context.putImageData(picture, 0, 0);
  canvas.dataset.state = "drawn";
}
function redraw() {
  state.maps.filter((m) => m.values).forEach((m) => draw(m));
  state.concepts.forEach((c) => draw(c, c.scale));  // each concept on its own scale
}

// ---- the gallery -----------------------------------------------------------------------------

async function loadGallery() {
  const page = await getJson("/api/images?" + query({ q: $("search").value, offset: state.offset, limit: state.limit }));
  state.total = page.total;
  const thumbs = $("thumbs");
  thumbs.replaceChildren();
  for (const image of page.images) {
    const item = document.createElement("button");
    item.className = "thumb" + (image.name === state.image ? " chosen" : "");
    item.title = image.name + (image.label ? " — " + image.label : "");
    item.dataset.name = image.name;
    const img = document.createElement("img");
    img.loading = "lazy";
    img.src = "/api/image?" + query({ image: image.name, size: "thumb" });
    const caption = document.createElement("span");
    caption.textContent = image.name;
    item.append(img, caption);
    item.onclick = () => { setHash({ image: image.name, methods: chosenMethods().join(",") }); };
    thumbs.append(item);
  }
  const pages = Math.max(1, Math.ceil(state.total / state.limit));
  $("page").textContent = `${Math.floor(state.offset / state.limit) + 1} / ${pages} (${state.total})`;
  $("prev").disabled = state.offset === 0;
  $("next").disabled = state.offset + state.limit >= state.total;
}

// ---- methods and their parameters ------------------------------------------------------------

function buildMethodPicker() {
  const families = new Map();
  for (const method of state.info.methods) {
    if (!families.has(method.family)) families.set(method.family, []);
    families.get(method.family).push(method);
  }
  const root = $("families");
  for (const [family, methods] of families) {
    const box = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.textContent = family;
    box.append(legend);
    for (const method of methods) {
      const row = document.createElement("div");
      row.className = "method";
      const label = document.createElement("label");
      const check = document.createElement("input");
      check.type = "checkbox";
      check.value = method.name;
      check.name = "method";
      label.append(check, " " + method.name);
      label.title = method.summary;
      row.append(label);
      if (method.parameters.length) {
        const details = document.createElement("details");
        const summary = document.createElement("summary");
        summary.textContent = "⚙";
        summary.title = "parameters";
        details.append(summary);
        for (const p of method.parameters) {
          const field = document.createElement("label");
          field.className = "param";
          field.title = p.meaning + " (" + p.describe + ")";
          let input;
          if (p.type === "choice") {
            input = document.createElement("select");
            for (const choice of p.choices) input.add(new Option(choice, choice));
            input.value = p.default;
          } else {
            input = document.createElement("input");
            input.placeholder = p.default;
            if (p.type !== "text") { input.type = "number"; input.step = p.type === "integer" ? 1 : "any"; }
            if (p.lowest !== undefined) input.min = p.lowest;
            if (p.highest !== undefined) input.max = p.highest;
          }
          input.dataset.method = method.name;
          input.dataset.param = p.name;
          input.dataset.fallback = p.default;
          field.append(p.name + " ", input);
          details.append(field);
        }
        row.append(details);
      }
      box.append(row);
    }
    root.append(box);
  }
}

const chosenMethods = () => Array.from(document.querySelectorAll("input[name=method]:checked"), (c) => c.value);

// The fields of a method's request: its changed parameters as p.NAME, and the CAM layer.
function methodFields(name) {
  const fields = {};
  for (const input of document.querySelectorAll(`[data-method="${CSS.escape(name)}"]`)) {
    if (input.value !== "" && input.value !== input.dataset.fallback) fields["p." + input.dataset.param] = input.value;
  }
  const method = state.info.methods.find((m) => m.name === name);
  if ($("layer").value && method.parameters.some((p) => p.name === "layer")) fields["p.layer"] = $("layer").value;
  return fields;
}

// ---- one image -------------------------------------------------------------------------------

async function openImage(name) {
  state.image = name;
  $("empty").hidden = true;
  $("chosen").hidden = false;
  $("photo-name").textContent = name;
  for (const t of document.querySelectorAll(".thumb")) t.classList.toggle("chosen", t.dataset.name === name);
  state.photo = new Image();
  const loaded = new Promise((resolve, reject) => { state.photo.onload = resolve; state.photo.onerror = reject; });
  state.photo.src = "/api/image?" + query({ image: name });
  $("photo").src = state.photo.src;
  $("maps").replaceChildren();
  $("concept-maps").replaceChildren();
  state.maps = [];
  state.concepts = [];
  const classes = $("classes");
  classes.replaceChildren();
  try {
    const prediction = await getJson("/api/predict?" + query({ image: name, top: 5 }));
    for (const c of prediction.classes) {
      const li = document.createElement("li");
      const pick = document.createElement("a");
      pick.href = "#";
      pick.textContent = `${c.label} (${c.index})`;
      pick.onclick = (event) => {
        event.preventDefault();
        setHash({ image: name, methods: chosenMethods().join(","), target: String(c.index) });
      };
      li.append(pick, ` ${(100 * c.probability).toFixed(1)}%`);
      classes.append(li);
    }
  } catch (error) {
    classes.textContent = "prediction failed: " + error.message;
  }
  await loaded;
}

function mapCard(name) {
  const card = document.createElement("figure");
  card.className = "map";
  card.dataset.method = name;
  const canvas = document.createElement("canvas");
  const caption = document.createElement("figcaption");
  caption.textContent = name;
  const bar = document.createElement("progress");
  const cancel = document.createElement("button");
  cancel.textContent = "cancel";
  const message = document.createElement("div");
  message.className = "message";
  card.append(canvas, caption, bar, cancel, message);
  $("maps").append(card);
  return { card, canvas, caption, bar, cancel, message };
}

async function explainOne(name, target) {
  const ui = mapCard(name);
  const fields = { image: state.image, method: name, target, ...methodFields(name) };
  const entry = { name, canvas: ui.canvas, fields };
  state.maps.push(entry);
  try {
    await runJob({ job: "map", ...fields }, ui.bar, (stop) => { ui.cancel.onclick = stop; });
    const [meta, buffer] = await Promise.all([
      getJson("/api/map?" + query({ ...fields, format: "json" })),
      request("/api/map?" + query({ ...fields, format: "npy" })).then((r) => r.arrayBuffer()),
    ]);
    entry.meta = meta;
    entry.values = parseNpy(buffer);
    entry.scale = scaleOf(entry.values.data, meta.signed);
    ui.canvas.width = entry.values.shape[1];
    ui.canvas.height = entry.values.shape[0];
    ui.caption.textContent = `${name} · ${meta.label} · ${meta.seconds.toFixed(2)} s`;
    ui.bar.remove();
    ui.cancel.remove();
    const curves = document.createElement("button");
    curves.textContent = "deletion / insertion";
    curves.onclick = () => showCurves(entry, ui);
    ui.card.append(curves);
    ui.canvas.onmousemove = (event) => {
      const box = ui.canvas.getBoundingClientRect();
      const x = Math.floor(((event.clientX - box.left) / box.width) * entry.values.shape[1]);
      const y = Math.floor(((event.clientY - box.top) / box.height) * entry.values.shape[0]);
      const v = entry.values.data[y * entry.values.shape[1] + x];
      if (v !== undefined) $("hover").textContent = `${name} (${x}, ${y}): ${v.toPrecision(4)}`;
    };
    redraw();
  } catch (error) {
    ui.bar.remove();
    ui.cancel.remove();
    ui.message.textContent = error.message;
    ui.card.classList.add("failed");
    state.maps.splice(state.maps.indexOf(entry), 1);
  }
}

async function explainChosen() {
  if (!state.image) return;
  $("maps").replaceChildren();
  state.maps = [];
  const target = $("target").value || "top1";
  await Promise.all(chosenMethods().map((name) => explainOne(name, target)));
}

// Deletion and insertion curves as one small SVG plot.
async function showCurves(entry, ui) {
  const plot = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  plot.setAttribute("viewBox", "0 0 100 60");
  plot.classList.add("curves");
  ui.card.append(plot);
  const legend = document.createElement("div");
  legend.className = "legend";
  ui.card.append(legend);
  for (const [kind, colour] of [["deletion", "#c0392b"], ["insertion", "#2471a3"]]) {
    try {
      await runJob({ job: "curve", curve: kind, ...entry.fields });
      const curve = await getJson("/api/curve?" + query({ ...entry.fields, curve: kind }));
      const top = Math.max(...curve.score, 1e-9);
      const points = curve.fraction.map((f, i) => `${(f * 100).toFixed(2)},${(58 - (curve.score[i] / top) * 56).toFixed(2)}`);
      const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
      line.setAttribute("points", points.join(" "));
      line.setAttribute("stroke", colour);
      plot.append(line);
      legend.append(`${kind} AUC ${curve.auc.toFixed(3)}  `);
    } catch (error) {
      legend.append(`${kind}: ${error.message}  `);
    }
  }
}

// ---- concepts --------------------------------------------------------------------------------

async function showConcepts() {
  const root = $("concept-maps");
  root.replaceChildren("computing…");
  state.concepts = [];
  const fields = { image: state.image, layer: $("concept-layer").value, method: $("concept-method").value,
                   top: $("concept-top").value, target: $("target").value || "top1" };
  try {
    await runJob({ job: "concepts", ...fields });
    const [meta, buffer] = await Promise.all([
      getJson("/api/concepts?" + query(fields)),
      request("/api/concepts?" + query({ ...fields, format: "npy" })).then((r) => r.arrayBuffer()),
    ]);
    const maps = parseNpy(buffer);
    const [count, height, width] = maps.shape;
    root.replaceChildren();
    for (let k = 0; k < count; ++k) {
      const values = { shape: [height, width], data: maps.data.subarray(k * height * width, (k + 1) * height * width) };
      const canvas = document.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
      const entry = { canvas, values, meta: { signed: true }, scale: scaleOf(values.data, true) };
      const figure = document.createElement("figure");
      figure.className = "map";
      const caption = document.createElement("figcaption");
      caption.textContent = `channel ${meta.channels[k]} · ${(100 * meta.shares[k]).toFixed(1)}%`;
      figure.append(canvas, caption);
      root.append(figure);
      state.concepts.push(entry);
      draw(entry, entry.scale);
    }
  } catch (error) {
    root.replaceChildren("concepts failed: " + error.message);
  }
}

// ---- the data-set view -----------------------------------------------------------------------

function table(headers, rows, onRow) {
  const element = document.createElement("table");
  const head = element.createTHead().insertRow();
  let sorted = { column: -1, up: true };
  const body = element.createTBody();
  const fill = () => {
    body.replaceChildren();
    for (const row of rows) {
      const tr = body.insertRow();
      for (const cell of row.cells) tr.insertCell().textContent =
        typeof cell === "number" && !Number.isInteger(cell) ? cell.toPrecision(4) : cell ?? "–";
      if (onRow) tr.onclick = () => onRow(row);
    }
  };
  headers.forEach((title, column) => {
    const th = document.createElement("th");
    th.textContent = title;
    th.onclick = () => {
      sorted = { column, up: sorted.column === column ? !sorted.up : true };
      rows.sort((a, b) => {
        const x = a.cells[column], y = b.cells[column];
        const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
        return sorted.up ? order : -order;
      });
      fill();
    };
    head.append(th);
  });
  fill();
  return element;
}

async function loadDataset() {
  const evaluation = await getJson("/api/eval");
  const summaryRows = [];
  const metrics = new Set();
  for (const [method, values] of Object.entries(evaluation.summary)) {
    for (const [metric, s] of Object.entries(values)) {
      metrics.add(metric);
      summaryRows.push({ cells: [method, metric, s.mean, s.std, s.ci95[0], s.ci95[1], s.n, s.higher_is_better ? "higher" : "lower"] });
    }
  }
  $("summary").replaceChildren(table(["method", "metric", "mean", "std", "95% low", "95% high", "n", "better"], summaryRows));
  const columns = Array.from(metrics);
  const rows = [];
  for (const [image, methods] of Object.entries(evaluation.images)) {
    for (const [method, values] of Object.entries(methods)) {
      rows.push({ image, method, cells: [image, method, ...columns.map((c) => values[c])] });
    }
  }
  $("per-image").replaceChildren(table(["image", "method", ...columns], rows, (row) => {
    showView("images");
    setHash({ image: row.image, methods: row.method });
  }));
}

function showView(name) {
  $("view-images").hidden = name !== "images";
  $("view-dataset").hidden = name !== "dataset";
  $("tab-images").classList.toggle("active", name === "images");
  $("tab-dataset").classList.toggle("active", name === "dataset");
}

// ---- the hash: #image=NAME&methods=a,b&target=top1, or #view=dataset ---------------------------

function setHash(fields) {
  const next = "#" + query(fields);
  if (location.hash === next) applyHash(); else location.hash = next;
}

async function applyHash() {
  const fields = new URLSearchParams(location.hash.slice(1));
  if (fields.get("view") === "dataset" && state.info.evaluation) {
    showView("dataset");
    await loadDataset().catch((e) => { $("summary").textContent = e.message; });
    document.body.dataset.ready = "true";
    return;
  }
  if (fields.has("target")) $("target").value = fields.get("target");
  const methods = (fields.get("methods") || "").split(",").filter(Boolean);
  if (methods.length) {
    for (const check of document.querySelectorAll("input[name=method]")) check.checked = methods.includes(check.value);
  }
  showView("images");
  if (fields.get("image")) {
    await openImage(fields.get("image"));
    if (methods.length) await explainChosen();
  }
  document.body.dataset.ready = "true";
}

// ---- start -----------------------------------------------------------------------------------

async function start() {
  state.info = await getJson("/api/info");
  $("model").textContent = `${state.info.model} · ${state.info.images} images`;
  buildMethodPicker();
  for (const layer of state.info.layers) {
    $("layer").add(new Option(layer, layer));
    $("concept-layer").add(new Option(layer, layer));
  }
  $("concept-layer").value = state.info.layers[state.info.layers.length - 1];
  for (const method of state.info.concept_methods) $("concept-method").add(new Option(method, method));
  if (state.info.evaluation) {
    $("tab-dataset").hidden = false;
    $("tab-dataset").onclick = () => setHash({ view: "dataset" });
  }
  $("tab-images").onclick = () => setHash({ image: state.image, methods: chosenMethods().join(",") });
  $("search").oninput = () => { state.offset = 0; loadGallery(); };
  $("prev").onclick = () => { state.offset = Math.max(0, state.offset - state.limit); loadGallery(); };
  $("next").onclick = () => { state.offset += state.limit; loadGallery(); };
  $("explain").onclick = () => setHash({ image: state.image, methods: chosenMethods().join(","), target: $("target").value });
  $("opacity").oninput = redraw;
  $("shared").onchange = redraw;
  $("concepts").onclick = showConcepts;
  window.onhashchange = applyHash;
  await loadGallery();
  await applyHash();
}

start().catch((error) => {
  document.body.dataset.ready = "error";
  $("empty").textContent = "The viewer could not start: " + error.message;
});
