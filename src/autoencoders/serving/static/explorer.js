// The latent-space explorer: plain canvas code, no library. The page's data (points,
// labels, the plane, image sprites) is inlined by autoencoders.serving.explorer; with a
// server behind the page ("live"), clicks and drawings go through the model's HTTP API.
"use strict";

(() => {
  const data = JSON.parse(document.getElementById("explorer-data").textContent);
  const [channels, height, width] = data.image_shape;
  const zoom = Math.max(1, Math.floor(112 / Math.max(height, width)));
  const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const plane = document.getElementById("plane");
  const ctx = plane.getContext("2d");
  const [x0, x1, y0, y1] = data.plane.bounds;
  const state = { hovered: -1, clicks: [], drawn: null };
  const $ = (id) => document.getElementById(id);

  // ------------------------------------------------------------ plane geometry
  const toPixel = ([u, v]) => [(u - x0) / (x1 - x0) * plane.width,
                               (y1 - v) / (y1 - y0) * plane.height];
  const toPlane = (px, py) => [x0 + px / plane.width * (x1 - x0),
                               y1 - py / plane.height * (y1 - y0)];
  const { origin, axes } = data.plane;
  const lift = ([u, v]) => origin.map((o, j) => o + u * axes[0][j] + v * axes[1][j]);
  const project = (code) => axes.map((axis) => axis.reduce((s, a, j) => s + a * (code[j] - origin[j]), 0));

  // ------------------------------------------------------------ images
  const loadImage = (url) => new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = reject;
    image.src = url;
  });
  const sprites = {};
  const ready = Promise.all(Object.entries(data.sprites).map(async ([name, sprite]) => {
    sprites[name] = { image: await loadImage(sprite.url), columns: sprite.columns };
  }));

  function showTiles(canvas, tiles) {  // tiles: [[sprite name, index], ...] side by side
    canvas.width = tiles.length * width * zoom;
    canvas.height = height * zoom;
    const c = canvas.getContext("2d");
    c.imageSmoothingEnabled = false;
    tiles.forEach(([name, index], k) => {
      const { image, columns } = sprites[name];
      const sx = (index % columns) * width, sy = Math.floor(index / columns) * height;
      c.drawImage(image, sx, sy, width, height, k * width * zoom, 0, width * zoom, height * zoom);
    });
    canvas.dataset.state = "ready";
  }

  async function showPng(canvas, blob) {  // a PNG row of images from the server
    const bitmap = await createImageBitmap(blob);
    canvas.width = bitmap.width * zoom;
    canvas.height = bitmap.height * zoom;
    const c = canvas.getContext("2d");
    c.imageSmoothingEnabled = false;
    c.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    canvas.dataset.state = "ready";
  }

  // ------------------------------------------------------------ the server
  async function post(path, body, type = "application/json") {
    const response = await fetch(path, {
      method: "POST", headers: { "Content-Type": type },
      body: type === "application/json" ? JSON.stringify(body) : body,
    });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({ detail: response.statusText }));
      throw new Error(`${path}: ${problem.detail}`);
    }
    return path.endsWith("format=png") ? response.blob() : response.json();
  }

  function fail(info, error) {
    info.textContent = String(error.message || error);
    info.classList.add("anomalous");
  }

  // ------------------------------------------------------------ drawing the plane
  function render() {
    ctx.clearRect(0, 0, plane.width, plane.height);
    if ($("show-manifold").checked && sprites.grid) {
      const n = data.grid;
      ctx.globalAlpha = 0.45;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(sprites.grid.image, 0, 0, n * width, n * height, 0, 0, plane.width, plane.height);
      ctx.globalAlpha = 1;
    }
    data.points.forEach((point, i) => {
      const [px, py] = toPixel(point);
      ctx.fillStyle = data.labels ? palette[data.labels[i] % palette.length] : "#1f77b4";
      ctx.globalAlpha = 0.75;
      ctx.beginPath();
      ctx.arc(px, py, 3, 0, 2 * Math.PI);
      ctx.fill();
    });
    ctx.globalAlpha = 1;
    if (state.hovered >= 0) {
      const [px, py] = toPixel(data.points[state.hovered]);
      ring(px, py, 7, "#000");
    }
    if (state.clicks.length === 2) {
      const [a, b] = state.clicks.map(toPixel);
      ctx.strokeStyle = "#000";
      ctx.setLineDash([5, 4]);
      ctx.beginPath(); ctx.moveTo(...a); ctx.lineTo(...b); ctx.stroke();
      ctx.setLineDash([]);
    }
    state.clicks.forEach((point, k) => mark(toPixel(point), "AB"[k] ?? "", "#000"));
    if (state.drawn) mark(toPixel(state.drawn), "drawn", "#d1242f");
  }

  function ring(px, py, r, color) {
    ctx.strokeStyle = color; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.arc(px, py, r, 0, 2 * Math.PI); ctx.stroke();
    ctx.lineWidth = 1;
  }

  function mark([px, py], label, color) {
    ctx.strokeStyle = color; ctx.lineWidth = 2.5;
    ctx.beginPath();
    ctx.moveTo(px - 7, py - 7); ctx.lineTo(px + 7, py + 7);
    ctx.moveTo(px + 7, py - 7); ctx.lineTo(px - 7, py + 7);
    ctx.stroke();
    ctx.lineWidth = 1;
    ctx.fillStyle = color; ctx.font = "bold 13px system-ui, sans-serif";
    ctx.fillText(label, px + 9, py - 8);
  }

  function legend() {
    $("subtitle").textContent =
      `${data.model} model, ${data.points.length} samples of ${data.data}; ` +
      (data.plane.exact ? "the plane is the 2-D code itself" :
        "the plane of the codes' two principal components") +
      (data.live ? "." : ". Static page: clicks show the nearest of a " +
        `${data.grid}×${data.grid} grid of decodings.`);
    if (!data.labels) return;
    const names = data.class_names || [...new Set(data.labels)].sort((a, b) => a - b).map(String);
    $("legend").innerHTML = "";
    names.forEach((name, k) => {
      const item = document.createElement("span");
      item.textContent = name;
      item.style.setProperty("--c", palette[k % palette.length]);
      $("legend").append(item);
    });
  }

  // ------------------------------------------------------------ interactions
  function scoreText(score) {
    const flag = score > data.threshold ? "anomalous" : "normal";
    return `anomaly score ${score.toPrecision(4)}: ${flag} (threshold ${data.threshold.toPrecision(4)})`;
  }

  function nearestPoint(px, py, radius = 8) {
    let best = -1, bestDistance = radius * radius;
    data.points.forEach((point, i) => {
      const [qx, qy] = toPixel(point);
      const d = (qx - px) ** 2 + (qy - py) ** 2;
      if (d < bestDistance) { best = i; bestDistance = d; }
    });
    return best;
  }

  function pointer(event) {
    const box = plane.getBoundingClientRect();
    return [(event.clientX - box.left) * plane.width / box.width,
            (event.clientY - box.top) * plane.height / box.height];
  }

  plane.addEventListener("mousemove", (event) => {
    const i = nearestPoint(...pointer(event));
    if (i === state.hovered) return;
    state.hovered = i;
    render();
    if (i < 0) return;
    showTiles($("hover-original"), [["originals", i]]);
    showTiles($("hover-reconstruction"), [["reconstructions", i]]);
    const label = data.labels ? `label ${data.class_names ? data.class_names[data.labels[i]] : data.labels[i]}, ` : "";
    const info = $("hover-info");
    info.textContent = label + scoreText(data.scores[i]);
    info.classList.toggle("anomalous", data.scores[i] > data.threshold);
  });

  const gridIndex = ([u, v]) => {
    const n = data.grid;
    const col = Math.min(n - 1, Math.max(0, Math.floor((u - x0) / (x1 - x0) * n)));
    const row = Math.min(n - 1, Math.max(0, Math.floor((y1 - v) / (y1 - y0) * n)));
    return row * n + col;
  };

  async function decode(canvas, points) {
    if (data.live) {
      await showPng(canvas, await post("/decode?format=png", { codes: points.map(lift) }));
    } else {
      showTiles(canvas, points.map((p) => ["grid", gridIndex(p)]));
    }
  }

  plane.addEventListener("click", async (event) => {
    const point = toPlane(...pointer(event));
    state.clicks = [...state.clicks, point].slice(-2);
    render();
    const info = $("decode-info");
    info.classList.remove("anomalous");
    info.textContent = `(${point[0].toPrecision(3)}, ${point[1].toPrecision(3)})`;
    try {
      await decode($("decoded"), [point]);
      if (state.clicks.length === 2) {
        const [a, b] = state.clicks, steps = 10;
        const line = Array.from({ length: steps }, (_, k) =>
          [0, 1].map((j) => a[j] + (b[j] - a[j]) * k / (steps - 1)));
        await decode($("interpolation"), line);
        $("interpolation-info").textContent = `${steps} steps from A to B`;
      }
    } catch (error) { fail(info, error); }
  });

  $("show-manifold").addEventListener("change", render);

  // ------------------------------------------------------------ drawing and uploads
  const draw = $("draw"), pen = draw.getContext("2d");
  function clearDrawing() {
    pen.fillStyle = "#000";
    pen.fillRect(0, 0, draw.width, draw.height);
  }

  async function submitDrawing() {
    const small = document.createElement("canvas");
    small.width = width; small.height = height;
    const c = small.getContext("2d");
    c.imageSmoothingQuality = "high";
    c.drawImage(draw, 0, 0, width, height);
    const png = await new Promise((resolve) => small.toBlob(resolve, "image/png"));
    const info = $("draw-info");
    info.classList.remove("anomalous");
    try {
      const [reconstruction, scored, encoded] = await Promise.all([
        post("/reconstruct?format=png", png, "image/png"),
        post("/score", png, "image/png"),
        post("/encode", png, "image/png"),
      ]);
      await showPng($("draw-reconstruction"), reconstruction);
      const score = scored.scores[0];
      info.textContent = scoreText(score) + "; marked on the plane in red";
      info.classList.toggle("anomalous", scored.anomalous[0]);
      state.drawn = project(encoded.codes[0]);
      render();
    } catch (error) { fail(info, error); }
  }

  function setUpDrawing() {
    clearDrawing();
    if (!data.live) {
      draw.style.opacity = 0.4;
      $("upload").disabled = $("clear").disabled = true;
      const note = $("draw-info");
      note.className = "static-note";
      note.textContent = "Drawing needs the model: open this page from `autoencoders serve RUN`.";
      return;
    }
    let drawing = false;
    const at = (event) => {
      const box = draw.getBoundingClientRect();
      return [(event.clientX - box.left) * draw.width / box.width,
              (event.clientY - box.top) * draw.height / box.height];
    };
    draw.addEventListener("pointerdown", (event) => {
      drawing = true;
      draw.setPointerCapture(event.pointerId);
      pen.strokeStyle = "#fff"; pen.lineCap = pen.lineJoin = "round";
      pen.lineWidth = draw.width / 9;
      pen.beginPath(); pen.moveTo(...at(event)); pen.lineTo(...at(event)); pen.stroke();
    });
    draw.addEventListener("pointermove", (event) => {
      if (!drawing) return;
      pen.lineTo(...at(event)); pen.stroke();
    });
    draw.addEventListener("pointerup", () => { drawing = false; submitDrawing(); });
    $("clear").addEventListener("click", () => { clearDrawing(); state.drawn = null; render(); });
    $("upload").addEventListener("change", async (event) => {
      const file = event.target.files[0];
      if (!file) return;
      const bitmap = await createImageBitmap(file);
      clearDrawing();
      const s = Math.min(draw.width / bitmap.width, draw.height / bitmap.height);
      const w = bitmap.width * s, h = bitmap.height * s;
      pen.drawImage(bitmap, (draw.width - w) / 2, (draw.height - h) / 2, w, h);
      submitDrawing();
    });
  }

  function setUpSampling() {
    if (!(data.live && data.variational)) return;
    $("sample-pane").hidden = false;
    $("sample").addEventListener("click", async () => {
      const seed = Math.floor(Math.random() * 2 ** 31);
      await showPng($("samples"), await post("/sample?format=png", { n: 8, seed }));
    });
  }

  legend();
  setUpDrawing();
  setUpSampling();
  ready.then(() => { render(); document.body.dataset.state = "ready"; });
})();
