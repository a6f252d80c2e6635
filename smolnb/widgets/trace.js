// The live trace under a %%agent cell (anywidget). The kernel sends the trace as HTML; this
// view paints it, ticks every clock in it, keeps the steps the user opened or closed as they
// were, and holds the Stop and copy-to-cell buttons.

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

function insertCellBelow(code, el, model) {
  // The notebook this output belongs to, through the widget manager's document context
  // (JupyterLab); then the application, where JupyterLab exposes it; elsewhere, the clipboard.
  const manager = model.widget_manager;
  const notebook = manager && manager._context && manager._context.model && manager._context.model.sharedModel;
  if (notebook && typeof notebook.insertCell === "function") {
    const cell = el.closest(".jp-Cell");
    let index = notebook.cells.length;
    if (cell && cell.parentElement) {
      const at = [...cell.parentElement.children].filter((n) => n.classList.contains("jp-Cell")).indexOf(cell);
      if (at >= 0) index = at + 1;
    }
    notebook.insertCell(index, { cell_type: "code", source: code });
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
    for (const button of body.querySelectorAll(".snb-copy")) button.style.display = "inline-block";
    const running = model.get("running");
    stop.style.display = running ? "" : "none";
    if (!running) note.textContent = "";
    tick();
  }

  body.addEventListener("click", (event) => {
    const copy = event.target.closest(".snb-copy");
    if (copy) {
      event.preventDefault();
      event.stopPropagation();
      const code = copy.closest("details").querySelector("pre.snb-code");
      const text = code ? code.textContent.replace(/\n+$/, "") : "";
      insertCellBelow(text, el, model).then((where) => (note.textContent = "step " + copy.dataset.step + ": code " + where));
      return;
    }
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
