"""A static HTML evaluation report: metrics, tables, plots, and faces to listen to.

`write_report` writes a self-contained folder:

    <out_dir>/index.html          the page (inline CSS and script only)
    <out_dir>/plots/NN-<name>     copies of the plot files
    <out_dir>/samples/NNNN.png    face of sample NNNN (when it has one)
    <out_dir>/samples/NNNN.wav    copy of sample NNNN's translation
    <out_dir>/.tfxmodal-report    marker: this folder may be replaced

The page opens from disk with no server and no network: every link is
relative and inside the folder, there are no external scripts, styles or
fonts, and every string from the caller is HTML-escaped.

A small inline script checks, after the page's `load` event, that every
`<img>` decoded (`complete` and `naturalWidth > 0`) and that every `<audio>`
reached `loadedmetadata`/`canplay` (an `error`, or no answer within a
timeout, counts as a failure). It writes the result into

    <div id="load-status" data-state="done" data-images-ok="N"
         data-images-total="M" data-audio-ok="K" data-audio-total="L"
         data-failed="relative/url ...">

and into the element's text, so both a person and a headless browser
(`chromium --headless --dump-dom`, see tests/face2music/test_report.py) can
see whether anything is broken.
"""

import datetime
import html
import math
import numbers
import os
import re
import shutil
import tempfile
import urllib.parse
import uuid

import numpy as np
from PIL import Image

from tfxmodal.audio.wav import read_audio
from tfxmodal.errors import AudioFileError
from tfxmodal.face2music.figures import check_family_labels, family_color, family_table

MARKER = ".tfxmodal-report"
STATUS_ID = "load-status"
DEFAULT_AUDIO_TIMEOUT_MS = 10000
_PLOT_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")
_NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


class ReportError(ValueError):
    """An input that `write_report` cannot put in a report; the message names it."""


def _esc(value):
    return html.escape(str(value), quote=True)


def _url(relative_path):
    """Escaped attribute value of a relative URL (path segments percent-quoted)."""
    return _esc(urllib.parse.quote(relative_path.replace(os.sep, "/")))


def format_value(value):
    """Human-readable text of a metric value.

    Floats get 4 significant digits (21.84, 0.683, 0.0256), very small ones
    scientific notation, large ones one decimal; ints stay exact; None is a
    dash; mappings and sequences are formatted element-wise.
    """
    if value is None:
        return "\u2014"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "\u221e" if number > 0 else "\u2212\u221e"
        magnitude = abs(number)
        if magnitude == 0:
            return "0"
        if magnitude < 1e-3:
            return f"{number:.3e}"
        if magnitude >= 1000:
            return f"{number:.1f}"
        return f"{number:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {format_value(item)}" for key, item in value.items())
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(item) for item in value)
    return str(value)


def pitch_name(pitch):
    """Scientific pitch name of a MIDI note number (60 → "C4")."""
    return f"{_NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def _safe_name(name):
    """A file name made of [A-Za-z0-9._-] only, so the URL needs no care."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "file"
    return cleaned[:80]


def _normalise_plots(plots):
    """[(caption, source path)] from a {caption: path} mapping or a list.

    List items may be paths, `(caption, path)` pairs, or
    `{"path": ..., "caption": ...}` dicts.
    """
    if plots is None:
        return []
    items = list(plots.items()) if isinstance(plots, dict) else []
    if not isinstance(plots, dict):
        for position, item in enumerate(plots):
            if isinstance(item, dict):
                if "path" not in item:
                    raise ReportError(f"plots[{position}]: a dict needs a 'path' key")
                items.append((item.get("caption"), item["path"]))
            elif isinstance(item, (tuple, list)) and len(item) == 2:
                items.append((item[0], item[1]))
            else:
                items.append((None, item))
    result = []
    for caption, path in items:
        path = os.fspath(path)
        extension = os.path.splitext(path)[1].lower()
        if extension not in _PLOT_EXTENSIONS:
            raise ReportError(f"plot {path}: expected an image file ({', '.join(_PLOT_EXTENSIONS)})")
        result.append((os.path.basename(path) if caption is None else str(caption), path))
    return result


def _normalise_tables(tables):
    """Validated tables: [{"title", "columns", "rows", "caption"}]."""
    result = []
    for position, table in enumerate(tables or []):
        if not isinstance(table, dict) or "rows" not in table:
            raise ReportError(f"tables[{position}]: expected a dict with 'title' and 'rows' (a list of row dicts)")
        rows = list(table["rows"])
        for row_number, row in enumerate(rows):
            if not isinstance(row, dict):
                raise ReportError(f"tables[{position}] row {row_number}: expected a dict, got {type(row).__name__}")
        columns = table.get("columns")
        if columns is None:
            # Union of the rows' keys in first-seen order, so a row may omit cells.
            columns = list(dict.fromkeys(key for row in rows for key in row))
        result.append(
            {
                "title": str(table.get("title", f"Table {position + 1}")),
                "columns": list(columns),
                "rows": rows,
                "caption": table.get("caption"),
            }
        )
    return result


def _normalise_samples(samples, family_names):
    """Checks each sample's fields (not its files) before anything is written."""
    result = []
    for position, sample in enumerate(samples or []):
        where = f"samples[{position}]"
        if not isinstance(sample, dict):
            raise ReportError(f"{where}: expected a dict, got {type(sample).__name__}")
        missing = [key for key in ("face", "wav", "family", "pitch") if key not in sample]
        if missing:
            raise ReportError(f"{where}: missing keys {missing} (need face, wav, family, pitch)")
        family = int(check_family_labels([sample["family"]], 1, family_names, f"{where} family")[0])
        pitch = sample["pitch"]
        if not isinstance(pitch, numbers.Integral) or not 0 <= int(pitch) <= 127:
            raise ReportError(f"{where}: pitch must be a MIDI note number 0-127, got {pitch!r}")
        face = sample["face"]
        if face is not None:
            face = np.asarray(face, dtype=np.float32)
            if face.ndim != 3 or face.shape[-1] != 3 or face.shape[0] == 0 or face.shape[1] == 0:
                raise ReportError(f"{where}: face must be (H, W, 3) in [0, 255] or None, got shape {face.shape}")
            if not np.all(np.isfinite(face)):
                raise ReportError(f"{where}: face contains NaN or infinity")
        label = sample.get("label")
        result.append(
            {
                "index": position,
                "face": face,
                "wav": os.fspath(sample["wav"]),
                "family": family,
                "pitch": int(pitch),
                "label": f"sample {position}" if label is None else str(label),
            }
        )
    return result


def _copy_wav(sample, destination):
    """Copies a sample's WAV after checking it decodes; returns its duration in seconds."""
    source = sample["wav"]
    if not os.path.isfile(source):
        raise FileNotFoundError(f"report sample {sample['index']} ({sample['label']}): WAV file not found: {source}")
    # Imported here: tfxmodal.audio pulls in TensorFlow, which a report
    # without samples should not pay for.
    try:
        audio, sample_rate = read_audio(source)
    except AudioFileError as error:
        raise ReportError(f"report sample {sample['index']} ({sample['label']}): {error}") from None
    shutil.copyfile(source, destination)
    return len(audio) / sample_rate


def _write_face(face, destination):
    pixels = np.clip(np.rint(face), 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(destination, format="PNG")
    return pixels.shape[1], pixels.shape[0]


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em auto;
       max-width: 1200px; padding: 0 1em; color: #222; background: #fff; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.4em; }
.meta { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.95em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.7em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
caption { caption-side: bottom; color: #666; font-size: 0.85em; padding-top: 0.3em; text-align: left; }
figure.plot { margin: 1em 0; }
figure.plot img { max-width: 100%; height: auto; border: 1px solid #eee; }
.samples { display: flex; flex-wrap: wrap; gap: 0.8em; }
figure.sample { margin: 0; width: 210px; border: 1px solid #ddd; border-radius: 4px; padding: 0.5em; }
figure.sample img, .face-placeholder { display: block; width: 128px; height: 128px; object-fit: cover;
       margin: 0 auto 0.4em; }
.face-placeholder { background: #eee; color: #777; font-size: 0.8em; display: flex;
       align-items: center; justify-content: center; text-align: center; }
figure.sample audio { width: 100%; }
figcaption { font-size: 0.85em; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.4em; border-radius: 2px; }
#load-status { margin: 0.6em 0; padding: 0.4em 0.7em; border-radius: 4px; background: #f4f4f4; font-size: 0.9em; }
#load-status[data-state="done"][data-ok="true"] { background: #e6f4e6; }
#load-status[data-state="done"][data-ok="false"] { background: #fbe3e3; }
"""

# Runs once after `load` (all <img> are settled by then); audio elements are
# settled by their own events or a timeout. Results go into data-* attributes
# of #load-status so a headless browser's DOM dump can be read by a test.
_SCRIPT = """
(function () {
  "use strict";
  var TIMEOUT_MS = %(timeout_ms)d;
  function check() {
    var status = document.getElementById("%(status_id)s");
    var failed = [];
    var images = Array.prototype.slice.call(document.images);
    var imagesOk = 0;
    images.forEach(function (img) {
      if (img.complete && img.naturalWidth > 0) { imagesOk += 1; } else { failed.push(img.getAttribute("src")); }
    });
    var audios = Array.prototype.slice.call(document.getElementsByTagName("audio"));
    var audioOk = 0, audioTimedOut = 0, pending = audios.length;
    function finish() {
      var ok = imagesOk === images.length && audioOk === audios.length;
      status.setAttribute("data-images-ok", String(imagesOk));
      status.setAttribute("data-images-total", String(images.length));
      status.setAttribute("data-audio-ok", String(audioOk));
      status.setAttribute("data-audio-total", String(audios.length));
      status.setAttribute("data-audio-timed-out", String(audioTimedOut));
      status.setAttribute("data-failed", failed.join(" "));
      status.setAttribute("data-ok", ok ? "true" : "false");
      status.setAttribute("data-state", "done");
      status.textContent = "Loaded " + imagesOk + " of " + images.length + " images and " +
        audioOk + " of " + audios.length + " audio clips" +
        (failed.length ? ". Failed: " + failed.join(", ") : ".");
    }
    if (pending === 0) { finish(); return; }
    audios.forEach(function (audio) {
      var settled = false;
      var timer = null;
      function settle(ok, timedOut) {
        if (settled) { return; }
        settled = true;
        if (timer !== null) { clearTimeout(timer); }
        if (ok) { audioOk += 1; } else { failed.push(audio.getAttribute("src")); }
        if (timedOut) { audioTimedOut += 1; }
        pending -= 1;
        if (pending === 0) { finish(); }
      }
      // The element may have settled before this ran: readyState >= 1 is
      // HAVE_METADATA, and a failed load leaves audio.error set.
      if (audio.readyState >= 1) { settle(true, false); return; }
      if (audio.error) { settle(false, false); return; }
      audio.addEventListener("loadedmetadata", function () { settle(true, false); });
      audio.addEventListener("canplay", function () { settle(true, false); });
      audio.addEventListener("error", function () { settle(false, false); });
      timer = setTimeout(function () { settle(false, true); }, TIMEOUT_MS);
    });
  }
  if (document.readyState === "complete") { check(); } else { window.addEventListener("load", check); }
})();
"""


def _metrics_html(metrics):
    if not metrics:
        return ""
    rows = []
    for name, value in metrics.items():
        is_number = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
        cell = ' class="num"' if is_number else ""
        rows.append(f'<tr><th scope="row">{_esc(name)}</th><td{cell}>{_esc(format_value(value))}</td></tr>')
    return '<h2>Metrics</h2>\n<table class="metrics">\n' + "\n".join(rows) + "\n</table>"


def _table_html(table):
    header = "".join(f'<th scope="col">{_esc(column)}</th>' for column in table["columns"])
    body = []
    for row in table["rows"]:
        cells = []
        for column in table["columns"]:
            if column not in row:
                cells.append("<td></td>")  # a row may leave a column out
                continue
            value = row[column]
            is_number = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
            cell_class = ' class="num"' if is_number else ""
            cells.append(f"<td{cell_class}>{_esc(format_value(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"<caption>{_esc(table['caption'])}</caption>" if table["caption"] else ""
    return (
        f"<h3>{_esc(table['title'])}</h3>\n<table>{caption}\n<thead><tr>{header}</tr></thead>\n<tbody>\n"
        + "\n".join(body)
        + "\n</tbody>\n</table>"
    )


def _samples_html(placed, family_names):
    if not placed:
        return ""
    groups = []
    for position, (label, name) in enumerate(family_table(family_names)):
        members = sorted((s for s in placed if s["family"] == label), key=lambda s: (s["pitch"], s["index"]))
        if members:
            groups.append((position, name, members))
    links = " \u00b7 ".join(
        f'<a href="#family-{_safe_name(name)}">{_esc(name)} ({len(members)})</a>' for _, name, members in groups
    )
    parts = [
        f"<h2>Translations ({len(placed)} sample{'' if len(placed) == 1 else 's'})</h2>",
        (
            "<p>Each face next to the audio it was translated to, grouped by the instrument family "
            f"the translation was assigned. Families: {links}</p>"
        ),
    ]
    for position, name, members in groups:
        swatch = f'<span class="swatch" style="background:{_esc(family_color(name, position))}"></span>'
        parts.append(f'<h3 id="family-{_safe_name(name)}">{swatch}{_esc(name)} ({len(members)})</h3>')
        parts.append('<div class="samples">')
        for sample in members:
            if sample["face_file"] is None:
                face = '<div class="face-placeholder">no face image<br>(precomputed embedding)</div>'
            else:
                width, height = sample["face_size"]
                face = (
                    f'<img src="{_url(sample["face_file"])}" width="{width}" height="{height}" '
                    f'alt="{_esc("face: " + sample["label"])}">'
                )
            parts.append(
                '<figure class="sample">'
                + face
                + f'<audio controls preload="metadata" src="{_url(sample["wav_file"])}"></audio>'
                + f"<figcaption>{_esc(sample['label'])}<br>"
                + f"{_esc(name)}, pitch {sample['pitch']} ({_esc(pitch_name(sample['pitch']))}), "
                + f"{sample['duration']:.2f} s</figcaption></figure>"
            )
        parts.append("</div>")
    return "\n".join(parts)


def _swap_into_place(build_dir, final_dir):
    """Renames `build_dir` to `final_dir`, replacing an earlier report there.

    The old report is renamed aside first and deleted only once the new one
    is in place, so readers see the old or the new folder (apart from the
    instant between two renames), never a half-deleted or half-written one.
    """
    if not os.path.lexists(final_dir):
        os.rename(build_dir, final_dir)
        return
    parent, base = os.path.split(final_dir)
    aside = os.path.join(parent, f".{base}.old-{uuid.uuid4().hex[:12]}")
    os.rename(final_dir, aside)
    try:
        os.rename(build_dir, final_dir)
    except BaseException:
        os.rename(aside, final_dir)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def _check_replaceable(final_dir):
    """Refuses to delete anything but an earlier report (or an empty folder)."""
    if not os.path.lexists(final_dir):
        return
    if os.path.islink(final_dir) or not os.path.isdir(final_dir):
        raise FileExistsError(f"{final_dir} exists and is not a directory; not replacing it with a report")
    if os.listdir(final_dir) and not os.path.isfile(os.path.join(final_dir, MARKER)):
        raise FileExistsError(
            f"{final_dir} exists and is not a tfxmodal report (no {MARKER}); refusing to replace it - pass a new folder"
        )


def write_report(
    out_dir,
    title,
    metrics,
    tables,
    plots,
    samples,
    notes=None,
    family_names=None,
    audio_timeout_ms=DEFAULT_AUDIO_TIMEOUT_MS,
):
    """Writes the report folder `out_dir` atomically; returns its index.html path.

    The folder is built in a hidden temporary sibling and renamed into
    place; an existing report at `out_dir` is replaced only after the new one
    is complete. On any error (a missing WAV, say) the temporary folder is
    removed and `out_dir` is left as it was.

    Args:
        out_dir: the report folder. If it exists it must be an earlier
            report (it holds `.tfxmodal-report`) or empty.
        title: page title.
        metrics: `{name: value}` shown as a two-column table, in order;
            values are numbers (formatted by `format_value`), strings, None,
            or dicts/lists of those.
        tables: list of `{"title": str, "rows": [ {column: value} ],
            "columns": [...] optional (default: the rows' keys in
            first-seen order), "caption": str optional}`, e.g. a Table-1
            ablation table with one row per model.
        plots: `{caption: image path}`, or a list of paths, `(caption,
            path)` pairs or `{"path", "caption"}` dicts; the files are
            copied into `plots/`.
        samples: list of `{"face": float32 (H, W, 3) in [0, 255] or None,
            "wav": path of an existing WAV, "family": int, "pitch": int
            (MIDI), "label": str (optional)}`. Shown grouped by family (in
            `family_table` order), by pitch within a family; a None face
            (runs trained from precomputed embeddings) shows a placeholder.
        notes: a string or list of strings, shown as paragraphs.
        family_names: how the samples' family ints are read (see
            `tfxmodal.face2music.figures`): None for NSynth indices of the
            paper's ten families, or the name table they index.
        audio_timeout_ms: how long the page's load check waits for an audio
            element before counting it as failed.

    Returns:
        path of `out_dir/index.html` (str).

    Raises:
        FileNotFoundError: a sample's WAV or a plot file does not exist
            (the message names it).
        ReportError: malformed arguments or an undecodable WAV.
        FileExistsError: `out_dir` is something other than a report.
    """
    out_dir = os.path.abspath(os.fspath(out_dir))
    plot_items = _normalise_plots(plots)
    table_items = _normalise_tables(tables)
    sample_items = _normalise_samples(samples, family_names)
    if metrics is not None and not isinstance(metrics, dict):
        raise ReportError(f"metrics: expected a dict, got {type(metrics).__name__}")
    if isinstance(notes, str):
        notes = [notes]
    _check_replaceable(out_dir)

    parent, base = os.path.split(out_dir)
    os.makedirs(parent, exist_ok=True)
    build_dir = tempfile.mkdtemp(prefix=f".{base}.", suffix=".tmp", dir=parent)
    try:
        os.makedirs(os.path.join(build_dir, "plots"))
        os.makedirs(os.path.join(build_dir, "samples"))

        figures = []
        for number, (caption, source) in enumerate(plot_items, start=1):
            if not os.path.isfile(source):
                raise FileNotFoundError(f"report plot {caption!r}: file not found: {source}")
            relative = os.path.join("plots", f"{number:02d}-{_safe_name(os.path.basename(source))}")
            shutil.copyfile(source, os.path.join(build_dir, relative))
            figures.append((caption, relative))

        for sample in sample_items:
            stem = os.path.join("samples", f"{sample['index']:04d}")
            sample["wav_file"] = stem + ".wav"
            sample["duration"] = _copy_wav(sample, os.path.join(build_dir, sample["wav_file"]))
            sample["face_file"] = None
            if sample["face"] is not None:
                sample["face_file"] = stem + ".png"
                sample["face_size"] = _write_face(sample["face"], os.path.join(build_dir, sample["face_file"]))

        # timezone.utc, not datetime.UTC: the package supports Python 3.10.
        created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        sections = [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<meta name="generator" content="tfxmodal.face2music.report">',
            f"<title>{_esc(title)}</title>",
            f"<style>{_CSS}</style>",
            "</head>",
            "<body>",
            f"<h1>{_esc(title)}</h1>",
            f'<p class="meta">Written {_esc(created)}.</p>',
            (
                f'<div id="{STATUS_ID}" data-state="pending">Checking that every image and audio clip loads '
                "(needs JavaScript)\u2026</div>"
            ),
        ]
        if notes:
            sections.append("\n".join(f"<p>{_esc(note)}</p>" for note in notes))
        sections.append(_metrics_html(metrics))
        if table_items:
            sections.append("<h2>Tables</h2>")
            sections.extend(_table_html(table) for table in table_items)
        if figures:
            sections.append("<h2>Plots</h2>")
            for caption, relative in figures:
                sections.append(
                    f'<figure class="plot"><a href="{_url(relative)}"><img src="{_url(relative)}" '
                    f'alt="{_esc(caption)}"></a><figcaption>{_esc(caption)}</figcaption></figure>'
                )
        sections.append(_samples_html(sample_items, family_names))
        sections.append(
            "<script>" + _SCRIPT % {"timeout_ms": int(audio_timeout_ms), "status_id": STATUS_ID} + "</script>"
        )
        sections.extend(["</body>", "</html>", ""])
        with open(os.path.join(build_dir, "index.html"), "w", encoding="utf-8") as handle:
            handle.write("\n".join(section for section in sections if section))
        with open(os.path.join(build_dir, MARKER), "w", encoding="utf-8") as handle:
            handle.write("Written by tfxmodal.face2music.report.write_report; replaced on the next write.\n")
        # mkdtemp makes the folder 0700; a report is meant to be read by others.
        os.chmod(build_dir, 0o755)
        _swap_into_place(build_dir, out_dir)
    except BaseException:
        shutil.rmtree(build_dir, ignore_errors=True)
        raise
    return os.path.join(out_dir, "index.html")
