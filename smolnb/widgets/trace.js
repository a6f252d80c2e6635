// The live trace under a %%agent cell (anywidget). The kernel sends the trace as HTML; this
// view paints it, ticks every clock in it, keeps the steps the user opened or closed as they
// were, and holds the Stop button; the copy-to-cell and fork buttons act through `install`.

function kernelUrl(kernelId) {
  const config = document.getElementById("jupyter-config-data");
  let base = "/";
  try {
    base = (config && JSON.parse(config.textContent).baseUrl) || "/";
  } catch (e) {}
  return base.replace(/\/?$/, "/") + "api/kernels/" + encodeURIComponent(kernelId) + "/interrupt";
}

async function interruptKernel(kernelId) {
  const xsrf = (document.cookie.match(/(?:^|;\s*)_xsrf=([^;]+)/) || [])[1];
  const headers = xsrf ? { "X-XSRFToken": decodeURIComponent(xsrf) } : {};
  const reply = await fetch(kernelUrl(kernelId), { method: "POST", headers, credentials: "same-origin" });
  return reply.ok;
}

// The notebooks live traces were shown in (their shared models, through the widget manager).
// A finished run's trace is static HTML (so a saved notebook shows it without a kernel); its
// buttons still act in this page: one click listener on the document finds the notebook cell
// whose output holds the run and inserts below it.
const notebooks = new Set();
const live = new WeakMap(); // a live trace's element -> its notebook

function remember(el, model) {
  const manager = model.widget_manager;
  const context = manager && manager._context;
  const shared = context && context.model && context.model.sharedModel;
  if (shared && typeof shared.insertCell === "function") {
    notebooks.add(shared);
    live.set(el, shared);
  }
}

function liveCellBelow(el) {
  // A running trace's cell holds the widget, not the run: count the cells before it.
  const holder = el.closest(".snb-live");
  const notebook = holder && live.get(holder);
  const cell = el.closest(".jp-Cell");
  if (!notebook || !cell || !cell.parentElement) return null;
  const at = cell.dataset.windowedListIndex !== undefined
    ? parseInt(cell.dataset.windowedListIndex, 10)
    : [...cell.parentElement.children].filter((n) => n.classList.contains("jp-Cell")).indexOf(cell);
  return at >= 0 ? { notebook, index: at + 1 } : null;
}

function cellBelow(runId) {
  for (const notebook of notebooks) {
    const at = notebook.cells.findIndex(
      (cell) => cell.cell_type === "code" && JSON.stringify(cell.getOutputs ? cell.getOutputs() : []).includes(runId),
    );
    if (at >= 0) return { notebook, index: at + 1 };
  }
  return null;
}

function insertCellBelow(code, el) {
  // The notebook cell this output belongs to (JupyterLab); then the application, where
  // JupyterLab exposes it; elsewhere, the clipboard.
  let outer = el.closest(".snb[data-run-id]");
  while (outer && outer.parentElement && outer.parentElement.closest(".snb[data-run-id]")) {
    outer = outer.parentElement.closest(".snb[data-run-id]");
  }
  const found = (outer && cellBelow(outer.dataset.runId)) || liveCellBelow(el);
  if (found) {
    found.notebook.insertCell(found.index, { cell_type: "code", source: code });
    return Promise.resolve("in a new cell below");
  }
  const app = window.jupyterapp;
  if (app && app.commands && app.commands.hasCommand("notebook:insert-cell-below")) {
    return app.commands.execute("notebook:insert-cell-below").then(() => {
      const panel = app.shell.currentWidget;
      const cell = panel && panel.content && panel.content.activeCell;
      if (cell) cell.model.sharedModel.setSource(code);
      return "in a new cell below";
    });
  }
  if (navigator.clipboard) return navigator.clipboard.writeText(code).then(() => "copied: paste it into a cell");
  return Promise.resolve("select the code to copy it");
}

function act(button) {
  let code;
  let what;
  if (button.classList.contains("snb-fork")) {
    const run = button.closest(".snb[data-run-id]");
    code = "%agent fork " + run.dataset.runId + " " + button.dataset.step;
    what = "fork";
  } else {
    const pre = button.closest("details").querySelector("pre.snb-code");
    code = pre ? pre.textContent.replace(/\n+$/, "") : "";
    what = "code";
  }
  return insertCellBelow(code, button).then((where) => {
    const label = button.textContent;
    button.textContent = "✓ " + where;
    setTimeout(() => (button.textContent = label), 2500);
    return "step " + button.dataset.step + ": " + what + " " + where;
  });
}

let installed = false;

function install() {
  if (installed) return;
  installed = true;
  const style = document.createElement("style");
  style.textContent =
    ".snb button.snb-copy,.snb button.snb-fork{display:inline-block}" +
    ".snb .snb button.snb-fork,.snb-live-run .snb button.snb-fork{display:none}";
  document.head.append(style);
  document.addEventListener(
    "click",
    (event) => {
      const button = event.target.closest && event.target.closest(".snb button.snb-copy, .snb button.snb-fork");
      if (!button) return;
      event.preventDefault(); // a button in a <summary>: do not fold the step
      event.stopPropagation();
      act(button).then((said) => button.dispatchEvent(new CustomEvent("snb-done", { bubbles: true, detail: said })));
    },
    true,
  );
}

function render({ model, el }) {
  const bar = document.createElement("div");
  bar.className = "snb-bar";
  const stop = document.createElement("button");
  stop.className = "snb-stop";
  stop.textContent = "■ Stop";
  stop.title = "Stop this run (the kernel and other runs go on)";
  const note = document.createElement("span");
  note.className = "snb-note";
  bar.append(stop, note);
  const body = document.createElement("div");
  el.append(bar, body);
  el.classList.add("snb-live");
  install();
  remember(el, model);

  const chosen = new Map(); // data-key of a <details> the user opened or closed -> open
  let offset = 0; // kernel clock - browser clock

  function tick() {
    const now = Date.now() / 1000 + offset;
    for (const clock of body.querySelectorAll(".snb-clock[data-since]")) {
      clock.textContent = Math.max(0, now - parseFloat(clock.dataset.since)).toFixed(1) + " s";
    }
  }

  function paint() {
    offset = model.get("server_time") - Date.now() / 1000;
    body.innerHTML = model.get("html");
    for (const details of body.querySelectorAll("details[data-key]")) {
      if (chosen.has(details.dataset.key)) details.open = chosen.get(details.dataset.key);
    }
    const running = model.get("running");
    body.classList.toggle("snb-live-run", running); // fork once the run has ended
    stop.style.display = running ? "" : "none";
    if (!running) note.textContent = "";
    tick();
  }

  body.addEventListener("snb-done", (event) => (note.textContent = event.detail));
  body.addEventListener("click", (event) => {
    const summary = event.target.closest("summary");
    if (summary && summary.parentElement.dataset.key) {
      const details = summary.parentElement;
      setTimeout(() => chosen.set(details.dataset.key, details.open), 0);
    }
  });

  stop.addEventListener("click", async () => {
    stop.disabled = true;
    note.textContent = "stopping…";
    model.send({ event: "stop" }); // a background run stops on this; a running cell needs the interrupt
    if (model.get("foreground") && model.get("kernel_id")) {
      try {
        if (!(await interruptKernel(model.get("kernel_id")))) note.textContent = "use the notebook's stop button";
      } catch (e) {
        note.textContent = "use the notebook's stop button";
      }
    }
  });

  model.on("change:html", paint);
  model.on("change:running", paint);
  const timer = setInterval(tick, 100);
  paint();
  return () => clearInterval(timer);
}

export default { render };
