"""What the Annotate view does with whole region sets: suggest, import, export, make a data set.

A mixin of :class:`gui.file.annotate_view.AnnotateView` (it uses the view's ``audio``,
``track``, ``catalog``, ``settings``, lanes and signals); long work runs as
:mod:`engine.jobs` jobs in :class:`gui.workers.job_worker.JobWorker` threads (cancellable,
in the app's worker registry) and lands in main-thread slots.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from engine.annotations.formats import FORMATS, write_regions
from engine.errors import EarmarkError
from gui.workers.job_worker import JobWorker

LABEL_FILTERS = {"audacity": "Audacity labels (*.txt)", "raven": "Raven selection table (*.txt)",
                 "csv": "CSV (*.csv)", "sonic": "Sonic Visualiser layer (*.svl)",
                 "labelstudio": "Label Studio JSON (*.json)", "textgrid": "Praat TextGrid (*.TextGrid)"}
IMPORT_FILTER = "Label files (*.txt *.csv *.svl *.json *.TextGrid);;All files (*)"
SKIP_LABELS = ("background",)  # the class `main.py clips --background` makes: nothing to suggest


class RegionActions:
    def more_like_this(self) -> bool:
        """Ask for the index windows like the selected region (its label goes with it), else like the
        selection: ``more_like_this_requested``; the main window opens the Label window. False (and
        the status bar says why) when nothing is selected."""
        region_id, track = self._selected_region, self.track
        if track is not None and region_id is not None and track.has(region_id):
            region = track.get(region_id)
            span, label = (region.start_s, region.end_s), region.label
        elif self.selection is not None:
            span, label = self.selection, ""
        else:
            self.status_message.emit("More like this: select a region (or drag a selection) first")
            return False
        self.more_like_this_requested.emit(str(self.audio.path), float(span[0]), float(span[1]), label)
        return True

    def suggest(self) -> None:
        """Start suggesting with the current model (a job); while it runs, the same button cancels."""
        if self.suggest_worker is not None:
            self.suggest_worker.cancel()
            self.status_message.emit("Cancelling the suggestions…")
            return
        classifier = self.catalog.classifier
        if self.audio is None or classifier is None:
            self.status_message.emit("Open a recording and choose a usable model to get suggestions")
            return
        from engine.classify.recordings import SuggestRequest, suggest_job
        from engine.classify.segments import SegmentParams

        self.settings.set("annotate/min_confidence", float(self.confidence_box.value()))
        params = SegmentParams(threshold=self.confidence_box.value(), skip_labels=SKIP_LABELS)
        path, name = self.audio.path, self.catalog.current.name
        worker = JobWorker(suggest_job, SuggestRequest(classifier, path, params), what="Suggesting regions",
                           owner=self)
        worker.progressed.connect(lambda p: self.status_message.emit(
            f"Suggesting regions with {name}… {p.fraction or 0.0:.0%}"))
        worker.finished.connect(lambda regions, p=path: self._on_suggest_completed(p, regions))
        worker.cancelled.connect(lambda _m: self.status_message.emit("Suggestions cancelled: nothing was changed"))
        worker.failed.connect(self._show_failure)
        worker.ended.connect(lambda w=worker: self._on_suggest_ended(w))
        self.suggest_worker = worker
        self.suggest_button.setText("Cancel")
        self.status_message.emit(f"Suggesting regions with {name}…")
        worker.start()

    def _on_suggest_ended(self, worker) -> None:
        if self.suggest_worker is worker:
            self.suggest_worker = None
            self.suggest_button.setText("Suggest")

    def _on_suggest_completed(self, path: Path, regions) -> None:
        if self.track is None or self.track.audio_path != path:
            return  # another file was opened since
        labels = self.labels()
        new = [r.label for r in regions if r.label not in labels]
        if new:
            self.labels_edit.setText(", ".join(dict.fromkeys(labels + new)))
            self._on_labels_edited()
        added = self.track.suggest(regions)
        self.suggestion_lane.select_next()
        self.suggestion_lane.setFocus()  # A, R, Tab work at once, without a click on the lane first
        self.status_message.emit(f"{len(added)} suggestion(s): on the suggestion track, A accepts, R rejects, Tab skips, "
                                 "Shift+A accepts all")
        self.suggested.emit(len(added))

    def import_dialog(self) -> None:
        start = self.settings.get("annotate/labels_dir") or self.settings.get("file/last_dir")
        path, _ = QFileDialog.getOpenFileName(self, "Import labels", start, IMPORT_FILTER)
        if path:
            self.settings.set("annotate/labels_dir", str(Path(path).parent))
            self.import_labels(path)

    def import_labels(self, path: str | Path) -> JobWorker | None:
        """Import a label file onto the track in a worker (a file may hold a million regions);
        the track takes no edits until it ends, and ``labels_imported`` says how many were added."""
        from engine.annotations.importing import ImportRequest, import_job

        if self.track is None or self.import_worker is not None:
            return None
        worker = JobWorker(import_job, ImportRequest(self.track, Path(path)), what="Importing labels", owner=self)
        worker.finished.connect(lambda result, track=self.track: self._on_import_completed(track, result))
        worker.failed.connect(self._show_failure)
        worker.progressed.connect(lambda p: self.status_message.emit(p.message))
        worker.ended.connect(lambda: self._on_import_ended(worker))
        self.import_worker = worker
        self._set_editable(False)
        self.status_message.emit(f"Importing {path}…")
        worker.start()
        return worker

    def _on_import_completed(self, track, result) -> None:
        if result.change is not None:
            track.announce(result.change)  # undoable, and the lanes repaint, on this thread
        if track is self.track:
            self._merge_track_labels()
        same = result.read - result.added
        self.status_message.emit(f"Imported {result.added} region(s) from {result.path}"
                                 + (f"; skipped {same} already here (same times and label)" if same else ""))
        self.labels_imported.emit(result.added)

    def _on_import_ended(self, worker) -> None:
        if self.import_worker is worker:
            self.import_worker = None
            self._set_editable(True)

    def _set_editable(self, editable: bool) -> None:
        for lane in (self.label_lane, self.suggestion_lane):
            lane.setEnabled(editable)

    def export_dialog(self) -> None:
        if self.track is None:
            return
        filters = ";;".join(LABEL_FILTERS[f] for f in FORMATS)
        from engine.jobs.outputs import free_name

        default = free_name(self.track.audio_path.with_suffix(".txt"))  # never a person's rec.txt
        path, chosen = QFileDialog.getSaveFileName(self, "Export labels", str(default), filters)
        if path:
            fmt = next((f for f, text in LABEL_FILTERS.items() if text == chosen), "audacity")
            self.settings.set("annotate/labels_dir", str(Path(path).parent))
            self.export_labels(path, fmt)

    def export_labels(self, path: str | Path, fmt: str) -> bool:
        try:
            rate = self.audio.sample_rate_hz if self.audio else None
            write_regions(path, self.track.accepted(), fmt, max_freq_hz=rate / 2 if rate else None,
                          sample_rate_hz=rate, duration_s=self.audio.duration_s if self.audio else None)
        except EarmarkError as exc:
            self._show_failure(str(exc))
            return False
        self.status_message.emit(f"Exported {len(self.track.accepted())} region(s) to {path}")
        return True

    def dataset_dialog(self) -> None:
        if self.audio is None:
            return
        from engine.datasets.from_regions import default_dataset_folder

        # a new folder beside the recording, never the recording's own folder (where a person's files live)
        folder, _ = QFileDialog.getSaveFileName(self, "New folder for the data set",
                                                str(default_dataset_folder(self.audio.path)), "Folders (*)")
        if folder:
            self.make_dataset(folder)

    def make_dataset(self, out_dir: str | Path) -> None:
        """``main.py clips`` for the annotated recordings beside this one, in a worker."""
        from engine.datasets.from_regions import ClipsRequest, annotated_beside, clips_job

        if self.audio is None:
            return
        pairs = annotated_beside(self.audio.path)
        request = ClipsRequest(tuple(a for a, _ in pairs), tuple(s for _, s in pairs), Path(out_dir),
                               background=SKIP_LABELS[0])
        worker = JobWorker(clips_job, request, what="Making the data set", owner=self)
        worker.finished.connect(self._on_dataset_completed)
        worker.failed.connect(self._show_failure)
        worker.progressed.connect(lambda p: self.status_message.emit(p.message))
        self.dataset_worker = worker
        self.status_message.emit(f"Cutting the regions of {len(pairs)} annotated recording(s)…")
        worker.start()

    def _on_dataset_completed(self, result) -> None:
        counts = ", ".join(f"{label} {n}" for label, n in sorted(result.counts.items()))
        notes = (" · ⚠ " + " · ".join(result.notes)) if result.notes else ""
        self.status_message.emit(f"Wrote {result.n_clips} clips from {len(result.groups)} recording(s) ({counts}) to "
                                 f"{result.csv_path}: train on it with Model → Train a new model…{notes}")
        self.dataset_made.emit(result)
