// filmbox console: live gallery, film inspector (zoom, false colour, densitometer), printer
// controls. A plain ES module: no build step, no inline script (the page's CSP forbids it).
// Text from the server is only ever set as textContent, or comes as server-escaped HTML.

const token = document.querySelector('meta[name="filmbox-token"]').content;

function liveGallery() {
  const films = document.getElementById("films");
  if (!films) return;
  const events = new EventSource("/events");
  events.addEventListener("films", async (event) => {
    if (event.data === films.dataset.version) return;  // the page shows this version
    films.dataset.version = event.data;
    const response = await fetch("/fragment/films?" + films.dataset.query);
    if (response.ok) films.innerHTML = await response.text();  // escaped by the server
  });
}

function inspector() {
  const viewer = document.getElementById("viewer");
  if (!viewer) return;
  const name = viewer.dataset.name;
  const width = Number(viewer.dataset.width), height = Number(viewer.dataset.height);
  const sheet = document.getElementById("sheet");
  const image = document.getElementById("film-image");
  const selection = document.getElementById("selection");
  let scale = Math.min(1, 900 / width);
  const zoom = (factor) => {
    scale = Math.max(0.05, Math.min(8, scale * factor));
    sheet.style.width = `${width * scale}px`;
    sheet.style.height = `${height * scale}px`;
  };
  zoom(1);
  document.getElementById("zoom-in").addEventListener("click", () => zoom(1.25));
  document.getElementById("zoom-out").addEventListener("click", () => zoom(0.8));
  document.getElementById("false-colour-switch").addEventListener("change", (event) => {
    image.src = `/files/${encodeURIComponent(name)}/${event.target.checked ? "false-colour" : "png"}`;
  });
  const filmPoint = (event) => {
    const box = image.getBoundingClientRect();
    return [Math.floor((event.clientX - box.left) * width / box.width),
            Math.floor((event.clientY - box.top) * height / box.height)];
  };
  const od = async (x, y, w = 1, h = 1) => {
    const response = await fetch(`/api/films/${encodeURIComponent(name)}/od?x=${x}&y=${y}&w=${w}&h=${h}`);
    return response.ok ? (await response.json()).od : null;
  };
  let pending = false, start = null;
  sheet.addEventListener("mousemove", async (event) => {
    const [x, y] = filmPoint(event);
    if (start) {
      selection.setAttribute("x", Math.min(start[0], x)); selection.setAttribute("y", Math.min(start[1], y));
      selection.setAttribute("width", Math.abs(x - start[0])); selection.setAttribute("height", Math.abs(y - start[1]));
    }
    if (pending) return;
    pending = true;
    const value = await od(x, y);
    pending = false;
    if (value !== null) {
      document.getElementById("od").textContent = value.toFixed(3);
      document.getElementById("od-at").textContent = `${x}, ${y}`;
    }
  });
  sheet.addEventListener("mousedown", (event) => { event.preventDefault(); start = filmPoint(event); });
  sheet.addEventListener("mouseup", async (event) => {
    if (!start) return;
    const [x, y] = filmPoint(event);
    const [x0, y0] = [Math.min(start[0], x), Math.min(start[1], y)];
    const [w, h] = [Math.abs(x - start[0]) + 1, Math.abs(y - start[1]) + 1];
    start = null;
    const value = await od(x0, y0, w, h);
    if (value !== null) document.getElementById("od-mean").textContent = `${value.toFixed(3)} over ${w} × ${h} px`;
  });
}

function printerControls() {
  const form = document.getElementById("status-form");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {status: form.elements.status.value, info: form.elements.info.value};
    const response = await fetch("/api/printer/status", {
      method: "POST", body: JSON.stringify(body),
      headers: {"Content-Type": "application/json", "X-Filmbox-Token": token}});
    const reply = await response.json();
    const result = document.getElementById("status-result");
    if (!response.ok || !reply.ok) { result.textContent = reply.error || `failed (${response.status})`; return; }
    document.getElementById("printer-status").textContent = reply.status;
    document.getElementById("printer-info").textContent = reply.info;
    result.textContent = "sent to every connected SCU";
  });
}

liveGallery();
inspector();
printerControls();
