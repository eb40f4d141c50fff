"""The web console: a Starlette application over an output directory.

Pages (Jinja2, autoescaped): the gallery (``/``), a film's inspector
(``/films/NAME``) and the printer (``/printer``); JSON and files for them
(``/api/...``, ``/files/NAME``); Server-Sent Events of new films
(``/events``); ``/healthz`` and ``/metrics`` (Prometheus text).

Security (see :class:`ConsoleSettings`): a token is needed for every request
when the console listens beyond loopback, and for every state-changing POST
always (in the ``X-Filmbox-Token`` header, with an Origin that is the
console's own). Only files the printer wrote are served, by their generated
names. Every response carries a Content-Security-Policy without inline
script.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape
from PIL import Image
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from dicomnet.terms import PRINTER_STATUS_INFO, PrinterStatus
from film.densitometry import read_density_map
from film.png import encode_raster, png_file
from print_scp.output.film_names import job_document_name
from print_scp.web.film_index import THUMBNAILS, FilmFilter, FilmIndex

__all__ = ["ConsoleSettings", "console_app"]

LOG = logging.getLogger("print_scp.web")
#: A directory changed this recently (ns) is synced at every poll: see _Console.poll.
RECENT_CHANGE_NS = 2_000_000_000

TOKEN_HEADER = "X-Filmbox-Token"
PER_PAGE = 24
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
_SUFFIXES = {"pdf": ".pdf", "png": ".png", "density": ".density.png", "json": ".json"}

Control = Callable[[dict[str, Any]], dict[str, Any]]  # print_scp.control.ControlServer.execute


@dataclass
class ConsoleSettings:
    """What the console serves and how it guards it."""

    output_dir: Path
    token: str
    token_required: bool  # every request (a bind beyond loopback); POSTs always need it
    control: Control | None = None  # None: read-only, no printer is running
    profile_text: str = ""  # the effective profile, shown on the printer page
    metrics: Callable[[], dict[str, Any]] | None = None  # counters of the running printer
    poll_s: float = 2.0  # how often the index looks for films written by others


def console_app(settings: ConsoleSettings, index: FilmIndex) -> Starlette:
    """The console's ASGI application over ``settings.output_dir`` and its film index."""
    env = Environment(loader=PackageLoader("print_scp.web", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    console = _Console(settings, index, env)
    routes = [
        Route("/", console.gallery),
        Route("/fragment/films", console.gallery_cards),
        Route("/events", console.events),
        Route("/films/{name}", console.film),
        Route("/api/films/{name}/od", console.optical_density),
        Route("/files/{name}/{kind}", console.file),
        Route("/job/{name}", console.job_document),
        Route("/printer", console.printer),
        Route("/api/printer/status", console.set_status, methods=["POST"]),
        Route("/healthz", console.health),
        Route("/metrics", console.metrics),
        Mount("/static", StaticFiles(packages=[("print_scp.web", "static")]), name="static"),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        poller = asyncio.create_task(console.poll())
        yield
        poller.cancel()

    return Starlette(routes=routes, middleware=[Middleware(_Guard, settings=settings)],
                     lifespan=lifespan)


class _Guard(BaseHTTPMiddleware):
    """Token, CSRF and Content-Security-Policy for every request."""

    def __init__(self, app: Any, settings: ConsoleSettings) -> None:
        super().__init__(app)
        self.settings = settings

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        token = self.settings.token
        given = request.headers.get(TOKEN_HEADER) or request.cookies.get("filmbox_token") \
            or request.query_params.get("token", "")
        if self.settings.token_required and not hmac.compare_digest(given, token):
            return PlainTextResponse("401: this console needs its token", status_code=401)
        if request.method != "GET":
            origin = request.headers.get("origin", "")
            own = f"{request.url.scheme}://{request.headers.get('host', '')}"
            header = request.headers.get(TOKEN_HEADER, "")
            if origin != own or not hmac.compare_digest(header, token):
                return PlainTextResponse("403: a change needs the console's token and origin",
                                         status_code=403)
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if self.settings.token_required and request.query_params.get("token"):
            response.set_cookie("filmbox_token", token, httponly=True, samesite="strict")
        return response


class _Console:
    def __init__(self, settings: ConsoleSettings, index: FilmIndex, env: Environment):
        self.settings = settings
        self.index = index
        self.env = env
        self.version = 0  # counts index changes, for /events

    async def poll(self) -> None:
        """Sync the index when the directory changed (a stat per poll when idle).

        A directory's mtime has the kernel's coarse clock (a few ms): two changes in one
        tick leave it as it was after the first. So a directory changed in the last
        :data:`RECENT_CHANGE_NS` is synced at every poll, whatever its mtime says.
        """
        last = None
        while True:
            try:
                mtime = self.settings.output_dir.stat().st_mtime_ns
            except OSError:
                mtime = None
            recent = mtime is not None and time.time_ns() - mtime < RECENT_CHANGE_NS
            if mtime != last or recent:
                last = mtime
                try:
                    if await asyncio.to_thread(self.index.sync):
                        self.version += 1
                except Exception as exc:  # the next change tries again; the console goes on
                    LOG.warning("film index not updated: %s", exc)
                    last = None
            await asyncio.sleep(self.settings.poll_s)

    def _page(self, template: str, **values: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(
            token=self.settings.token, read_only=self.settings.control is None, **values)
        return HTMLResponse(html)

    def _filter(self, request: Request) -> tuple[FilmFilter, int]:
        q = request.query_params
        where = FilmFilter(date_from=q.get("from", ""), date_to=q.get("to", ""),
                           calling_ae=q.get("calling_ae", ""), film_size=q.get("film_size", ""),
                           medium=q.get("medium", ""), text=q.get("text", ""),
                           problems_only=q.get("problems") == "1")
        try:
            page = max(1, int(q.get("page", "1")))
        except ValueError:
            page = 1
        return where, page

    async def gallery(self, request: Request) -> HTMLResponse:
        where, page = self._filter(request)
        version = self.version  # before the query: a later change reaches the page as an event
        films, total = await asyncio.to_thread(self.index.page, where, page, PER_PAGE)
        choices = {column: await asyncio.to_thread(self.index.values, column)
                   for column in ("calling_ae", "film_size", "medium")}
        return self._page("gallery.html", films=films, total=total, page=page,
                          version=version,
                          pages=max(1, -(-total // PER_PAGE)), where=where, choices=choices,
                          query=str(request.query_params))

    async def gallery_cards(self, request: Request) -> HTMLResponse:
        where, page = self._filter(request)
        films, _ = await asyncio.to_thread(self.index.page, where, page, PER_PAGE)
        return self._page("cards.html", films=films)

    async def events(self, request: Request) -> StreamingResponse:
        async def stream() -> AsyncIterator[str]:
            seen = None  # the first event tells the page the index's version now
            yield "retry: 2000\n\n"
            while not await request.is_disconnected():
                if self.version != seen:
                    seen = self.version
                    yield f"event: films\ndata: {seen}\n\n"
                await asyncio.sleep(0.5)
        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store"})

    def _film_json(self, name: str) -> dict[str, Any] | None:
        """The film's JSON (read again only when it changed: the densitometer asks per
        pointer move); None if ``name`` is no film the printer wrote here."""
        if not _NAME.fullmatch(name):
            return None
        path = self.settings.output_dir / f"{name}.json"
        try:
            if path.is_symlink() or not path.is_file():
                return None
            return _film_document(str(path), path.stat().st_mtime_ns)
        except OSError:
            return None

    async def film(self, request: Request) -> Response:
        name = request.path_params["name"]
        document = await asyncio.to_thread(self._film_json, name)
        if document is None:
            return PlainTextResponse("404: no such film", status_code=404)
        job = await asyncio.to_thread(self.index.job_films, name)
        job_pdf = self.settings.output_dir / f"{job_document_name([name])}.pdf"
        return self._page("film.html", name=name, film=document, sheet=document["film"],
                          job_films=job, job_pdf=job_pdf.is_file(),
                          attributes=_attribute_tables(document))

    async def optical_density(self, request: Request) -> Response:
        """OD at (x, y), or the mean OD of the rectangle (x, y, w, h), in film pixels."""
        name = request.path_params["name"]
        if self._film_json(name) is None:
            return PlainTextResponse("404: no such film", status_code=404)
        try:
            x, y = int(request.query_params["x"]), int(request.query_params["y"])
            w, h = int(request.query_params.get("w", 1)), int(request.query_params.get("h", 1))
        except (KeyError, ValueError):
            return PlainTextResponse("400: give x and y (and w, h) in pixels", status_code=400)
        density = await asyncio.to_thread(_density_map, self.settings.output_dir, name)
        rows, columns = density.shape
        x0, y0 = max(0, min(x, columns - 1)), max(0, min(y, rows - 1))
        x1, y1 = max(x0 + 1, min(x + w, columns)), max(y0 + 1, min(y + h, rows))
        region = density[y0:y1, x0:x1]
        return JSONResponse({"x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0,
                             "od": round(float(region.mean()), 4)})

    async def file(self, request: Request) -> Response:
        name, kind = request.path_params["name"], request.path_params["kind"]
        if self._film_json(name) is None or kind not in (*_SUFFIXES, "false-colour", "thumb"):
            return PlainTextResponse("404: no such file", status_code=404)
        if kind == "thumb":
            path = await asyncio.to_thread(_thumbnail, self.settings.output_dir, name)
            return FileResponse(path, media_type="image/png")
        if kind == "false-colour":
            density = await asyncio.to_thread(_density_map, self.settings.output_dir, name)
            return Response(await asyncio.to_thread(_false_colour_png, density),
                            media_type="image/png")
        return _regular_file(self.settings.output_dir, f"{name}{_SUFFIXES[kind]}")

    async def job_document(self, request: Request) -> Response:
        name = request.path_params["name"]
        if self._film_json(name) is None:
            return PlainTextResponse("404: no such job", status_code=404)
        return _regular_file(self.settings.output_dir, f"{job_document_name([name])}.pdf")

    async def printer(self, request: Request) -> HTMLResponse:
        state = self._control({"command": "status"})
        recent, _ = await asyncio.to_thread(self.index.page, FilmFilter(), 1, 10)
        return self._page("printer.html", state=state, statuses=[s.value for s in PrinterStatus],
                          infos=PRINTER_STATUS_INFO, profile=self.settings.profile_text,
                          recent=recent)

    async def set_status(self, request: Request) -> Response:
        if self.settings.control is None:
            return JSONResponse({"ok": False, "error": "read-only console: no printer is "
                                 "running on this output directory"}, status_code=409)
        try:
            body = await request.json()
            status = PrinterStatus(str(body["status"]))
            info = str(body.get("info") or status.value)[:64]
        except (KeyError, ValueError, TypeError):
            return JSONResponse({"ok": False, "error": "give status NORMAL, WARNING or FAILURE "
                                 "and an optional info"}, status_code=400)
        return JSONResponse(self._control({"command": "set-status", "status": status.value,
                                           "info": info}))

    def _control(self, request: dict[str, Any]) -> dict[str, Any] | None:
        control = self.settings.control
        return None if control is None else control(request)

    async def health(self, request: Request) -> JSONResponse:
        state = self._control({"command": "status"})
        return JSONResponse({"ok": True, "printer": None if state is None else
                             {"status": state["status"], "info": state["info"]}})

    async def metrics(self, request: Request) -> Response:
        registry = CollectorRegistry()
        registry.register(_Collector(self.settings.metrics, self.index))
        return Response(generate_latest(registry),
                        media_type="text/plain; version=0.0.4; charset=utf-8")


class _Collector:
    """The printer's counters as Prometheus metrics, read at each scrape."""

    def __init__(self, source: Callable[[], dict[str, Any]] | None, index: FilmIndex):
        self.source, self.index = source, index

    def collect(self) -> Any:
        values = self.source() if self.source is not None else {}
        films = CounterMetricFamily("filmbox_films_printed", "Films rendered since start-up")
        films.add_metric([], values.get("films_printed", 0))
        yield films
        requests = CounterMetricFamily("filmbox_dimse_requests", "DIMSE requests answered",
                                       labels=["status"])
        for status, count in sorted(values.get("requests_by_status", {}).items()):
            requests.add_metric([status], count)
        yield requests
        rejected = CounterMetricFamily("filmbox_associations_rejected",
                                       "Associations refused (A-ASSOCIATE-RJ)", labels=["reason"])
        for reason, count in sorted(values.get("associations_rejected", {}).items()):
            rejected.add_metric([reason], count)
        yield rejected
        for name, text, key in (
                ("filmbox_associations", "Open associations", "associations"),
                ("filmbox_queue_depth", "Films accepted, not yet rendered", "queue_depth"),
                ("filmbox_render_seconds", "Seconds spent rendering films since start-up",
                 "render_seconds"),
                ("filmbox_memory_limit_bytes", "The printer's memory budget (max_memory_bytes)",
                 "memory_limit_bytes"),
                ("filmbox_memory_in_use_bytes",
                 "Bytes of the memory budget held by messages, images and queued films",
                 "memory_in_use_bytes")):
            gauge = GaugeMetricFamily(name, text)
            gauge.add_metric([], values.get(key, 0))
            yield gauge
        indexed = GaugeMetricFamily("filmbox_films_indexed", "Films in the output directory")
        indexed.add_metric([], sum(1 for _ in self.index))
        yield indexed


def _regular_file(directory: Path, file_name: str) -> Response:
    """A file the printer wrote in ``directory`` (no symbolic link), or 404."""
    path = directory / file_name
    if not _NAME.fullmatch(file_name) or path.is_symlink() or not path.is_file():
        return PlainTextResponse("404: no such file", status_code=404)
    return FileResponse(path, filename=file_name)


@lru_cache(maxsize=64)
def _film_document(path: str, mtime_ns: int) -> dict[str, Any] | None:
    """A film's parsed JSON, by path and modification time; None if it is not a film's."""
    try:
        document = json.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) and "film" in document else None


@lru_cache(maxsize=8)
def _density_cached(path: str, mtime_ns: int) -> np.ndarray:
    density, _ = read_density_map(Path(path))
    return density


def _density_map(directory: Path, name: str) -> np.ndarray:
    path = directory / f"{name}.density.png"
    return _density_cached(str(path), path.stat().st_mtime_ns)


THUMBNAIL_PX = 240  # the longer side of a gallery thumbnail


def _thumbnail(directory: Path, name: str) -> Path:
    """The film's thumbnail, made from its PNG once and kept in ``.thumbs/``."""
    source = directory / f"{name}.png"
    path = directory / THUMBNAILS / f"{name}.png"
    if path.is_file() and path.stat().st_mtime >= source.stat().st_mtime:
        return path
    path.parent.mkdir(exist_ok=True)
    with Image.open(source) as image:
        image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
        staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        image.save(staging, "PNG")
    os.replace(staging, path)
    return path


#: False-colour scale: OD at each stop, and its colour (blue, cyan, green, yellow, red).
_STOPS_OD = np.array([0.0, 0.75, 1.5, 2.25, 3.0])
_STOP_RGB = np.array([[0, 0, 255], [0, 255, 255], [0, 200, 0], [255, 255, 0], [255, 0, 0]])


def _false_colour_png(density: np.ndarray) -> bytes:
    """The density map (OD) as an RGB PNG on the false-colour scale (3.0 OD and up: red)."""
    channels = [np.interp(density, _STOPS_OD, _STOP_RGB[:, c]) for c in range(3)]
    rgb = np.stack(channels, axis=-1).astype(np.uint8)
    return png_file(encode_raster(rgb), 72.0)


def _attribute_tables(document: dict[str, Any]) -> list[tuple[str, list[tuple[str, Any, Any]]]]:
    """(title, [(attribute, received, in force)]) for the inspector."""
    tables = []
    for title, key in (("Film Session", "film_session"), ("Film Box", "film_box")):
        part = document.get(key, {})
        received, in_force = part.get("received", {}), part.get("in_force", {})
        rows = [(k, v, "") for k, v in received.items()]
        rows += [(k, "", v) for k, v in in_force.items()]
        tables.append((title, rows))
    for box in document.get("image_boxes", []):
        tables.append((f"Image Box {box.get('position', '?')}",
                       [(k, v, "") for k, v in box.get("received", {}).items()]))
    for box in document.get("annotation_boxes", []):
        tables.append((f"Annotation Box {box.get('position', '?')}",
                       [(k, v, "") for k, v in box.get("received", {}).items()]))
    for uid, received in document.get("presentation_luts", {}).items():
        tables.append((f"Presentation LUT {uid}", [(k, v, "") for k, v in received.items()]))
    return tables
